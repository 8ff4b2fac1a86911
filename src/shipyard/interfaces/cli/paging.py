"""How every CLI listing pages: ``--limit`` items per page, ``--page N`` (or ``--cursor`` from
the previous ``--json`` run), and a "showing N of M" line that says how to get the next page.

With ``--json`` the items stay a plain JSON list on stdout (scripts rely on it); the page's
figures and the next cursor go to stderr as one JSON object.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import typer

from shipyard.core.errors import ValidationError

__all__ = [
    "CURSOR_OPT",
    "PAGE_OPT",
    "Paging",
    "check_page",
    "limit_option",
    "paging",
    "show_page",
]

PAGE_OPT = typer.Option(1, "--page", "-p", help="Which page (1 = the first) of --limit items.")
CURSOR_OPT = typer.Option(
    None, "--cursor", help="Resume after the previous page (its next_cursor, from --json)."
)


def limit_option(default: int, most: int) -> Any:
    return typer.Option(default, "--limit", "-n", help=f"How many per page (1..{most}).")


@dataclass(frozen=True)
class Paging:
    limit: int
    page: int
    cursor: str | None

    @property
    def offset(self) -> int:
        return 0 if self.cursor else (self.page - 1) * self.limit


def paging(limit: int, page: int, cursor: str | None) -> Paging:
    """The options checked together: a page number and a cursor are two ways to the same
    place, so only one may be given."""
    if page < 1:
        raise ValidationError(f"--page must be 1 or more; got {page}", field="page")
    if cursor and page != 1:
        raise ValidationError("give --page or --cursor, not both", field="page")
    return Paging(limit, page, cursor or None)


def check_page(found: Any, how: Paging, noun: str) -> Any:
    """``found``, unless it is an empty page past the end: bad input naming the last page."""
    if not found.items and how.page > 1:
        last = max(1, -(-found.total // how.limit))
        raise ValidationError(
            f"--page {how.page} is past the end: {found.total} {noun} make {last} page(s) "
            f"of {how.limit}",
            field="page",
        )
    return found


def show_page(found: Any, how: Paging, noun: str, as_json: bool) -> None:
    """The "showing N of M" line (stderr JSON with ``--json``)."""
    shown, total = len(found.items), found.total
    first = how.offset + 1 if shown else 0
    figures = {
        "showing": shown,
        "total": total,
        "page": None if how.cursor else how.page,
        "limit": how.limit,
        "next_cursor": found.next_cursor,
    }
    if as_json:
        print(json.dumps(figures), file=sys.stderr)
        return
    where = "" if how.cursor else f" ({first}-{first + shown - 1})" if shown else ""
    line = f"showing {shown} of {total} {noun}{where}"
    if found.next_cursor:
        step = f"--cursor {found.next_cursor}" if how.cursor else f"--page {how.page + 1}"
        line += f"; next page: {step} --limit {how.limit}"
    typer.echo(line)
