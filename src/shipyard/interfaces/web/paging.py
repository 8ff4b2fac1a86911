"""How every UI list pages: a keyset cursor in the query string, a "showing N-M of T" line,
and links to the first and the next page that keep the page's other parameters (search,
filters). Bad paging input is a 400 page naming the parameter, like any other filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from shipyard.core.errors import ValidationError

__all__ = ["Pager", "limit_of", "pager", "start_of"]


@dataclass(frozen=True)
class Pager:
    """What the ``pager`` macro draws."""

    shown: int
    total: int
    first: int  # the position of the first item shown (1-based; 0 when none)
    next_href: str | None
    first_href: str | None


def start_of(text: str) -> int:
    """The ``start`` parameter (where this page begins, for the "showing" line)."""
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValidationError(f"start must be a whole number, got {text!r}", field="start")
    return int(text)


def limit_of(text: str, default: int) -> int:
    """The ``limit`` parameter (items per page; its bounds are the service's)."""
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValidationError(
            f"limit must be a whole number, got {text!r}", field="limit"
        ) from None


def _href(request: Request, **changes: Any) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("cursor", "start")}
    params.update({k: v for k, v in changes.items() if v is not None})
    params = {k: v for k, v in params.items() if v != ""}
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def pager(request: Request, page: Any, start: int) -> Pager:
    """The pager of ``page`` (a services.paging.Page) shown from position ``start``."""
    shown = len(page.items)
    next_href = (
        _href(request, cursor=page.next_cursor, start=start + shown) if page.next_cursor else None
    )
    first_href = _href(request) if request.query_params.get("cursor") else None
    return Pager(shown, page.total, start + 1 if shown else 0, next_href, first_href)
