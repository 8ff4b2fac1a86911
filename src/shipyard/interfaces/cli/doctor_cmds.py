"""``shipyard doctor [--repair] [--grace 1h] [--json]``: is every object whole, every
reference answered, the database sound and the audit chain intact; and what did
interrupted writes leave behind."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.core.health import DoctorReport, Severity
from shipyard.core.monitor_policy import parse_duration
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["doctor"]

SHOWN = 20  # findings listed per severity in the table output (--json lists all)


def doctor(
    repair: bool = typer.Option(
        False,
        "--repair",
        help="Remove stale temporary files and unreferenced objects older than --grace.",
    ),
    grace: str = typer.Option(
        "1h",
        "--grace",
        help="How old an unreferenced object or temporary file must be to count as garbage "
        "(e.g. 30m, 1h, 2d; 0s for everything). Younger ones may belong to a running write.",
    ),
    quick: bool = typer.Option(
        False, "--quick", help="List objects without reading them (skips digest checks)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Check the whole project: every object's digest, every reference from the database to
    an object, orphans and temporary files, database integrity and the audit chain.

    Exit 0 when all is well, 1 when something is damaged or garbage is left (after
    --repair: when anything remains), 2 on bad input.
    """
    grace_s = _grace_seconds(grace)
    svc = services().doctor
    before = svc.check(grace_s, verify=not quick)
    result: dict[str, Any] = {"grace_s": grace_s, "before": before.to_dict()}
    final = before
    if repair:
        summary = svc.repair(grace_s, before)
        final = svc.check(grace_s, verify=False)
        result |= {"repair": summary.to_dict(), "after": final.to_dict()}
    if as_json:
        print_json(result)
    else:
        _show(before, "doctor")
        if repair:
            s = result["repair"]
            console().print(
                f"repair: removed {s['temp_files_removed']} temp file(s) "
                f"({s['temp_bytes_removed']} bytes) and {s['objects_removed']} unreferenced "
                f"object(s) ({s['object_bytes_removed']} bytes)",
                highlight=False,
            )
            _show(final, "after repair")
    if not final.ok:
        raise typer.Exit(1)


def _grace_seconds(text: str) -> float:
    """``--grace`` in seconds: a duration like 30m, 1h or 2d (``0s`` allowed)."""
    return parse_duration(text.strip(), "--grace", allow_zero=True) / 1000


def _show(report: DoctorReport, title: str) -> None:
    table(
        f"shipyard {title}",
        ["check", "checked", "damage", "garbage", "pending", "what"],
        [
            [
                c.name,
                c.checked,
                report.count(c.name, Severity.DAMAGE),
                report.count(c.name, Severity.GARBAGE),
                report.count(c.name, Severity.PENDING),
                c.note,
            ]
            for c in report.checks
        ],
    )
    out = console()
    for severity in (Severity.DAMAGE, Severity.GARBAGE):
        found = [f for f in report.findings if f.severity == severity]
        for f in found[:SHOWN]:
            out.print(f"{severity.value}: [{f.check}] {f.subject}: {f.detail}", highlight=False)
        if len(found) > SHOWN:
            out.print(f"... and {len(found) - SHOWN} more {severity.value} finding(s) (--json)")
    if report.damage:
        out.print(
            "damage found: restore the named objects from a backup (`shipyard restore` into "
            "a new project, or copy them from its objects/ folder) or re-register them; "
            "see the details above",
            highlight=False,
        )
    elif report.garbage:
        out.print("garbage found: `shipyard doctor --repair` removes it", highlight=False)
    else:
        out.print("[green]all checks passed[/]")
