"""Deployments a page at a time: by environment and model (a keyset on both), a text that the
model name contains, the total, an opaque cursor to the next page; and environments a page at
a time (a keyset on the name), each with its counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.core.deployments import check_environment
from shipyard.core.errors import ValidationError
from shipyard.services.paging import Page, check_limit, check_offset, decode_cursor, encode_cursor
from shipyard.stores.ports import DeploymentStore
from shipyard.stores.sql.engine import Database

__all__ = ["MAX_ENV_PAGE", "page_deployments", "page_environments"]

MAX_ENV_PAGE = 200  # environments per page of the overview


def _after(cursor: str | None) -> tuple[str, str] | None:
    key = decode_cursor(cursor, "after", list)
    if key is None:
        return None
    if len(key) != 2 or not all(isinstance(k, str) for k in key):
        raise ValidationError(
            f"cursor {cursor!r} is not valid; pass the next_cursor of the previous page",
            field="cursor",
        )
    return key[0], key[1]


def page_deployments(
    db: Database,
    repo: DeploymentStore,
    env: str | None,
    *,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
    offset: int = 0,
    models: Sequence[str] | None = None,
) -> Page:
    """One page of deployments (of ``env``, or all; of ``models`` only, when given), with
    the total that match."""
    env = None if env is None else check_environment(env)
    after, limit, offset = _after(cursor), check_limit(limit), check_offset(offset)
    text = (text or "").strip() or None
    with db.read() as conn:
        found: list[Any] = repo.list(
            conn, env, text=text, after=after, limit=limit + 1, offset=offset, models=models
        )
        total = repo.count(conn, env, text=text, models=models)
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if found else None
    cursor_out = encode_cursor("after", [last.environment, last.model]) if more and last else None
    return Page(found, cursor_out, total)


def page_environments(
    db: Database,
    repo: DeploymentStore,
    *,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page:
    """One page of environments by name (``text``: a part of the name, any case), each an
    ``EnvironmentSummary``, with the total that match."""
    after, limit = decode_cursor(cursor, "env", str), check_limit(limit, MAX_ENV_PAGE)
    text = (text or "").strip() or None
    with db.read() as conn:
        found = repo.environment_page(conn, text=text, after=after, limit=limit + 1)
        total = repo.count_environments(conn, text=text)
    more = len(found) > limit
    found = found[:limit]
    return Page(found, encode_cursor("env", found[-1].name) if more and found else None, total)
