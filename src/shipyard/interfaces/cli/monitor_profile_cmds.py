"""``shipyard monitor profile MODEL@vN``: show the reference profile recorded for a model
version (and how computing it at registration went), or compute and record one from
``--reference`` (a dataset ref or a table file), with ``--target`` naming the label column
that performance estimation is fitted on."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.core.errors import NotFoundError
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services

__all__ = ["profile_cmd"]


def _reference(svc: Any, source: str) -> Any:
    """A table file's rows, else the dataset ref itself (the profile service reads it)."""
    from pathlib import Path

    from shipyard.core.errors import ValidationError
    from shipyard.services.catalog.tabular import is_table_file, read_table_file

    path = Path(source)
    if path.is_file() and is_table_file(path):
        return read_table_file(path)
    if path.suffix.lower() in {".csv", ".parquet", ".pq", ".jsonl", ".ndjson"}:
        raise ValidationError(f"reference file {source} does not exist", field="reference")
    return source


def _summary(svc: Any, ref: str) -> dict[str, Any]:
    version = svc.registry.get_version(ref)
    record = svc.profiles.record_for(version.ref)
    status = svc.profiles.status_for(version.ref)
    out: dict[str, Any] = {"model": version.ref, "profile": None, "status": status}
    if record is None:
        return out
    profile = svc.profiles.load(record["profile"])
    out |= {
        "profile": record["profile"],
        "source": record.get("source"),
        "created": record.get("created"),
        "rows": profile.rows,
        "columns": sorted(profile.columns),
        "estimation": None,
    }
    fitted = svc.profiles.estimation_for(version.ref)
    if fitted is not None:
        out["estimation"] = {
            "target": record.get("target"),
            "rows": fitted.rows,
            "calibrated": fitted.calibration.applied,
            "metrics": {k: (None if v != v else v) for k, v in fitted.metrics.items()},
        }
    return out


def profile_cmd(
    model: str = typer.Argument(..., help="The model version: loans@v3, loans@champion."),
    reference: str | None = typer.Option(
        None, "--reference", "-r", help="Compute from this dataset ref (loans@v2) or table file."
    ),
    target: str | None = typer.Option(
        None, "--target", help="Its label column: fits performance estimation (binary models)."
    ),
    columns: str | None = typer.Option(
        None, "--columns", help="Comma-separated columns to profile (default: all but target)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Show a model version's reference profile, or compute one with --reference."""
    svc = services()
    if reference is not None:
        chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        svc.profiles.attach(model, _reference(svc, reference), columns=chosen, target=target)
    found = _summary(svc, model)
    if as_json:
        print_json(found)
        return
    if found["profile"] is None:
        status = found["status"]
        why = f" ({status['state']}: {status['detail']})" if status else ""
        raise NotFoundError(
            f"no reference profile is recorded for {found['model']}{why}; compute one with "
            f"shipyard monitor profile {found['model']} --reference DATASET_REF [--target COLUMN]",
            field="model",
        )
    out = console()
    out.print(f"{found['model']}: profile {found['profile'][:12]}… of {found['source']} "
              f"({found['rows']} rows): {', '.join(found['columns'])}")  # fmt: skip
    est = found["estimation"]
    if est is None:
        out.print("no estimation reference (name the label column with --target)")
    else:
        known = sorted((k, v) for k, v in est["metrics"].items() if v is not None)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in known)
        out.print(f"estimation on {est['target']!r} ({est['rows']} rows): {shown}")
