"""``sy.monitor.report`` through a real server (SHIPYARD_TRACKING_URI): the windows ``monitor
run`` computed come back over ``GET /api/v1/monitoring/windows``, paged, the same as a local
session reads them; bad input comes back as the same errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from shipyard.core.alerts import WindowStatus
from shipyard.stores.sql.monitors_repo import NewWindow

HOUR = 3_600_000


def _remote(live_server, tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHIPYARD_TRACKING_URI": live_server.url,
        "SHIPYARD_TOKEN": live_server.admin_token,
        "SHIPYARD_PROJECT_DIR": str(tmp_path / "client"),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def _seed(services, count: int) -> int:
    """``count`` hourly windows of loans/staging up to the current hour, computed oldest
    first as ``monitor run`` does, one of another model and one of production; the newest
    window's end."""
    now = int(time.time() * 1000) // HOUR * HOUR
    windows = [
        NewWindow("loans", "staging", 1, now - (i + 1) * HOUR, now - i * HOUR,
                  WindowStatus.COMPUTED, 100 + i, {"drift_share": i / count,
                  "estimated.roc_auc": 0.8}, {"drift_share > 0.3": i / count > 0.3}, now)
        for i in reversed(range(count))
    ]  # fmt: skip
    windows.append(NewWindow("loans", "production", 1, now - HOUR, now,
                             WindowStatus.NOT_ENOUGH_DATA, 3, {}, {}, now))  # fmt: skip
    windows.append(NewWindow("other", "staging", 1, now - HOUR, now, WindowStatus.COMPUTED,
                             50, {}, {}, now))  # fmt: skip
    with services.db.write() as conn:
        for w in windows:
            assert services.alerts.repo.add_window(conn, w) is not None
    return now


def test_report_reads_the_computed_windows_through_the_server(live_server, tmp_path: Path) -> None:
    count = 520  # more than one page of the SDK's (500)
    now = _seed(live_server.services, count)
    out = _remote(
        live_server,
        tmp_path,
        """
        import json, shipyard as sy
        from shipyard.core.errors import ValidationError
        frame = sy.monitor.report("loans", env="staging", window="30d").to_frame()
        short = sy.monitor.report("loans", env="staging", window="3h").to_frame()
        every = sy.monitor.report("loans", window="1h").to_frame()
        errors = {}
        for name, call in {
            "model": lambda: sy.monitor.report("bad name!", window="1d"),
            "window": lambda: sy.monitor.report("loans", window="soon"),
        }.items():
            try:
                call()
            except ValidationError as e:
                errors[name] = [e.field, e.message]
        print(json.dumps({
            "rows": len(frame), "first": frame.iloc[0].to_dict(), "last": frame.iloc[-1].to_dict(),
            "short": short["end"].tolist(), "every": sorted(every["env"].tolist()),
            "errors": errors,
        }, default=str))
        """,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout)
    assert got["rows"] == count  # every page read
    last = got["last"]  # the newest, last (oldest first)
    assert last["end"] == now and last["status"] == "computed" and last["rows"] == 100
    assert last["drift_share"] == 0.0 and last["estimated.roc_auc"] == 0.8
    assert got["first"]["start"] == now - count * HOUR
    assert got["short"] == [now - 2 * HOUR, now - HOUR, now]
    assert got["every"] == ["production", "staging"]
    assert got["errors"]["model"][0] == "name"
    assert got["errors"]["window"][0] == "window" and "soon" in got["errors"]["window"][1]
