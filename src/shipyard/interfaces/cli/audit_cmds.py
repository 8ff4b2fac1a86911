"""``shipyard audit log|verify|dossier``: the hash-chained trail of every state change, and a
model version's dossier (all its evidence in one self-contained HTML file)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail: who changed what, when and why; tamper-evident.",
    no_args_is_help=True,
)


@audit_app.command("log")
def log(
    obj: str = typer.Option(
        None, "--object", "-o", help="Only this object: run:<id>, dataset:<name>, user:<name>."
    ),
    limit: int = typer.Option(50, help="How many entries (newest first)."),
    as_json: bool = JSON_OPT,
) -> None:
    """List audit entries, newest first."""
    entries = services().audit.log(obj, limit)
    if as_json:
        print_json([e.__dict__ for e in entries])
        return
    table(
        "Audit trail",
        ["#", "time", "actor", "action", "object", "reason", "details"],
        [
            [
                e.seq,
                format_ms(e.time),
                e.actor,
                e.action,
                f"{e.object_type}:{e.object_id}",
                e.reason,
                _short(e.payload),
            ]
            for e in entries
        ],
    )


def _short(payload: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload[:60]
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", {}))[:80]


@audit_app.command("verify")
def verify(as_json: bool = JSON_OPT) -> None:
    """Check the hash chain; exit 1 naming the first broken entry."""
    report = services().audit.verify()
    if as_json:
        print_json(report.__dict__)
    elif report.ok:
        console().print(f"[green]audit trail intact[/]: {report.checked} entries verified")
    else:
        console(stderr=True).print(
            f"[red]audit trail broken at entry {report.broken_seq}[/]: {report.reason} "
            f"({report.checked} entries before it verified)",
            soft_wrap=True,
            markup=True,
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("dossier")
def dossier(
    model: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number (or alias)."),
    output: Path = typer.Option(
        None, "--output", "-o", help="The HTML file to write (default: dossier-MODEL-vN.html)."
    ),
) -> None:
    """Write one self-contained HTML file proving how a model version came to be: lineage,
    metrics, gates with evidence, fairness, feature importance, approvals and the ledger."""
    from shipyard.interfaces.bootstrap import dossier_builder
    from shipyard.interfaces.dossier_html import render_dossier

    data = dossier_builder(services()).build(f"{model}@{version}")
    path = output or Path(f"dossier-{data['model']['name']}-v{data['model']['version']}.html")
    path.write_text(render_dossier(data), encoding="utf-8")
    verdict = data["ledger"]["verify"]
    ledger = "ledger intact" if verdict["ok"] else f"ledger BROKEN at {verdict['broken_seq']}"
    console().print(
        f"dossier of {data['ref']} ({data['model']['status']}; {len(data['gates'])} gate "
        f"result(s); {ledger}) written to:",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    print(path.resolve())
