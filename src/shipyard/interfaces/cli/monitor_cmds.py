"""``shipyard monitor …``: the command group; each part registers its commands here."""

from __future__ import annotations

import typer

from shipyard.interfaces.cli.monitor_feedback_cmds import feedback_cmd, realized_cmd

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Watch deployed models: drift, performance, ground truth, alerts.", no_args_is_help=True
)
monitor_app.command("feedback")(feedback_cmd)
monitor_app.command("realized")(realized_cmd)
