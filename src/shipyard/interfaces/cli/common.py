"""What every command group shares: the services, Rich output, ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

__all__ = [
    "JSON_OPT",
    "acting_user",
    "clip",
    "console",
    "print_json",
    "progress_bar",
    "require_project",
    "services",
    "table",
]

JSON_OPT = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def services() -> Any:
    """The object graph for the project of the current folder (or SHIPYARD_PROJECT_DIR)."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    return build_services(require_project(load_settings()))


def require_project(settings: Any) -> Any:
    """``settings``, unless no project was found and nothing else says where the metadata
    lives (a server URI or a database URL): then a NotFoundError saying how to make or find
    one, instead of quietly creating ``.shipyard/`` in the current folder."""
    import os

    from shipyard.core.errors import NotFoundError

    if settings.project_found or settings.is_remote or os.environ.get("SHIPYARD_DB_URL"):
        return settings
    raise NotFoundError(
        f"no Shipyard project in {settings.project_dir} or any folder above it (none holds "
        "shipyard.toml or .shipyard/); run `shipyard init` to make one here, cd into a "
        "project, or set SHIPYARD_PROJECT_DIR",
        field="project",
    )


def acting_user(svc: Any, role: str) -> Any:
    """The registered user a command acts as (SHIPYARD_USER, else the login name); ``role``
    is the one the command needs, named in the hint when the user is unknown."""
    from shipyard.core.errors import NotFoundError, PermissionDeniedError
    from shipyard.services.access import LOCAL_ADMIN

    name = svc.settings.actor
    if name == LOCAL_ADMIN:
        raise PermissionDeniedError(
            f"{LOCAL_ADMIN!r} is the server's identity for tokenless loopback requests, not "
            "somebody a command can act as; set SHIPYARD_USER to your own user"
        )
    try:
        return svc.access.get_user(name)
    except NotFoundError:
        raise PermissionDeniedError(
            f"{name!r} is not a Shipyard user; an admin adds {role}s with "
            f"`shipyard users add {name} --role {role}` (act as one with SHIPYARD_USER)"
        ) from None


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr)


def table(
    title: str,
    columns: list[str],
    rows: list[list[Any]],
    wrap: str | tuple[str, ...] = (),
    fixed: dict[str, Any] | None = None,
) -> None:
    """A Rich table; ``None`` cells print empty. Cells print as they are: a ``[`` in a name
    or a description is text, not Rich markup (``[/]`` would fail the command); pass a Rich
    ``Text`` for a styled cell. In a narrow terminal only the ``wrap`` column (free text)
    wraps and the others are cut with ``…``; a column named in ``fixed`` with a value (the
    user filtered on it) is left out. See ``tables.py``."""
    from shipyard.interfaces.cli.tables import print_table

    print_table(console(), title, columns, rows, wrap=wrap, fixed=fixed)


def clip(text: str, most: int) -> str:
    """``text``, or its first ``most - 1`` characters and ``…`` when it is longer."""
    return text if len(text) <= most else text[: most - 1] + "…"


def number(value: Any) -> Any:
    """A float (or a string holding one) with six significant digits, for tables; anything
    else unchanged. ``0.44312345678901234`` → ``0.443123``; ``3`` stays ``3``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and "." in value and len(value) > 8:
        try:
            return f"{float(value):.6g}"
        except ValueError:
            return value
    return value


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar fed by ``(advance, total)`` callbacks; silent when not a TTY."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
        console=console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(n: int, total: int) -> None:
            bar.update(task, advance=n, total=total)

        yield advance
