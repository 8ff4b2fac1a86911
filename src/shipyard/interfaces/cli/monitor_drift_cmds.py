"""``shipyard monitor drift REF CUR``: drift of a dataset version or table file against
another, per column (and per chunk), as a Rich table or JSON. A report: it exits 0 whether
or not anything drifted, 2 on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["drift_cmd"]


def _table_of(source: str, what: str, graph: dict[str, Any]) -> Any:
    """A table file (CSV, Parquet, JSON lines) when ``source`` is one, else a dataset ref
    (the project's services opened once, on the first ref)."""
    from shipyard.core.errors import ValidationError
    from shipyard.services.catalog.tabular import is_table_file, read_table_file

    path = Path(source)
    if path.is_file() and is_table_file(path):
        return read_table_file(path)
    if path.suffix.lower() in {".csv", ".parquet", ".pq", ".jsonl", ".ndjson"}:
        raise ValidationError(f"{what} file {source} does not exist", field=what)
    if "svc" not in graph:
        graph["svc"] = services()
    return graph["svc"].catalog.load_frame(source)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def drift_cmd(
    reference: str = typer.Argument(..., help="Reference: dataset ref (loans@v2) or file."),
    current: str = typer.Argument(..., help="Current data: dataset ref or file."),
    columns: str = typer.Option(None, "--columns", help="Comma-separated columns (all)."),
    chunk_size: int = typer.Option(None, "--chunk-size", help="Rows per chunk (one chunk)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Compare CUR with REF column by column: method, value, threshold, verdict."""
    from shipyard.services.monitoring.drift import drift

    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    graph: dict[str, Any] = {}
    try:
        result = drift(
            _table_of(reference, "reference", graph),
            _table_of(current, "current", graph),
            columns=chosen,
            chunk_size=chunk_size,
        )
    finally:
        if "svc" in graph:
            graph["svc"].close()
    if as_json:
        print_json({"summary": result.summary(), "results": result.records()})
        return
    rows = [
        [
            r["chunk"],
            r["column"],
            r["kind"],
            r["method"],
            _number(r["value"]),
            _number(r["threshold"]),
            "[red]drift[/]" if r["drifted"] else r["state"],
            _number(r["p_value"] if r["p_value"] is not None else r["ks_p_value"]),
            f"{r['missing_share']:.1%}",
            ", ".join(r["unseen"]) or "",
        ]
        for r in result.records()
    ]
    headers = ["chunk", "column", "kind", "method", "value", "threshold", "verdict", "p"]
    table("Drift", [*headers, "missing", "unseen"], rows)
    summary = result.summary()
    console().print(
        f"drift share {summary['drift_share']:.0%} of {summary['columns']} columns"
        + (f" over {summary['chunks']} chunks" if summary["chunks"] > 1 else "")
        + (
            f"; drifted: {', '.join(summary['drifted_columns'])}"
            if summary["drifted_columns"]
            else ""
        )
    )
