"""Rich rendering of dataset diffs and validation results for the CLI."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_diff", "print_validation"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:+.4g}" if value else "0"
    return "" if value is None else str(value)


def print_diff(console: Console, body: dict[str, Any]) -> None:
    console.print(f"[bold]{body['old']}[/] → [bold]{body['new']}[/]", end="  ")
    if body["identical"]:
        console.print("[green]identical content[/]")
        return
    if body["kind"] == "files":
        c = body["counts"]
        console.print(
            f"{c['added']} added, {c['removed']} removed, {c['changed']} changed, "
            f"{c['unchanged']} unchanged"
        )
        table = Table("change", "path", "size")
        for key, style in (("added", "green"), ("removed", "red"), ("changed", "yellow")):
            for f in body[key][:50]:
                table.add_row(
                    f"[{style}]{key}[/]", f["path"], str(f.get("size", f.get("new_size")))
                )
        console.print(table)
        return
    rows = body["rows"]
    console.print(f"rows {rows['old']} → {rows['new']} ({rows['delta']:+d})")
    schema = body["schema"]
    for c in schema["added"]:
        console.print(f"  [green]+ column {c['column']}[/] ({c['type']})")
    for c in schema["removed"]:
        console.print(f"  [red]- column {c['column']}[/] ({c['type']})")
    for c in schema["type_changed"]:
        console.print(f"  [yellow]~ column {c['column']}[/]: {c['old']} → {c['new']}")
    table = Table("column", "Δ mean", "mean shift (std)", "Δ std", "Δ null frac", "Δ distinct")
    for name, ch in body["columns"].items():
        st = ch["stats"]
        table.add_row(
            name,
            _fmt(st.get("mean", {}).get("delta")),
            _fmt(ch["mean_shift_in_std"]),
            _fmt(st.get("std", {}).get("delta")),
            _fmt(st["null_fraction"]["delta"]),
            _fmt(st.get("distinct", {}).get("delta")),
        )
    console.print(table)


def print_validation(console: Console, ref: str, record: Any) -> None:
    from shipyard.services.catalog.validation import ValidationReport

    report = ValidationReport.from_dict(record.report)
    verdict = "[green]passed[/]" if record.passed else "[red]FAILED[/]"
    console.print(f"{ref}: {verdict} — {record.checks_run} checks, {record.failed} failing")
    for line in report.summary_lines():
        console.print(f"  {line}")
