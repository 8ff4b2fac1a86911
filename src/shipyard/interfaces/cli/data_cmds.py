"""``shipyard data …``: register, list, search, show, diff, validate, alias, lineage, status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.core.errors import ValidationError
from shipyard.interfaces.cli.common import (
    JSON_OPT,
    console,
    print_json,
    progress_bar,
    services,
    table,
)
from shipyard.interfaces.cli.paging import (
    CURSOR_OPT,
    PAGE_OPT,
    Paging,
    check_page,
    limit_option,
    paging,
    show_page,
)
from shipyard.interfaces.presenters.records import dataset_version_json
from shipyard.services.paging import MAX_WIDE_PAGE

__all__ = ["data_app"]

data_app = typer.Typer(
    help="Versioned datasets: register, search, inspect, compare, validate, trace.",
    no_args_is_help=True,
)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"{option} takes KEY=VALUE, got {item!r}", field=option)
        out[key] = value
    return out


@data_app.command("register")
def register(
    name: str = typer.Argument(..., help="Dataset name, e.g. loans."),
    source: Path = typer.Argument(
        ..., help="CSV / Parquet / JSON-lines file, any file, or a folder."
    ),
    description: str = typer.Option(None, "--description", "-d", help="What the data is."),
    owner: str = typer.Option(None, "--owner", help="Owner (default: you)."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="KEY=VALUE, repeatable."),
    pii: list[str] = typer.Option([], "--pii", help="COLUMN=keep|mask|tokenize|drop, repeatable."),
    allow_pii: bool = typer.Option(
        False, "--allow-pii", help="Keep detected personal data without a policy (recorded)."
    ),
    format: str = typer.Option("auto", "--format", help="auto | table | files."),
    link: bool = typer.Option(
        False, "--link", help="Hard-link large files into the store (instant; made read-only)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Register a new immutable version (identical content returns the existing one)."""
    svc = services()
    policies = _pairs(pii, "--pii") or svc.settings.data_pii(name)
    with progress_bar(f"registering {name}") as progress:
        v = svc.catalog.register(
            name,
            source,
            description=description,
            owner=owner,
            tags=_pairs(tag, "--tag"),
            pii=policies,
            allow_pii=allow_pii,
            format=format,
            user=svc.settings.actor,
            link=link,
            progress=progress,
        )
    if as_json:
        print_json({**dataset_version_json(v), "created": v.created})
        return
    state = "[green]registered[/]" if v.created else "[yellow]unchanged, already[/]"
    what = f"{v.row_count} rows" if v.row_count is not None else f"{v.file_count} files"
    console().print(f"{state} [bold]{v.ref}[/] ({what}, {v.size:,} bytes, {v.content_id[:19]}…)")
    for column, rec in v.pii.items():
        console().print(f"  PII column [bold]{column}[/]: {rec['kind']} → {rec['policy']}")


@data_app.command("ls")
def ls(
    search: str = typer.Option(
        None, "--search", "-s", help="Only datasets whose name, owner, tag or column has this."
    ),
    limit: int = limit_option(100, MAX_WIDE_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List datasets, a page at a time."""
    _list(search, paging(limit, page, cursor), as_json, "Datasets")


@data_app.command("search")
def search(
    text: str = typer.Argument(..., help="Matches name, description, owner, tags, columns."),
    limit: int = limit_option(100, MAX_WIDE_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Search the catalog."""
    _list(text, paging(limit, page, cursor), as_json, f"Datasets matching {text!r}")


def _list(text: str | None, how: Paging, as_json: bool, title: str) -> None:
    found = check_page(
        services().catalog.page(text, cursor=how.cursor, limit=how.limit, offset=how.offset),
        how,
        "datasets",
    )
    if as_json:
        from shipyard.interfaces.presenters.records import dataset_json

        print_json([dataset_json(d) for d in found.items])
        show_page(found, how, "datasets", as_json)
        return
    rows = [
        [d.name, f"v{d.latest_version}", d.owner, d.description[:60], format_ms(d.last_update_time)]
        for d in found.items
    ]
    table(title, ["name", "latest", "owner", "description", "updated"], rows, wrap="description")
    show_page(found, how, "datasets", as_json)


@data_app.command("show")
def show(
    ref: str = typer.Argument(..., help="name, name@vN or name@alias."), as_json: bool = JSON_OPT
) -> None:
    """Schema, profile, PII policies and validation of a version, and the version history."""
    catalog = services().catalog
    v = catalog.get_version(ref)
    versions = catalog.list_versions(v.name)
    if as_json:
        print_json(
            {**dataset_version_json(v), "versions": [dataset_version_json(x) for x in versions]}
        )
        return
    table(
        f"{v.ref}  ({v.kind.value}, {v.size:,} bytes)",
        ["field", "value"],
        [
            ["content id", v.content_id],
            ["rows" if v.row_count is not None else "files", v.row_count or v.file_count],
            ["registered", f"{format_ms(v.creation_time)} by {v.created_by}"],
            ["source", v.source],
            ["aliases", ", ".join(v.aliases) or "-"],
            ["validation", _validation_text(v.validation)],
        ],
    )
    columns = v.profile.get("columns", {})
    if isinstance(columns, dict) and columns:
        table(
            "Schema and profile",
            ["column", "type", "nulls", "distinct", "min", "max", "mean", "PII"],
            [
                [
                    c,
                    t,
                    p.get("nulls"),
                    p.get("distinct"),
                    _fmt(p.get("min")),
                    _fmt(p.get("max")),
                    _fmt(p.get("mean")),
                    _pii_text(v.pii.get(c)),
                ]
                for c, t in v.columns
                for p in [columns.get(c, {})]
            ],
        )
    table(
        "Versions",
        ["version", "content id", "size", "registered", "by", "aliases"],
        [
            [
                x.ref,
                x.content_id[:19],
                f"{x.size:,}",
                format_ms(x.creation_time),
                x.created_by,
                ", ".join(x.aliases),
            ]
            for x in versions
        ],
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _pii_text(rec: dict[str, Any] | None) -> str:
    return f"{rec['kind']} → {rec['policy']}" if rec else ""


def _validation_text(record: Any) -> str:
    if record is None:
        return "not validated (`shipyard data validate`)"
    verdict = "passed" if record.passed else f"FAILED ({record.failed} failing)"
    return f"{verdict}, {record.checks_run} checks, {format_ms(record.creation_time)}"


@data_app.command("diff")
def diff(
    old: str = typer.Argument(..., help="e.g. loans@v1"),
    new: str = typer.Argument(..., help="e.g. loans@v2"),
    as_json: bool = JSON_OPT,
) -> None:
    """Schema changes, row counts and statistic shifts; for folders, files changed."""
    body = services().catalog.diff(old, new)
    if as_json:
        print_json(body)
        return
    from shipyard.interfaces.cli.data_render import print_diff

    print_diff(console(), body)


@data_app.command("validate")
def validate(
    ref: str = typer.Argument(..., help="Version to check, e.g. loans@v2."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the checks declared for the dataset in shipyard.toml; stored as evidence."""
    svc = services()
    v = svc.catalog.get_version(ref)
    record = svc.catalog.validate(v.ref, svc.settings.data_checks(v.name), svc.settings.actor)
    if as_json:
        print_json({"dataset": v.ref, "passed": record.passed, "report": record.report})
    else:
        from shipyard.interfaces.cli.data_render import print_validation

        print_validation(console(), v.ref, record)
    if not record.passed:
        raise typer.Exit(1)


@data_app.command("alias")
def alias(
    ref: str = typer.Argument(..., help="Version, e.g. loans@v2."),
    name: str = typer.Argument(..., help="Alias, e.g. training."),
) -> None:
    """Point NAME@ALIAS at a version (moves it if it exists)."""
    svc = services()
    v = svc.catalog.set_alias(ref, name, svc.settings.actor)
    console().print(f"{v.name}@{name} → [bold]{v.ref}[/]")


@data_app.command("get")
def get(
    ref: str = typer.Argument(..., help="Version to fetch."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Table: .parquet/.csv file; folder: destination."
    ),
    path: str = typer.Option(None, "--path", help="Folder datasets: one file or sub-folder only."),
) -> None:
    """Fetch a version: a table to a file, a folder (or part of it) to a local folder."""
    catalog = services().catalog
    v = catalog.get_version(ref)
    if v.kind.value == "table":
        if output is None:
            raise ValidationError("tables need --output FILE.parquet or FILE.csv", field="output")
        frame = catalog.load_frame(v.ref)
        if output.suffix.lower() == ".csv":
            frame.to_csv(output, index=False)
        else:
            frame.to_parquet(output, index=False)
        console().print(f"{v.ref} → {output} ({len(frame)} rows)")
        return
    with progress_bar(f"fetching {v.ref}") as progress:
        where = catalog.checkout(v.ref, path, output, progress=progress)
    console().print(f"{v.ref} → {where}")


@data_app.command("status")
def status(
    name: str = typer.Argument(..., help="Dataset name."),
    source: Path = typer.Argument(..., help="Folder or file to compare with the latest version."),
    as_json: bool = JSON_OPT,
) -> None:
    """Does a folder on disk differ from the latest version? (Nothing is stored.)"""
    body = services().catalog.status(name, source)
    if as_json:
        print_json(body)
        return
    c = body["counts"]
    verdict = "[green]up to date[/]" if body["up_to_date"] else "[yellow]changed[/]"
    console().print(
        f"{source} vs {body['dataset']}: {verdict} — {c['added']} added, {c['removed']} removed, "
        f"{c['changed']} changed, {c['unchanged']} unchanged"
    )


@data_app.command("lineage")
def lineage(
    ref: str = typer.Argument(..., help="A dataset version (loans@v2) or run:<id>."),
    as_json: bool = JSON_OPT,
) -> None:
    """What read this dataset version (runs, later models and deployments), or what a run read."""
    from shipyard.interfaces.presenters.lineage import lineage_graph

    graph = lineage_graph(services(), ref)
    if as_json:
        print_json(graph)
        return
    table(
        f"Lineage of {graph['root']}",
        ["direction", "from", "to", "relation"],
        [[e["direction"], e["source"], e["target"], e["relation"]] for e in graph["edges"]],
    )
    models = graph["models"]
    if not models:
        console().print("No model version was registered from these runs.", markup=False)
        return
    table(
        f"Model versions trained downstream of {graph['root']}",
        ["model version", "status", "aliases", "registered from run", "a step of", "registered"],
        [
            [
                m["ref"],
                m["status"],
                ", ".join(m["aliases"]),
                f"{m['run_name']} ({m['run_id']})",
                "" if m["via"] == f"run:{m['run_id']}" else m["via"],
                format_ms(m["creation_time"]),
            ]
            for m in models
        ],
    )
