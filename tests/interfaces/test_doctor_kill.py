"""kill -9 at random points during artifact, dataset and model writes, on SQLite and on
PostgreSQL: ``shipyard doctor`` then finds nothing half-visible (no damage), and
``--repair`` leaves no orphan and no temporary file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRIALS = 20
WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[2]


def _env(project: Path, db_url: str | None) -> dict[str, str]:
    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    if db_url:
        env["SHIPYARD_DB_URL"] = db_url
    return env


def _doctor(env: dict[str, str], *args: str) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "shipyard", "doctor", "--json", "--grace", "0s", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def _counts(report: dict) -> dict[str, int]:
    return {
        f"{c['name']}.{kind}": c[kind]
        for c in report["checks"]
        for kind in ("damage", "garbage", "pending")
        if c[kind]
    }


def _trials(project: Path, env: dict[str, str]) -> dict[str, int]:
    """Fork a writer per trial, kill -9 it after a random 0.05-2 s; where each kill hit."""
    phase_file = project / "phase"
    zygote = subprocess.Popen(
        [sys.executable, str(WRITER), str(project / "work"), str(phase_file)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rnd = random.Random(18)
    hits: dict[str, int] = {}
    try:
        for trial in range(TRIALS):
            phase_file.write_text("startup")
            zygote.stdin.write(f"go {trial}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline().split()[1])
            time.sleep(rnd.uniform(0.05, 2.0))
            os.kill(pid, signal.SIGKILL)
            assert zygote.stdout.readline().startswith("exit")
            phase = phase_file.read_text()
            hits[phase] = hits.get(phase, 0) + 1
            hits["temp files left"] = hits.get("temp files left", 0) + _temps(project)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    return hits


def _temps(project: Path) -> int:
    """Temporary files in the store now (the next writer sweeps its dead predecessors')."""
    objects = project / ".shipyard" / "objects"
    staged = list((objects / ".tmp").glob("*"))
    hidden = list(objects.glob("v1/**/.*.tmp"))
    return len(staged) + len(hidden)


def _kill_and_repair(project: Path, db_url: str | None) -> dict[str, object]:
    env = _env(project, db_url)
    subprocess.run([sys.executable, "-m", "shipyard", "init", str(project)], env=env, check=True)
    hits = _trials(project, env)
    code, before = _doctor(env)
    assert before["before"]["checks"][0]["checked"] > 0  # objects were written
    damage = [f for f in before["before"]["findings"] if f["severity"] == "damage"]
    assert damage == [], damage  # nothing half-visible
    code, after = _doctor(env, "--repair")
    assert code == 0, after["after"]
    assert _counts(after["after"]) == {}  # 0 orphans, 0 temp files, no damage
    assert after["after"]["checks"][0]["checked"] > 0  # some writes committed: kept, whole
    figures = {
        "hits": hits,
        "before": _counts(before["before"]),
        "repair": after["repair"],
        "objects_after": after["after"]["checks"][0]["checked"],
    }
    print(json.dumps(figures))
    return figures


def test_kill_9_sqlite(tmp_path: Path) -> None:
    figures = _kill_and_repair(tmp_path / "p", None)
    hits = figures["hits"]
    assert sum(v for k, v in hits.items() if k != "temp files left") == TRIALS  # type: ignore[union-attr]


@pytest.mark.postgres
def test_kill_9_postgres(tmp_path: Path, postgres_url: str) -> None:
    figures = _kill_and_repair(tmp_path / "p", postgres_url)
    hits = figures["hits"]
    assert sum(v for k, v in hits.items() if k != "temp files left") == TRIALS  # type: ignore[union-attr]
