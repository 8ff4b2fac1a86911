"""``shipyard audit log|verify|dossier``: the hash-chained trail of every state change, and a
model version's dossier (all its evidence in one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import JSON_OPT, clip, console, print_json, services, table
from shipyard.interfaces.cli.paging import (
    CURSOR_OPT,
    PAGE_OPT,
    check_page,
    limit_option,
    paging,
    show_page,
)
from shipyard.interfaces.presenters.audit import evidence_pairs, parsed_payload
from shipyard.services.paging import MAX_AUDIT_PAGE

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
    search: str = typer.Option(
        None, "--search", "-s", help="Only entries whose actor, action or object id has this."
    ),
    kind: str = typer.Option(
        None,
        "--kind",
        "-k",
        help="governance (gates, approvals, aliases, deployments, users, retraining), "
        "bookkeeping (runs, data, alerts…) or all.",
    ),
    limit: int = limit_option(50, MAX_AUDIT_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List audit entries, newest first, a page at a time."""
    how = paging(limit, page, cursor)
    found = check_page(
        services().audit.page(
            obj, text=search, cursor=how.cursor, limit=how.limit, offset=how.offset, kind=kind
        ),
        how,
        "entries",
    )
    if as_json:
        print_json([e.__dict__ for e in found.items])
        show_page(found, how, "entries", as_json)
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
            for e in found.items
        ],
        wrap=("reason", "details"),
    )
    show_page(found, how, "entries", as_json)


def _short(payload: str) -> str:
    """The evidence as ``key: value`` pairs (never a Python repr), cut to 80 characters."""
    pairs = evidence_pairs(parsed_payload(payload))
    return clip(", ".join(f"{key}: {text}" for key, text, _ in pairs), 80)


@audit_app.command("verify")
def verify(
    full: bool = typer.Option(
        False,
        "--full",
        help="Walk the whole chain again, not only the entries after the last verified "
        "checkpoint (an entry edited before the checkpoint shows only this way).",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Check the hash chain from the last verified checkpoint (all of it with --full); exit 1
    naming the first broken entry."""
    report = services().audit.verify(full=full)
    if as_json:
        print_json(report.__dict__)
    elif report.ok:
        since = (
            f" ({report.checked - report.since} walked after entry {report.since}, the "
            "ones before it verified earlier; --full re-walks them all)"
            if report.since
            else ""
        )
        console().print(
            f"[green]audit trail intact[/]: {report.checked} entries verified{since}",
            soft_wrap=True,
        )
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
