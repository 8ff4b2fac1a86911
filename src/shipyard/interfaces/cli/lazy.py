"""Command groups whose subcommands are imported when they are run, not at every start.

``shipyard models ls`` then imports the models commands only, instead of every command
module and the Typer conversion of all of them; ``--help`` and completion still list every
subcommand (they import them all).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
import typer.main
from typer.core import DEFAULT_MARKUP_MODE, TyperGroup
from typer.models import CommandInfo

__all__ = ["LazyGroup", "lazy_group"]


class LazyGroup(TyperGroup):
    """A Typer group that also holds ``lazy`` subcommands: name → ``"module:attribute"``,
    a ``typer.Typer`` (a command group) or a function (a command), loaded on first use."""

    lazy: Mapping[str, str] = {}
    order: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(dict(self.commands), self.lazy, self.order)


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name (in ``order``, then the rest); a lazy one is loaded when
    it is first looked up, so listing the names (help, "did you mean") loads none."""

    def __init__(self, loaded: dict[str, Any], lazy: Mapping[str, str], order: tuple[str, ...]):
        self.loaded = loaded
        self.lazy = lazy
        self.order = order

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            if name not in self.lazy:
                raise KeyError(name)
            self.loaded[name] = _load(name, self.lazy[name])
        return self.loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.order, *self.loaded, *self.lazy]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self.order, *self.loaded, *self.lazy]))

    def __contains__(self, name: object) -> bool:
        return name in self.loaded or name in self.lazy


def lazy_group(commands: Mapping[str, str | None], package: str) -> type[LazyGroup]:
    """The group class of an app whose ``commands`` (in the order its help lists them)
    are ``"module:attribute"`` under ``package``, or ``None`` for one the app defines."""
    where = {name: f"{package}.{spec}" for name, spec in commands.items() if spec is not None}
    return type("LazyGroup", (LazyGroup,), {"lazy": where, "order": tuple(commands)})


def _load(name: str, spec: str) -> Any:
    module, _, attribute = spec.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        return group
    return typer.main.get_command_from_info(
        CommandInfo(name=name, callback=found),
        pretty_exceptions_short=True,
        rich_markup_mode=DEFAULT_MARKUP_MODE,
    )
