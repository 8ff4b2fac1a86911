"""``shipyard gc``, ``backup`` and ``restore`` as an operator runs them (the real entry point
in a subprocess): exit codes, one-line errors, --json; and the server's ``gc`` job."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipyard.stores.blobs.digests import object_key
from tests.cli import run_cli
from tests.services.doctor.project import open_project, seed

POLICY = '[retention]\ndeleted_runs = "0s"\nprediction_logs = "30d"\n'


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="ops", timeout=300)


def _project(folder: Path, toml: str = POLICY) -> object:
    svc = open_project(folder, f"sqlite:///{folder / '.shipyard' / 'shipyard.db'}", toml)
    try:
        return seed(svc, folder.parent)
    finally:
        svc.close()


def test_gc_dry_run_then_apply_then_doctor_clean(tmp_path: Path) -> None:
    project = tmp_path / "p"
    seeded = _project(project)
    dry = _cli(project, "gc", "--grace", "0s", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["applied"] is False and plan["run_ids"] == [seeded.deleted_run]  # type: ignore[attr-defined]
    assert plan["prediction_logs"] == 1 and plan["objects"] == 1
    text = _cli(project, "gc", "--grace", "0s")
    assert "dry run: nothing changed" in text.stdout and "deleted runs" in text.stdout
    done = _cli(project, "gc", "--apply", "--grace", "0s", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["applied"] is True and body["removed_objects"] == 1
    assert not (project / ".shipyard" / "objects" / object_key(seeded.deleted_digest)).exists()  # type: ignore[attr-defined]
    assert _cli(project, "doctor").returncode == 0
    audit = _cli(project, "audit", "log", "--object", "project:gc", "--json")
    assert audit.returncode == 0, audit.stderr
    assert "gc.collect" in audit.stdout
    assert _cli(project, "audit", "verify").returncode == 0


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("", "no [retention] table"),
        ('[retention]\ndeleted_datasets = "30d"\n', "retention.deleted_datasets"),
        ('[retention]\ndeleted_runs = "soon"\n', "retention.deleted_runs"),
        ('retention = "30d"\n', "[retention] in shipyard.toml must be a table"),
    ],
)
def test_gc_bad_policy_is_exit_2_naming_the_key(tmp_path: Path, toml: str, expected: str) -> None:
    (tmp_path / "shipyard.toml").write_text(toml)
    (tmp_path / ".shipyard").mkdir()
    out = _cli(tmp_path, "gc")
    assert out.returncode == 2, out.stdout + out.stderr
    assert expected in out.stderr and "Traceback" not in out.stderr


def test_gc_bad_grace_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(POLICY)
    out = _cli(tmp_path, "gc", "--grace", "-1h")
    assert out.returncode == 2 and "--grace" in out.stderr


def test_backup_restore_cli_round_trip_and_refusals(tmp_path: Path) -> None:
    project = tmp_path / "p"
    seeded = _project(project, "")
    out = _cli(project, "backup", str(tmp_path / "bk"), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["database"] == "sqlite" and summary["runs"] == 2 and summary["objects"] > 0
    again = _cli(project, "backup", str(tmp_path / "bk"))
    assert again.returncode == 2 and "not an empty folder" in again.stderr

    busy = _cli(project, "restore", str(tmp_path / "bk"))
    assert busy.returncode == 2, busy.stderr
    assert "not empty" in busy.stderr and "runs:" in busy.stderr

    target = tmp_path / "new"
    assert _cli(target, "init", str(target)).returncode == 0
    not_backup = _cli(target, "restore", str(tmp_path))
    assert not_backup.returncode == 2 and "MANIFEST.json" in not_backup.stderr
    done = _cli(target, "restore", str(tmp_path / "bk"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["runs"] == 2
    assert _cli(target, "audit", "verify").returncode == 0
    doctor = _cli(target, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    runs = json.loads(_cli(target, "runs", "ls", "--json").stdout or "[]")
    assert seeded.kept_run in json.dumps(runs)  # type: ignore[attr-defined]

    obj = tmp_path / "bk" / "objects" / object_key(seeded.shared_digest)  # type: ignore[attr-defined]
    obj.chmod(0o644)
    obj.write_bytes(b"tampered")
    fresh = tmp_path / "fresh"
    assert _cli(fresh, "init", str(fresh)).returncode == 0
    damaged = _cli(fresh, "restore", str(tmp_path / "bk"))
    assert damaged.returncode == 3, damaged.stderr  # corruption has its own exit code
    assert "Traceback" not in damaged.stderr


def test_help_texts(tmp_path: Path) -> None:
    for cmd, words in (
        ("gc", ["--apply", "dry run", "[retention]"]),
        ("backup", ["consistent snapshot", "pg_dump"]),
        ("restore", ["empty", "verified"]),
    ):
        out = _cli(tmp_path, cmd, "--help")
        assert out.returncode == 0
        for word in words:
            assert word in out.stdout, (cmd, word)


def test_server_schedules_gc_only_with_a_retention_table(tmp_path: Path) -> None:
    from tests.interfaces.conftest import _serve

    for toml, expected in ((POLICY, ["gc"]), ("", [])):
        folder = tmp_path / str(len(expected))
        folder.mkdir()
        (folder / "shipyard.toml").write_text(toml)
        server = _serve(folder, "local")
        svc: Any = next(server).services  # a real uvicorn server: its lifespan registers jobs
        try:
            specs = [s for s in svc.jobs.scheduler.specs() if s.name == "gc"]
            assert [s.name for s in specs] == expected
            assert all(s.interval_s == 86_400 for s in specs)
        finally:
            server.close()
