"""``shipyard deploy|rollback|deployments``: deploy versions to environments, move a rollout
on, roll back, and read what serves where and the history of changes.

``shipyard deploy MODEL VERSION --env ENV`` and ``shipyard deploy promote --env ENV`` share
the ``deploy`` group: a first word that is not a subcommand is a model name.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import (
    JSON_OPT,
    acting_user,
    clip,
    console,
    print_json,
    services,
    table,
)
from shipyard.interfaces.cli.paging import (
    CURSOR_OPT,
    PAGE_OPT,
    check_page,
    limit_option,
    paging,
    show_page,
)
from shipyard.services.paging import MAX_PAGE

__all__ = ["deploy_app", "deployments_app", "rollback"]

_DEFAULT = "to"  # the hidden command behind ``deploy MODEL VERSION``
ENV_OPT = typer.Option(..., "--env", "-e", help="Environment, e.g. staging or production.")
REASON_OPT = typer.Option("", "--reason", "-r", help="Why (kept in the audit trail).")
MODEL_OPT = typer.Option(None, "--model", "-m", help="Needed when the env serves several.")


class _DeployGroup(TyperGroup):
    """Routes ``deploy MODEL VERSION …`` to the hidden default command; its help is the
    group's help."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if _deploys(args, set(self.commands) - {_DEFAULT}):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        default = self.commands[_DEFAULT]
        default.format_help(typer.Context(default, info_name=_DEFAULT, parent=ctx), formatter)


def _deploys(args: list[str], subcommands: set[str]) -> bool:
    """``deploy MODEL VERSION …`` rather than ``deploy promote …`` (or the group's help)?"""
    if not args or args[0] == "--help":
        return False
    # ``deploy promote 3 …`` deploys a model named like a subcommand
    return args[0] not in subcommands or (len(args) > 1 and not args[1].startswith("-"))


class _DefaultCommand(TyperCommand):
    def get_usage(self, ctx: Any) -> str:
        path = ctx.parent.command_path if ctx.parent is not None else ctx.command_path
        return f"Usage: {path} MODEL VERSION --env ENV [OPTIONS]\n       {path} promote --help"


deploy_app = typer.Typer(cls=_DeployGroup, no_args_is_help=True, help="Deploy a model version.")
deployments_app = typer.Typer(
    help="What serves each environment, and the history of changes.", no_args_is_help=True
)


def _show(d: Any, as_json: bool) -> None:
    from shipyard.interfaces.presenters.deployments import deployment_json

    if as_json:
        print_json(deployment_json(d))
        return
    where = f"[bold]{d.environment}[/]: {d.model}"
    if d.candidate_version is None:
        console().print(f"{where} [green]v{d.live_version} live[/] (100%)")
        return
    share = {"canary": f"{d.traffic}% of requests", "shadow": f"a {d.traffic}% copy of traffic"}
    console().print(
        f"{where} v{d.live_version} live, [yellow]v{d.candidate_version} {d.state}[/] "
        f"({share.get(d.state, 'no traffic until promoted')})\n"
        f"[dim]next: shipyard deploy promote --env {d.environment}  |  "
        f"shipyard rollback --env {d.environment}[/]"
    )


_DEPLOY_HELP = (
    "Deploy MODEL VERSION to an environment (deployer role; production needs it approved). "
    "VERSION is a number (3 or v3) or `latest`, the newest registered version.\n\n"
    "Strategies: replace (at once), canary (a share of requests, raised by promote), "
    "shadow (a copy of live traffic; its answers are only logged), "
    "bluegreen (staged; promote switches).\n\n"
    "Next: `shipyard deploy promote --env ENV` moves a rollout on; "
    "`shipyard rollback --env ENV` undoes it; `shipyard deployments ls` shows what serves where."
)


@deploy_app.command(_DEFAULT, cls=_DefaultCommand, hidden=True, help=_DEPLOY_HELP)
def deploy(
    model: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number (3 or v3), or latest."),
    env: str = ENV_OPT,
    strategy: str | None = typer.Option(
        None, "--strategy", "-s", help="replace|canary|shadow|bluegreen (default: the policy's)."
    ),
    percent: int | None = typer.Option(
        None, "--percent", "-p", help="The candidate's share of requests (canary, shadow)."
    ),
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Deploy MODEL VERSION to an environment (the help text is ``_DEPLOY_HELP``)."""
    svc = services()
    if version == "latest":  # what CI just registered and gated
        version = str(svc.registry.get_version(f"{model}@latest").version)
    done = svc.deployments.deploy(
        model,
        version,
        env,
        acting_user(svc, "deployer"),
        strategy=strategy,
        percent=percent,
        reason=reason,
    )
    _show(done, as_json)


@deploy_app.command("promote")
def promote(
    env: str = ENV_OPT,
    model: str | None = MODEL_OPT,
    percent: int | None = typer.Option(
        None, "--percent", "-p", help="Canary share to move to (default: the next policy step)."
    ),
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Move a rollout on: the next canary step; at 100% (or for shadow and bluegreen) the
    candidate becomes live."""
    svc = services()
    done = svc.deployments.promote(
        env, acting_user(svc, "deployer"), model=model, percent=percent, reason=reason
    )
    _show(done, as_json)


def rollback(
    env: str = ENV_OPT,
    model: str | None = MODEL_OPT,
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Drop the rolling-out candidate, else go back to the previous live version."""
    svc = services()
    _show(
        svc.deployments.rollback(env, acting_user(svc, "deployer"), model=model, reason=reason),
        as_json,
    )


def _traffic(d: Any) -> str:
    if d.candidate_version is None:
        return "100% live"
    if d.state == "shadow":
        return f"{d.traffic}% mirrored"
    if d.state == "staged":
        return "0% (staged)"
    return f"{d.traffic}% candidate"


@deployments_app.command("ls")
def ls(
    env: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    search: str = typer.Option(None, "--search", "-s", help="Only models whose name has this."),
    limit: int = limit_option(100, MAX_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """What serves each environment: live and candidate versions, strategy, traffic; a page
    at a time."""
    from shipyard.interfaces.presenters.deployments import deployment_json

    how = paging(limit, page, cursor)
    listed = check_page(
        services().deployments.page(
            env, text=search, cursor=how.cursor, limit=how.limit, offset=how.offset
        ),
        how,
        "deployments",
    )
    found = listed.items
    if as_json:
        print_json([deployment_json(d) for d in found])
        show_page(listed, how, "deployments", as_json)
        return
    table(
        "Deployments",
        ["env", "model", "live", "candidate", "strategy", "traffic", "state", "updated by/at"],
        [
            [
                d.environment,
                d.model,
                f"v{d.live_version}" if d.live_version else "-",
                f"v{d.candidate_version}" if d.candidate_version else "-",
                d.strategy.value,
                _traffic(d),
                d.state,
                f"{d.updated_by} {format_ms(d.update_time)}",
            ]
            for d in found
        ],
        wrap="updated by/at",
        fixed={"env": env},
    )
    show_page(listed, how, "deployments", as_json)


def _version(v: int | None) -> str:
    return "-" if v is None else f"v{v}"


@deployments_app.command("history")
def history(
    env: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many changes, newest first."),
    as_json: bool = JSON_OPT,
) -> None:
    """Deploys, promotions and rollbacks (automatic ones with their evidence), newest first."""
    from shipyard.interfaces.presenters.deployments import event_json

    events = services().deployments.history(env, model, limit)
    if as_json:
        print_json([event_json(e) for e in events])
        return
    table(
        "Deployment history",
        ["time", "env", "model", "action", "from", "to", "strategy", "traffic", "by", "reason"],
        [
            [
                format_ms(e.time),
                e.environment,
                e.model,
                e.action,
                _version(e.from_version),
                _version(e.to_version),
                e.strategy,
                f"{e.traffic}%",
                e.actor,
                clip(e.reason, 160),
            ]
            for e in events
        ],
        wrap="reason",
        fixed={"env": env, "model": model},
    )
