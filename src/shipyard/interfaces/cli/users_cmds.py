"""``shipyard users``: users and roles (an admin's job), API tokens (issue, list, revoke)."""

from __future__ import annotations

import json

import typer

from shipyard.core.clock import format_ms, now_ms
from shipyard.interfaces.cli.common import JSON_OPT, acting_user, console, print_json, services
from shipyard.interfaces.cli.common import table as _table

__all__ = ["users_app"]

users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option(
        "viewer", "--role", "-r", help="viewer|contributor|approver|deployer|admin"
    ),
) -> None:
    """Add a user with a role."""
    from shipyard.services.access import parse_role

    svc = services()
    admin = acting_user(svc, "admin")
    user = svc.access.grant(name, parse_role(role), by=admin)
    console().print(f"added user {user.name} with role {user.role.value}")


@users_app.command("token")
def users_token(
    name: str = typer.Argument(..., help="The user the token acts as (yourself, or any as admin)."),
    ttl_days: int = typer.Option(
        None, "--ttl-days", help="Expire after N days (1..3650) [default: never; revoke it]."
    ),
    label: str = typer.Option("default", "--name", help="A label to tell your tokens apart."),
) -> None:
    """Issue an API token for a user (printed once; only its hash is stored)."""
    from shipyard.services.access import check_ttl_days

    check_ttl_days(ttl_days)  # before looking anybody up: a bad option is the first thing said
    svc = services()
    by = acting_user(svc, "admin")
    print(svc.access.issue_token_as(name, by=by, ttl_days=ttl_days, name=label))


@users_app.command("tokens")
def users_tokens(
    name: str = typer.Argument(None, help="Whose tokens [default: yours (SHIPYARD_USER)]."),
    as_json: bool = JSON_OPT,
) -> None:
    """List a user's tokens: id, prefix, created, expires, last used, state (never the token).

    Your own tokens, or anybody's as an admin. Revoke one with `shipyard users revoke ID`.
    """
    svc = services()
    by = acting_user(svc, "viewer")
    tokens = svc.access.list_tokens(name or by.name, by=by)
    now = now_ms()
    if as_json:
        from shipyard.interfaces.presenters.tokens import token_json

        print_json([token_json(t, now) for t in tokens])
        return
    rows = [
        [
            t.token_id,
            (t.prefix + "…") if t.prefix else "",
            t.name,
            format_ms(t.creation_time),
            format_ms(t.expires_time) if t.expires_time else "never",
            format_ms(t.last_used_time) if t.last_used_time else "",
            t.state(now),
        ]
        for t in tokens
    ]
    columns = ["id", "prefix", "name", "created", "expires", "last used", "state"]
    _table(f"Tokens of {name or by.name}", columns, rows)
    console().print(f"showing {len(tokens)} of {len(tokens)}")


@users_app.command("revoke")
def users_revoke(
    token_id: int = typer.Argument(None, help="The id of the token (see `shipyard users tokens`)."),
    all_of: str = typer.Option(None, "--all", help="Revoke every live token of this user."),
    as_json: bool = JSON_OPT,
) -> None:
    """Revoke a token by id, or all of a user's tokens with --all USER (yours, or any as admin).

    A revoked token is refused at once by the API, the MLflow API and the web UI.
    """
    from shipyard.core.errors import ValidationError

    if (token_id is None) == (all_of is None):
        raise ValidationError(
            "give a TOKEN_ID or --all USER (one of them): e.g. `shipyard users revoke 3` or "
            "`shipyard users revoke --all alice`",
            field="token_id",
        )
    svc = services()
    by = acting_user(svc, "viewer")
    if all_of is not None:
        count = svc.access.revoke_all(all_of, by=by)
        if as_json:
            print(json.dumps({"user": all_of, "revoked": count}))
        else:
            console().print(f"revoked {count} token(s) of {all_of}")
        return
    token = svc.access.revoke_token(token_id, by=by)
    if as_json:
        from shipyard.interfaces.presenters.tokens import token_json

        print_json(token_json(token, now_ms()))
    else:
        console().print(
            f"revoked token {token.token_id} ({token.prefix or token.name}) of {token.user}"
        )


@users_app.command("ls")
def users_ls(as_json: bool = JSON_OPT) -> None:
    """List users and roles."""
    users = services().access.list_users()
    if as_json:
        print(json.dumps([{"name": u.name, "role": u.role.value} for u in users]))
        return
    _table(
        "Users",
        ["name", "role", "created"],
        [[u.name, u.role.value, format_ms(u.creation_time)] for u in users],
    )
