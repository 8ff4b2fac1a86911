"""``shipyard models ls|show|register|alias|archive``: the model registry from the command
line."""

from __future__ import annotations

import typer

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import (
    JSON_OPT,
    acting_user,
    console,
    print_json,
    services,
    table,
)
from shipyard.interfaces.cli.models_register import register_cmd
from shipyard.interfaces.cli.paging import (
    CURSOR_OPT,
    PAGE_OPT,
    check_page,
    limit_option,
    paging,
    show_page,
)
from shipyard.services.paging import MAX_WIDE_PAGE

__all__ = ["approve", "gate", "models_app", "reject"]

models_app = typer.Typer(help="Registered models: versions, aliases, status.", no_args_is_help=True)
REASON_OPT = typer.Option("", "--reason", "-r", help="Why (kept in the audit trail).")
models_app.command("register")(register_cmd)


def _version_json(v: object) -> dict[str, object]:
    data = dict(v.__dict__)
    data["status"] = data["status"].value
    data["signature"] = data["signature"].to_dict()
    return data


@models_app.command("ls")
def ls(
    search: str = typer.Option(
        None, "--search", "-s", help="Only models whose name or a tag has this text (or key=value)."
    ),
    limit: int = limit_option(100, MAX_WIDE_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List registered models with their latest version and aliases, a page at a time."""
    how = paging(limit, page, cursor)
    found = check_page(
        services().registry.page_models(
            search, cursor=how.cursor, limit=how.limit, offset=how.offset
        ),
        how,
        "models",
    )
    if as_json:
        print_json([m.__dict__ for m in found.items])
        show_page(found, how, "models", as_json)
        return
    table(
        "Registered models",
        ["name", "latest", "aliases", "tags", "updated", "description"],
        [
            [
                m.name,
                m.latest_version,
                ", ".join(f"{a}→v{v}" for a, v in sorted(m.aliases.items())),
                ", ".join(f"{k}={v}" for k, v in sorted(m.tags.items()))[:40],
                format_ms(m.last_update_time),
                m.description[:60],
            ]
            for m in found.items
        ],
        wrap="description",
    )
    show_page(found, how, "models", as_json)


@models_app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME (all versions) or NAME@VERSION / NAME@ALIAS."),
    as_json: bool = JSON_OPT,
) -> None:
    """A model's versions, or one version in full."""
    registry = services().registry
    if "@" in ref:
        version = registry.get_version(ref)
        if as_json:
            print_json(_version_json(version))
            return
        sig = ", ".join(f"{c}:{t}" for c, t in version.signature.inputs)
        console().print(
            f"[bold]{version.ref}[/] {version.status.value} · {version.flavor} · "
            f"aliases: {', '.join(version.aliases) or '—'}\n"
            f"run: {version.run_id or '—'} · by {version.created_by} at "
            f"{format_ms(version.creation_time)}\ncontent id: {version.content_id}\n"
            f"inputs: {sig}\noutput: {version.signature.output}",
            soft_wrap=True,
            markup=True,
        )
        return
    versions = registry.versions(ref)
    if as_json:
        print_json([_version_json(v) for v in versions])
        return
    table(
        f"Model {ref}",
        ["version", "status", "aliases", "flavor", "run", "created by", "created"],
        [
            [
                v.version,
                v.status.value,
                ", ".join(v.aliases),
                v.flavor,
                v.run_id,
                v.created_by,
                format_ms(v.creation_time),
            ]
            for v in versions
        ],
    )


@models_app.command("alias")
def alias(
    ref: str = typer.Argument(..., help="NAME@VERSION to point at."),
    name: str = typer.Argument(..., help="The alias, e.g. champion."),
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Point an alias at a version (audited)."""
    svc = services()
    version = svc.registry.set_alias(ref, name, user=svc.settings.actor, reason=reason)
    if as_json:
        print_json(_version_json(version))
    else:
        console().print(f"[green]{name}[/] → {version.ref}")


@models_app.command("archive")
def archive(
    ref: str = typer.Argument(..., help="NAME@VERSION to archive."),
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Archive a version (audited; it can no longer be aliased or approved)."""
    svc = services()
    version = svc.registry.archive(ref, user=svc.settings.actor, reason=reason)
    if as_json:
        print_json(_version_json(version))
    else:
        console().print(f"{version.ref} [dim]archived[/]")


def gate(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number (or alias)."),
    holdout: str = typer.Option(None, help="Holdout dataset version (default: the policy's)."),
    target: str = typer.Option(None, help="Its label column (default: the policy's)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the release policy's gates on a holdout; exit 1 when any gate fails."""
    svc = services()
    report = svc.registry.run_gates(
        f"{name}@{version}",
        svc.settings.release,
        user=svc.settings.actor,
        holdout=holdout,
        target=target,
    )
    if as_json:
        print_json(report)
    else:
        table(
            f"Gates of {name}@v{report['version']} on {report['holdout']}",
            ["gate", "value", "threshold", "result", "note"],
            [
                [
                    g["gate"],
                    _value(g.get("value")),
                    _value(g.get("threshold")),
                    "pass" if g["passed"] else "FAIL",
                    g.get("note", ""),
                ]
                for g in report["gates"]
            ],
        )
        verdict = "[green]all gates passed[/]" if report["passed"] else "[red]gates failed[/]"
        console().print(
            f"{verdict}: {name}@v{report['version']} is now "
            f"{'gate_passed' if report['passed'] else 'gate_failed'}"
        )
    if not report["passed"]:
        raise typer.Exit(1)


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _decide(
    name: str, version: str, reason: str, *, approve: bool, override: bool, as_json: bool
) -> None:
    svc = services()
    decided = svc.registry.decide(
        f"{name}@{version}",
        acting_user(svc, "approver"),
        approve=approve,
        reason=reason,
        override=override,
    )
    if as_json:
        print_json(_version_json(decided))
    else:
        colour = "green" if approve else "red"
        console().print(f"{decided.ref} [{colour}]{decided.status.value}[/]: {reason}")


def approve(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept in the audit trail)."),
    override: bool = typer.Option(
        False, "--override", help="Admin only: approve although gates failed (flagged)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Approve a gated version (approver role, not its author or trainer)."""
    _decide(name, version, reason, approve=True, override=override, as_json=as_json)


def reject(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept in the audit trail)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Reject a gated version (approver role, not its author or trainer)."""
    _decide(name, version, reason, approve=False, override=False, as_json=as_json)
