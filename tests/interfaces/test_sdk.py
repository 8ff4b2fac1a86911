"""The fluent SDK on the embedded default (SQLite + local objects), run in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path


def _py(project: Path, code: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"SHIPYARD_PROJECT_DIR": str(project), "PATH": "/usr/bin:/bin", "HOME": str(project)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_import_is_light(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import sys, shipyard
        mods = ("sqlalchemy", "pandas", "fastapi", "fsspec", "typer")
        heavy = [m for m in mods if m in sys.modules]
        print(heavy)
        """,
    )
    assert out.stdout.strip() == "[]"


def test_run_logs_everything_and_failed_run_keeps_its_data(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import json, shipyard as sy
        with sy.start_run(experiment="x", run_name="ok") as run:
            sy.log_params({"model": "rf", "depth": 3})
            sy.log_metrics({"auc": 0.9, "loss": 0.1}, step=1)
            for i in range(500):
                sy.log_metric("curve", i * 0.5, step=i)
            sy.set_tags({"team": "risk"})
            sy.log_dict({"a": 1}, "config/a.json")
        ok = run.run_id
        try:
            with sy.start_run(experiment="x", run_name="boom") as bad:
                sy.log_metric("auc", 0.5)
                raise RuntimeError("training diverged")
        except RuntimeError:
            pass
        r, b = sy.get_run(ok), sy.get_run(bad.run_id)
        print(json.dumps({
            "status": [r.info.status.value, b.info.status.value],
            "params": r.params, "auc": r.metric_values["auc"],
            "curve": len(sy.get_metric_history(ok, "curve")),
            "bad_auc": b.metric_values.get("auc"), "error": b.info.error,
            "python": r.tags.get("shipyard.python"),
        }))
        """,
    )
    got = json.loads(out.stdout)
    assert got["status"] == ["FINISHED", "FAILED"]
    assert got["params"] == {"model": "rf", "depth": "3"}
    assert got["auc"] == 0.9 and got["curve"] == 500
    assert got["bad_auc"] == 0.5 and "training diverged" in got["error"]
    assert got["python"].count(".") == 2


def test_metrics_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import shipyard as sy
        run = sy.start_run(experiment="x")
        for i in range(1000):
            sy.log_metric("m", i, step=i)
        print(run.run_id)
        """,
    )
    run_id = out.stdout.strip()
    check = _py(
        tmp_path,
        f"""
        import shipyard as sy
        print(len(sy.get_metric_history("{run_id}", "m")))
        """,
    )
    assert check.stdout.strip() == "1000"


def test_two_processes_logging_to_one_sqlite_store_lose_nothing(tmp_path: Path) -> None:
    code = """
        import shipyard as sy
        for r in range(20):
            with sy.start_run(experiment="shared", log_environment=False):
                sy.log_params({"r": r})
                for i in range(200):
                    sy.log_metric("m", i, step=i)
        """
    env = {"SHIPYARD_PROJECT_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    _py(tmp_path, "import shipyard as sy; sy.search_runs()")  # create the schema once
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env) for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    out = _py(
        tmp_path,
        """
        import shipyard as sy
        runs = sy.search_runs("shared", max_results=100)
        print(len(runs), sum(len(sy.get_metric_history(r.run_id, "m")) for r in runs),
              {r.info.status.value for r in runs})
        """,
    )
    assert out.stdout.strip() == "40 8000 {'FINISHED'}"


def test_logging_without_active_run_is_a_clear_error(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
        import shipyard as sy
        try:
            sy.log_metric("a", 1)
        except Exception as e:
            print(type(e).__name__, e)
        """,
    )
    assert out.stdout.startswith("ValidationError no active run")
