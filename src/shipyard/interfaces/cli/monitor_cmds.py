"""``shipyard monitor …``: watch deployed models: drift, performance, ground truth, alerts."""

from __future__ import annotations

import typer

from shipyard.interfaces.cli.monitor_alerts_cmds import alerts_app, run_cmd
from shipyard.interfaces.cli.monitor_compact_cmds import compact_cmd
from shipyard.interfaces.cli.monitor_drift_cmds import drift_cmd
from shipyard.interfaces.cli.monitor_estimate_cmds import estimate_cmd
from shipyard.interfaces.cli.monitor_export_cmds import export_cmd
from shipyard.interfaces.cli.monitor_feedback_cmds import feedback_cmd, realized_cmd
from shipyard.interfaces.cli.monitor_profile_cmds import profile_cmd

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Watch deployed models: drift, performance, ground truth, alerts.", no_args_is_help=True
)
monitor_app.command("estimate")(estimate_cmd)
monitor_app.command("run")(run_cmd)
monitor_app.add_typer(alerts_app, name="alerts")
monitor_app.command("drift")(drift_cmd)
monitor_app.command("feedback")(feedback_cmd)
monitor_app.command("realized")(realized_cmd)
monitor_app.command("export")(export_cmd)
monitor_app.command("profile")(profile_cmd)
monitor_app.command("compact")(compact_cmd)
