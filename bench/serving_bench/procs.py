"""Process groups: every server runs in a group of its own, stopped on exit, Ctrl-C or SIGTERM;
paused and resumed as a whole; its memory and CPU summed over the group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from .common import STOP_GRACE_S

LIVE: dict[int, subprocess.Popen[bytes]] = {}  # process group id -> its leader, still running


def start_group(
    cmd: list[str], cwd: Path, env: dict[str, str], log: Any
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a new session (its own process group), output into ``log``."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    LIVE[proc.pid] = proc
    return proc


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_group(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group started for ``proc``, wait, then SIGKILL what is left."""
    pgid = proc.pid  # started with start_new_session=True: its own group
    if group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
        os.killpg(pgid, signal.SIGCONT)  # in case it was paused
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (proc.poll() is None or group_alive(pgid)):
        time.sleep(0.05)
    if group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    LIVE.pop(pgid, None)


def stop_all() -> None:
    for proc in list(LIVE.values()):
        stop_group(proc, grace=5.0)


def on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks, then atexit


def tree_memory(pid: int) -> dict[str, float]:
    """RSS (and PSS) summed over the process group ``pid`` leads, in MB."""
    try:
        import psutil
    except ImportError:
        return proc_memory(pid)
    rss = pss = 0
    count = 0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {"rss_mb": 0.0, "pss_mb": 0.0, "processes": 0}
    for p in procs:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
        count += 1
    return {"rss_mb": rss / 2**20, "pss_mb": pss / 2**20, "processes": count}


def _group_stats(pgid: int) -> list[tuple[Path, list[str]]]:
    """(/proc/PID, the fields of its stat after the command name) of every process of
    the group ``pgid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # field 5 of /proc/pid/stat: the process group
            found.append((stat.parent, fields))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the process group ``pid`` leads."""
    ticks = os.sysconf("SC_CLK_TCK")
    # fields 14 and 15 of /proc/pid/stat: utime, stime
    return sum((int(f[11]) + int(f[12])) / ticks for _, f in _group_stats(pid))


def proc_memory(pgid: int) -> dict[str, float]:
    """The same as ``tree_memory`` from /proc (no psutil): every process of the group."""
    rss = pss = 0
    count = 0
    for folder, _ in _group_stats(pgid):
        try:
            status = (folder / "status").read_text()
            kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
            rollup = (folder / "smaps_rollup").read_text().splitlines()
            pss_kb = next((int(x.split()[1]) for x in rollup if x.startswith("Pss:")), kb)
        except (OSError, ValueError, StopIteration, IndexError):
            continue
        rss += kb * 1024
        pss += pss_kb * 1024
        count += 1
    return {"rss_mb": rss / 2**20, "pss_mb": pss / 2**20, "processes": count}
