"""Search spaces for ``sy.sweep``: plain data, turned into Optuna distributions later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["Choice", "Float", "Int", "parse_space"]


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]


Dimension = Float | Int | Choice


def parse_space(space: Mapping[str, Any]) -> dict[str, Dimension]:
    """Accept dimensions, ``(low, high)`` tuples (int or float) and lists (choices)."""
    if not isinstance(space, Mapping) or not space:
        raise ValidationError("a sweep needs a non-empty dict of dimensions", field="space")
    out: dict[str, Dimension] = {}
    for name, dim in space.items():
        out[str(name)] = _dimension(str(name), dim)
    return out


def _dimension(name: str, dim: Any) -> Dimension:
    if isinstance(dim, Float | Int | Choice):
        dimension = dim
    elif isinstance(dim, tuple) and len(dim) == 2:
        low, high = dim
        is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in dim)
        dimension = Int(low, high) if is_int else Float(float(low), float(high))
    elif isinstance(dim, Sequence) and not isinstance(dim, str) and len(dim) > 0:
        dimension = Choice(tuple(dim))
    else:
        raise ValidationError(
            f"space[{name!r}] must be a (low, high) tuple, a list of choices, or "
            f"sy.uniform/sy.loguniform/sy.integer/sy.choice; got {dim!r}",
            field=f"space.{name}",
        )
    if isinstance(dimension, Float | Int) and not dimension.low < dimension.high:
        raise ValidationError(
            f"space[{name!r}]: low must be below high, got {dimension.low}..{dimension.high}",
            field=f"space.{name}",
        )
    if isinstance(dimension, Float | Int) and dimension.log and dimension.low <= 0:
        raise ValidationError(f"space[{name!r}]: a log scale needs low > 0", field=f"space.{name}")
    return dimension
