"""``shipyard monitor compact [--model M] [--env E]``: merge the small prediction-log files
of closed hours and days now, instead of waiting for the serving job (``predlog-compact``)."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, progress_bar, services

__all__ = ["compact_cmd"]


def compact_cmd(
    model: str | None = typer.Option(None, "--model", "-m", help="One model only (default: all)."),
    env: str | None = typer.Option(None, "--env", help="One environment only (default: all)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Compact the prediction logs: each closed hour's small files into one file, each closed
    day's into one file per partition (model, day, environment, version). Partitions with
    nothing new since the last compaction are skipped without being read. Safe to run while
    replicas serve and while the serving job compacts: readers see every row once."""
    from shipyard.core.deployments import check_environment
    from shipyard.core.models import check_model_name
    from shipyard.interfaces.bootstrap import build_compactor

    model = check_model_name(model.strip()) if model is not None else None
    env = check_environment(env.strip()) if env is not None else None
    compactor = build_compactor(services())
    with progress_bar("compacting prediction logs") as advance:
        report = compactor.run(model, env=env, on_progress=advance)
    data = _report_json(report, model, env)
    if as_json:
        print_json(data)
        return
    scope = ", ".join(x for x in (model and f"model {model}", env and f"env {env}") if x)
    console().print(
        f"compacted {report.partitions} partition(s){f' ({scope})' if scope else ''}: "
        f"[bold]{report.files_before} → {report.files_after}[/] files "
        f"({report.merged} written, {report.removed} removed, {report.rows} rows rewritten; "
        f"{report.skipped} unchanged, skipped) in {report.seconds:.2f} s"
    )
    if report.failed:
        console(stderr=True).print(
            f"[red]{report.failed} partition(s) could not be compacted[/] (see the log)"
        )
        raise typer.Exit(1)


def _report_json(report: Any, model: str | None, env: str | None) -> dict[str, Any]:
    return {
        "model": model,
        "env": env,
        "partitions": report.partitions,
        "skipped": report.skipped,
        "files_before": report.files_before,
        "files_after": report.files_after,
        "merged": report.merged,
        "files_in": report.files_in,
        "removed": report.removed,
        "rows": report.rows,
        "failed": report.failed,
        "seconds": round(report.seconds, 3),
    }
