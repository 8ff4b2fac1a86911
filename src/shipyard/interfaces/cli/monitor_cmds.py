"""``shipyard monitor …``: watch deployed models: drift, performance, ground truth, alerts."""

from __future__ import annotations

import typer

from shipyard.interfaces.cli.monitor_drift_cmds import drift_cmd

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Watch deployed models: drift, performance, ground truth, alerts.", no_args_is_help=True
)
monitor_app.command("drift")(drift_cmd)
