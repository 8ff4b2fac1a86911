"""``shipyard doctor`` and the CLI's exit codes for bad folders and corrupted objects."""

from __future__ import annotations

import json
import os
from pathlib import Path

from shipyard.stores.blobs.digests import object_key
from tests.cli import run_cli


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    (folder / "b.bin").write_bytes(os.urandom(5 * 1024 * 1024))  # a loose object
    return folder


def test_doctor_clean_then_corrupted_then_exit_codes(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert run_cli(tmp_path, "data", "register", "d", str(folder)).returncode == 0
    clean = run_cli(tmp_path, "doctor")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "all checks passed" in clean.stdout
    for name in ("objects", "references", "orphans", "temp files", "database", "audit chain"):
        assert name in clean.stdout

    store = tmp_path / ".shipyard" / "objects"
    loose = [p for p in (store / "v1").rglob("*") if p.is_file() and p.stat().st_size > 4 << 20]
    assert len(loose) == 1  # b.bin
    os.chmod(loose[0], 0o644)
    with open(loose[0], "r+b") as f:
        f.write(b"\x00corrupt")

    broken = run_cli(tmp_path, "doctor", "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)["before"]
    assert report["ok"] is False
    assert [f["check"] for f in report["findings"] if f["severity"] == "damage"] == ["objects"]
    text = run_cli(tmp_path, "doctor")
    assert text.returncode == 1 and "restore the named objects" in text.stdout

    fetched = run_cli(tmp_path, "data", "get", "d@v1", "--output", str(tmp_path / "out"))
    assert fetched.returncode == 3, fetched.stderr  # corruption: its own exit code
    assert "error:" in fetched.stderr and "Traceback" not in fetched.stderr


def test_doctor_bad_grace_is_exit_2(tmp_path: Path) -> None:
    for bad in ("abc", "-1h", "1 year"):
        out = run_cli(tmp_path, "doctor", "--grace", bad)
        assert out.returncode == 2
        assert "--grace" in out.stderr and "expected a duration" in out.stderr


def test_doctor_repair_sweeps_and_reports(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init", str(tmp_path)).returncode == 0
    from shipyard.stores.blobs import open_content_store

    store = open_content_store(str(tmp_path / ".shipyard" / "objects"))
    orphan = store.put_bytes(b"nobody links me")
    young = run_cli(tmp_path, "doctor", "--json")  # default grace 1h: young is pending
    assert young.returncode == 0
    pending = json.loads(young.stdout)["before"]["findings"]
    assert [(f["check"], f["severity"]) for f in pending] == [("orphans", "pending")]
    repaired = run_cli(tmp_path, "doctor", "--repair", "--grace", "0s", "--json")
    assert repaired.returncode == 0, repaired.stdout
    body = json.loads(repaired.stdout)
    assert body["repair"]["objects_removed"] == 1
    assert body["after"]["ok"] is True and body["after"]["findings"] == []
    assert not (tmp_path / ".shipyard" / "objects" / object_key(orphan)).exists()


def test_symlink_loops_are_bad_input_naming_the_path(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "loop1").symlink_to("loop2")
    (folder / "loop2").symlink_to("loop1")
    out = run_cli(tmp_path, "data", "register", "d", str(folder))
    assert out.returncode == 2
    assert "loop1" in out.stderr and "symbolic link loop" in out.stderr
    assert "Traceback" not in out.stderr
    (folder / "loop1").unlink()
    (folder / "loop2").unlink()
    (folder / "sub" / "up").symlink_to("..")  # a link to a folder that contains it
    out = run_cli(tmp_path, "data", "register", "d", str(folder))
    assert out.returncode == 2
    assert str(folder / "sub" / "up") in out.stderr and "(a loop)" in out.stderr
