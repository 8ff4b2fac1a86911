"""Runs a script leaves open end with the status its exit deserves, and a crash loses at
most the stated bound of buffered metrics (real subprocesses, the embedded default)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LOST = 1000  # the durability contract in interfaces/sdk/batcher.py


def _py(project: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "PYTHONPATH": str(ROOT / "src"),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run(project: Path) -> tuple[str, str, int]:
    """(status, error, number of metric points) of the one run in the project."""
    with sqlite3.connect(project / ".shipyard" / "shipyard.db") as db:
        status, error, run_id = db.execute("SELECT status, error, id FROM runs").fetchone()
        (points,) = db.execute(
            "SELECT count(*) FROM metrics WHERE run_id = ?", (run_id,)
        ).fetchone()
    return status, error or "", points


@pytest.mark.parametrize(
    ("ending", "code", "status", "error"),
    [
        ("sys.exit(0)", 0, "FINISHED", ""),
        ("pass", 0, "FINISHED", ""),
        ("sys.exit(3)", 3, "FAILED", "exited with status 3"),
        ("sys.exit('bad config')", 1, "FAILED", "exited with status 1"),
        ("raise RuntimeError('diverged')", 1, "FAILED", "RuntimeError: diverged"),
        ("raise KeyboardInterrupt", -2, "KILLED", "KeyboardInterrupt"),  # re-raised SIGINT
    ],
)
def test_run_left_open_ends_by_exit(
    tmp_path: Path, ending: str, code: int, status: str, error: str
) -> None:
    out = _py(
        tmp_path,
        f"""
        import sys, shipyard as sy
        sy.start_run(experiment="x", log_environment=False)
        for i in range(1200):
            sy.log_metric("loss", 1 / (i + 1), step=i)
        {ending}
        """,
    )
    assert out.returncode == code, out.stderr
    got_status, got_error, points = _run(tmp_path)
    assert got_status == status
    assert error in got_error
    assert points == 1200  # every buffered point flushed at exit


@pytest.mark.parametrize(("code", "status"), [(0, "FINISHED"), (None, "FINISHED"), (4, "FAILED")])
def test_sys_exit_inside_a_with_block(tmp_path: Path, code: int | None, status: str) -> None:
    out = _py(
        tmp_path,
        f"""
        import sys, shipyard as sy
        with sy.start_run(experiment="x", log_environment=False):
            sy.log_metric("loss", 0.5)
            sys.exit({code})
        """,
    )
    assert out.returncode == (code or 0)
    assert _run(tmp_path)[0] == status


def test_sys_exit_in_a_thread_does_not_fail_the_run(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import sys, threading, shipyard as sy
        sy.start_run(experiment="x", log_environment=False)
        worker = threading.Thread(target=sys.exit, args=(5,))
        worker.start(); worker.join()
        sy.log_metric("loss", 0.5)
        """,
    )
    assert out.returncode == 0, out.stderr
    assert _run(tmp_path)[:1] == ("FINISHED",)


def test_os_exit_loses_at_most_the_stated_bound(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import os, shipyard as sy
        sy.start_run(experiment="x", log_environment=False)
        for i in range(5237):
            sy.log_metric("loss", 1 / (i + 1), step=i)
        os._exit(0)
        """,
    )
    assert out.returncode == 0, out.stderr
    status, _, points = _run(tmp_path)
    assert status == "RUNNING"  # nothing ran at exit: no heartbeat exists to tell
    assert 5237 - MAX_LOST <= points <= 5237
    print(json.dumps({"logged": 5237, "stored": points}))


def test_kill_9_loses_only_the_last_second(tmp_path: Path) -> None:
    """A point logged more than interval + one write ago is stored when the process dies."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time, shipyard as sy
                sy.start_run(experiment="x", log_environment=False)
                for i in range(10):
                    sy.log_metric("loss", float(i), step=i)
                print("logged", flush=True)
                time.sleep(60)
                """
            ),
        ],
        env={
            "SHIPYARD_PROJECT_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT / "src"),
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "logged"
    import time

    time.sleep(2.5)  # the 1 s flush interval, and a generous write
    proc.kill()
    proc.wait(timeout=10)
    _, _, points = _run(tmp_path)
    assert points == 10
