"""``shipyard gc``, ``shipyard backup DEST`` and ``shipyard restore SRC``: retention,
and copies of the whole project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shipyard.core.monitor_policy import parse_duration
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["backup", "gc", "restore"]


def gc(
    apply: bool = typer.Option(
        False, "--apply", help="Remove what the dry run lists (rows, log partitions, objects)."
    ),
    grace: str = typer.Option(
        "1h",
        "--grace",
        help="Spare unreferenced objects younger than this (e.g. 30m, 1h; 0s for none): a "
        "running write may be about to link them.",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    r"""Collect what the \[retention] policy in shipyard.toml lets go: runs and experiments
    deleted, and model versions archived, longer ago than the policy; prediction-log
    partitions older than it; then the objects no record reaches any more.

    A dry run by default: it lists what would go (rows and bytes) and changes nothing.
    With --apply the pass is recorded in the audit ledger (action gc.collect). The audit
    ledger itself is never collected. Example policy:

        \[retention]
        deleted_runs = "30d"
        deleted_experiments = "30d"
        archived_model_versions = "90d"
        prediction_logs = "90d"
    """
    grace_s = parse_duration(grace.strip(), "--grace", allow_zero=True) / 1000
    svc = services()
    result = svc.gc.run(apply=apply, grace_s=grace_s, actor=svc.settings.actor)
    data = result.to_dict()
    if as_json:
        print_json(data)
        return
    plan = result.plan
    verb = "removed" if apply else "would remove"
    table(
        f"shipyard gc ({'applied' if apply else 'dry run'})",
        ["what", "count", "bytes"],
        [
            ["deleted runs", len(plan.runs), plan.artifact_bytes],
            ["deleted experiments", len(plan.experiments), None],
            ["archived model versions", len(plan.model_versions), None],
            ["metadata rows", sum(plan.rows.values()), None],
            ["prediction-log files", plan.prediction_logs, plan.prediction_log_bytes],
            ["unreferenced objects", plan.objects, plan.object_bytes],
        ],
    )
    out = console()
    for reason in plan.skipped[:20]:
        out.print(f"kept: {reason}", highlight=False)
    if apply:
        out.print(
            f"{verb} {sum(plan.rows.values())} row(s), {plan.prediction_logs} log file(s) and "
            f"{result.removed_objects} object(s) ({result.removed_object_bytes} bytes)",
            highlight=False,
        )
    elif plan.empty:
        out.print("nothing to collect")
    else:
        out.print("dry run: nothing changed; `shipyard gc --apply` removes it", highlight=False)


def backup(
    dest: Path = typer.Argument(..., help="A new (or empty) folder for the backup."),
    as_json: bool = JSON_OPT,
) -> None:
    """Copy the whole project into DEST while it keeps running: a consistent snapshot of
    the metadata database (SQLite's online backup API, or pg_dump for PostgreSQL), every
    object that snapshot references (verified by digest), the store's other files
    (prediction logs), the tokenization key, and a MANIFEST.json with counts and digests.

    Keep DEST private: it holds the project's data and its tokenization key. Restore it
    with `shipyard restore DEST` inside a new, empty project.
    """
    manifest = services().backups.backup(dest)
    summary = _backup_summary(dest, manifest)
    if as_json:
        print_json(summary)
        return
    table(
        "shipyard backup",
        ["what", "value"],
        [[k, v] for k, v in summary.items() if k != "missing"],
    )
    if manifest["missing"]:
        console().print(
            f"warning: {len(manifest['missing'])} object(s) the database names are missing "
            "from the store and were not copied; run `shipyard doctor`",
            highlight=False,
        )
        raise typer.Exit(1)
    console().print(f"[green]backup complete[/]: restore with `shipyard restore {dest}`")


def _backup_summary(dest: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    db, totals = manifest["database"], manifest["totals"]
    counts = manifest["counts"]
    return {
        "destination": str(dest),
        "database": db["kind"],
        "tool": db["tool"],
        "schema_revision": db["schema_revision"],
        "runs": counts.get("runs", 0),
        "datasets": counts.get("datasets", 0),
        "model_versions": counts.get("model_versions", 0),
        "deployments": counts.get("deployments", 0),
        "audit_entries": counts.get("audit_ledger", 0),
        "objects": totals["objects"],
        "object_bytes": totals["object_bytes"],
        "files": totals["files"],
        "bytes": totals["bytes"],
        "seconds": totals["seconds"],
        "missing": manifest["missing"],
    }


def restore(
    src: Path = typer.Argument(..., help="A folder written by `shipyard backup`."),
    as_json: bool = JSON_OPT,
) -> None:
    """Restore a backup into this project, which must be empty (a new `shipyard init`
    project, or an empty database and object store): nothing is ever overwritten.

    Every object, file and the database snapshot are verified against MANIFEST.json
    before anything is written; the restored row counts and audit head are checked after.
    Exit 2 when the target is not empty or SRC is not a backup; 3 when the backup is
    damaged. Afterwards `shipyard audit verify` and `shipyard doctor` should be clean.
    """
    svc = services()
    try:
        summary = svc.backups.restore(src)
    finally:
        svc.close()
    if as_json:
        print_json(summary)
        return
    counts = summary["counts"]
    table(
        "shipyard restore",
        ["what", "value"],
        [
            ["source", summary["source"]],
            ["database", summary["database"]],
            ["runs", counts.get("runs", 0)],
            ["datasets", counts.get("datasets", 0)],
            ["model versions", counts.get("model_versions", 0)],
            ["deployments", counts.get("deployments", 0)],
            ["audit entries", counts.get("audit_ledger", 0)],
            ["objects", summary["objects"]],
            ["files", summary["files"]],
            ["seconds", summary["seconds"]],
        ],
    )
    console().print("[green]restore complete[/]: check it with `shipyard doctor`")
