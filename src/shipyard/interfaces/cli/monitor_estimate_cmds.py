"""``shipyard monitor estimate REF CUR``: a classifier's metrics per chunk of current data,
estimated without its labels from a labeled reference (dataset refs or CSV/Parquet files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["estimate_cmd"]


def _load(source: str, role: str) -> Any:
    """A CSV/Parquet/JSON-lines file when ``source`` is one, else a dataset ref."""
    path = Path(source)
    if path.is_file():
        from shipyard.services.catalog.tabular import read_table_file

        return read_table_file(path)
    if os.sep in source or path.suffix.lower() in {".csv", ".parquet", ".pq", ".jsonl"}:
        from shipyard.core.errors import ValidationError

        raise ValidationError(f"{role}: no file {source}", field=role)
    return services().catalog.load_frame(source)


def _number(value: object) -> str:
    return "-" if value is None else f"{value:.4f}"


def _print_table(rows: list[dict[str, Any]], realized: bool) -> None:
    columns = ["chunk", "rows", "metric", "estimate", "band", "expected range", "alert"]
    lines = []
    for r in rows:
        line = [
            r["chunk"],
            r["rows"],
            r["metric"],
            _number(r["estimate"]),
            f"{_number(r['lower'])}..{_number(r['upper'])}",
            f"{_number(r['lower_threshold'])}..{_number(r['upper_threshold'])}",
            "ALERT" if r["alert"] else "",
        ]
        if realized:
            line.append(f"{_number(r['realized'])} ({r['labeled']} labeled)")
        lines.append(line)
    table("Estimated performance", columns + (["realized"] if realized else []), lines)


def estimate_cmd(
    reference: str = typer.Argument(..., help="Labeled reference: dataset ref or file."),
    current: str = typer.Argument(..., help="Current data: dataset ref or file."),
    y_true: str = typer.Option(..., "--y-true", help="Label column (0/1) of the reference."),
    y_pred_proba: str = typer.Option(
        ..., "--y-pred-proba", help="Column with the positive class probability."
    ),
    y_pred: str | None = typer.Option(
        None, "--y-pred", help="Column with the model's 0/1 decision (default: proba ≥ 0.5)."
    ),
    metrics: str = typer.Option(
        "roc_auc,accuracy", "--metrics", help="Comma-separated: roc_auc,accuracy,precision,…"
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", help="Rows per chunk (default: all rows in one chunk)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Estimate roc_auc, accuracy, precision, recall, f1 per chunk without labels (CBPE)."""
    from shipyard.services.monitoring.estimation import estimate_performance, estimation_options

    chosen, size = estimation_options(
        [m.strip() for m in metrics.split(",") if m.strip()], chunk_size
    )
    result = estimate_performance(
        _load(reference, "reference"),
        _load(current, "current"),
        y_true=y_true,
        y_pred_proba=y_pred_proba,
        y_pred=y_pred,
        metrics=chosen,
        chunk_size=size,
    )
    rows = result.to_dicts()
    calibration = result.reference.calibration
    if as_json:
        print_json({"rows": rows, "reference": result.reference.to_dict()})
        return
    _print_table(rows, result.has_realized)
    state = (
        f"isotonic (ECE {calibration.ece_before:.4f} → {calibration.ece_after:.4f})"
        if calibration.applied
        else f"not needed (ECE {calibration.ece_before:.4f})"
    )
    console().print(
        f"calibration: {state}, Hosmer-Lemeshow p = {calibration.hl_p_value:.3g}; "
        f"{len(result.alerts)} alert(s) in {len(rows)} rows"
    )
