"""``shipyard monitor feedback MODEL FILE`` (true labels from CSV or Parquet with
``prediction_id`` and ``label`` columns, optional ``row`` and ``time``) and ``shipyard monitor
realized MODEL`` (realized metrics per version over a window)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shipyard.core.errors import ValidationError
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["feedback_cmd", "realized_cmd"]


def _read(file: Path) -> Any:
    """The labels table of ``file`` (prediction ids always read as text)."""
    import pandas as pd

    if not file.is_file():
        raise ValidationError(f"no file {str(file)!r}; give a CSV or Parquet file", field="file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(file, dtype={"prediction_id": str})
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
    except (ValueError, OSError) as e:
        raise ValidationError(f"cannot read {file.name}: {e}", field="file") from None
    raise ValidationError(
        f"{file.name} is not a .csv or .parquet file (with prediction_id and label columns)",
        field="file",
    )


def feedback_cmd(
    model: str = typer.Argument(..., help="The registered model the predictions came from."),
    file: Path = typer.Argument(..., help="CSV or Parquet: prediction_id, label [, row, time]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Record true labels for logged predictions (at most 10,000 rows a file; a repeated
    prediction id updates its label)."""
    labels = _read(file)
    svc = services()
    receipt = svc.feedback.record(model, labels, user=svc.settings.actor)
    if as_json:
        print_json(receipt.to_dict())
        return
    delay = receipt.mean_delay_ms
    console().print(
        f"{receipt.received} labels for {model}: {receipt.inserted} new, {receipt.updated} "
        f"updated, {receipt.duplicates} repeated, {receipt.unknown} not (yet) in the logs"
        + ("" if delay is None else f"; mean label delay {delay / 1000:.1f} s")
    )
    if receipt.unknown_ids:
        shown = ", ".join(receipt.unknown_ids[:5])
        more = receipt.unknown - min(5, receipt.unknown)
        console().print(f"unknown ids: {shown}" + (f" and {more} more" if more else ""))


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def realized_cmd(
    model: str = typer.Argument(..., help="The registered model."),
    version: int | None = typer.Option(None, "--version", "-v", help="One version only."),
    env: str | None = typer.Option(None, "--env", help="One environment only."),
    since: str | None = typer.Option(
        None, "--since", help="Start: a duration back from now (1h, 7d), epoch ms or ISO time."
    ),
    until: str | None = typer.Option(None, "--until", help="End (exclusive); default now."),
    as_json: bool = JSON_OPT,
) -> None:
    """Realized metrics per version on the labelled predictions of a window."""
    from shipyard.core.clock import now_ms
    from shipyard.interfaces.presenters.monitoring_feedback import parse_time

    now = now_ms()
    start, end = parse_time(since, "since", now), parse_time(until, "until", now)
    result = services().realized.realized(
        model, version=version, env=env, start_ms=start, end_ms=end
    )
    if as_json:
        print_json(result.to_dict())
        return
    names: list[str] = []
    for v in result.versions:
        names += [m for m in v.metrics if m not in names]
    rows = [
        [f"v{v.version}", v.task, f"{v.labelled}/{v.predictions}"]
        + [_value(v.metrics.get(m)) for m in names]
        for v in result.versions
    ]
    table(f"Realized metrics of {model}", ["version", "task", "labelled", *names], rows)
    console().print(f"showing {len(rows)} of {len(result.versions)} versions")
