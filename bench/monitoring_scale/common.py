"""A Shipyard project for a monitoring benchmark, and measured child processes.

* ``project_env``: the environment that points ``shipyard`` at a project folder (its
  ``shipyard.toml``, SQLite database and object store), with this checkout's sources first.
* ``backdated``: the clock of *this* (setup) process moved back while a deployment is made, so
  that the monitor has past windows to compute; the measured processes keep the real clock.
* ``measure``: runs a command as a child and reads its peak resident memory with
  ``os.wait4`` (the kernel's ``ru_maxrss`` of exactly that child), plus wall time.
* ``snapshot`` / ``restore``: ``monitor run`` never computes a window twice, so every
  measured run starts from a copy of the database taken before the first run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000
CLI = [sys.executable, "-m", "shipyard"]
if str(REPO / "src") not in sys.path:  # this checkout's sources, in setup as in the children
    sys.path.insert(0, str(REPO / "src"))


def project_env(project: Path) -> dict[str, str]:
    """The environment of a child working in ``project`` with this checkout's sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_PROJECT_DIR"] = str(project)
    env["SHIPYARD_USER"] = "bench"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "bench")])
    return env


def write_toml(project: Path, monitors: dict[str, dict[str, Any]]) -> None:
    """``shipyard.toml`` with one ``[monitor.<model>]`` table per entry."""
    lines = []
    for model, spec in monitors.items():
        lines.append(f"[monitor.{model}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in spec.items())
        lines.append("")
    (project / "shipyard.toml").write_text("\n".join(lines))


def open_services(project: Path) -> Any:
    """The composition root's services for ``project`` (as the CLI builds them)."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    return build_services(load_settings(env=project_env(project)))


@contextlib.contextmanager
def backdated(ms: int) -> Iterator[None]:
    """This process's clock reads ``ms`` earlier inside the block (``time.time_ns`` and
    ``time.time``, which Shipyard's clock reads)."""
    real_ns, real_s = time.time_ns, time.time
    time.time_ns = lambda: real_ns() - ms * 1_000_000  # type: ignore[assignment]
    time.time = lambda: real_s() - ms / 1000  # type: ignore[assignment]
    try:
        yield
    finally:
        time.time_ns, time.time = real_ns, real_s  # type: ignore[assignment]


def deployer(svc: Any) -> Any:
    """A user allowed to deploy."""
    from shipyard.core.entities import Role
    from shipyard.core.errors import AlreadyExistsError

    with contextlib.suppress(AlreadyExistsError):
        svc.access.add_user("bench", Role.DEPLOYER)
    return svc.access.get_user("bench")


def database(project: Path) -> Path:
    return project / ".shipyard" / "shipyard.db"


def snapshot(project: Path) -> None:
    shutil.copyfile(database(project), database(project).with_suffix(".pristine"))


def restore(project: Path) -> None:
    shutil.copyfile(database(project).with_suffix(".pristine"), database(project))
    for extra in ("-wal", "-shm"):
        Path(f"{database(project)}{extra}").unlink(missing_ok=True)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    cpu_seconds: float  # user + system time of the child: less sensitive to a shared machine
    returncode: int
    stdout: str
    stderr: str


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run ``cmd``; its wall time, CPU time and peak RSS (``ru_maxrss`` of this child alone)."""
    out, err = cwd / ".bench-stdout", cwd / ".bench-stderr"
    with out.open("wb") as fo, err.open("wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=fo, stderr=fe)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    peak = usage.ru_maxrss / 1024
    return Measured(seconds, peak, cpu, proc.returncode, out.read_text(), err.read_text())


def last_json(text: str) -> Any:
    """The JSON document a child printed last (the whole output when it is one document)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.strip().splitlines()[-1])


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stats(values: list[float]) -> dict[str, float]:
    """Count, total, mean, median, p95 and max of a list of seconds."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    at = min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    return {
        "count": len(values),
        "total": sum(values),
        "mean": sum(values) / len(values),
        "median": ordered[len(ordered) // 2],
        "p95": ordered[at],
        "max": ordered[-1],
    }


class TimedEvaluator:
    """Wraps the composition root's window evaluator and times each window."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds: list[tuple[str, int, float]] = []

    def evaluate(self, model: str, env: str, version: int | None, start: int, end: int) -> Any:
        t0 = time.perf_counter()
        found = self.inner.evaluate(model, env, version, start, end)
        self.seconds.append((model, start, time.perf_counter() - t0))
        return found


def timed_run(project: Path) -> dict[str, Any]:
    """One ``monitor run --once`` pass in this process through the services the CLI builds,
    each window's evaluation timed; the windows, the times and this process's peak memory."""
    t0 = time.perf_counter()
    svc = open_services(project)
    timer = TimedEvaluator(svc.monitor_runner.evaluator)
    svc.monitor_runner.evaluator = timer
    try:
        t1 = time.perf_counter()
        report = svc.monitor_runner.run(once=True)
        run_s = time.perf_counter() - t1
    finally:
        svc.close()
    evaluated = {(m, s): sec for m, s, sec in timer.seconds}
    windows = [
        {
            "model": w.model,
            "start": w.start,
            "status": w.status.value,
            "rows": w.rows,
            "drift_share": w.figures.get("drift_share"),
            "seconds": evaluated.get((w.model, w.start)),
        }
        for w in report.windows
    ]
    return {
        "seconds": time.perf_counter() - t0,
        "run_seconds": run_s,
        "evaluate": stats([sec for _, _, sec in timer.seconds]),
        "windows": windows,
        "errors": report.errors,
        "peak_mb": peak_mb(),
    }
