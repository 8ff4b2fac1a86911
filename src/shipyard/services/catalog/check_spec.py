"""The declarative check spec of a table dataset: parsed and validated, no pandera here.

A spec is a plain mapping (from ``[data.<dataset>.checks]`` in TOML or from the SDK)::

    row_count = { min = 100, max = 1_000_000 }
    custom = ["mypkg.checks:no_future_dates"]   # function(df) -> bool or boolean Series
    strict = false                              # true: undeclared columns are an error
    [columns.code]           # every key optional
    type = "str"             # int, float, str, bool, datetime, category (dtype variants welcome)
    nullable = true          # default true
    required = true          # default true: the column must be present
    min = 0                  # ge; max = le (numbers, dates, datetimes)
    allowed = ["AB", "CD"]   # isin
    unique = false
    regex = "^[A-Z]{2}$"     # str_matches

``parse_checks`` turns it into a frozen ``CheckSpec``; a bad spec raises ``ValidationError``
naming the key path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from shipyard.core.errors import ValidationError

__all__ = [
    "COLUMN_TYPES",
    "Bound",
    "CheckSpec",
    "ColumnSpec",
    "RowCountSpec",
    "parse_checks",
    "type_name",
]

COLUMN_TYPES = ("int", "float", "str", "bool", "datetime", "category")
SPEC_KEYS = ("columns", "custom", "row_count", "strict")
COLUMN_KEYS = ("allowed", "max", "min", "nullable", "regex", "required", "type", "unique")
ROW_COUNT_KEYS = ("max", "min")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_CUSTOM_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
Bound = int | float | dt.date  # dt.datetime is a dt.date


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class RowCountSpec:
    """Bounds on the number of rows, both inclusive; at least one is set."""

    min: int | None = None
    max: int | None = None

    @property
    def check_name(self) -> str:
        bounds = [f"{k}={v}" for k, v in (("min", self.min), ("max", self.max)) if v is not None]
        return f"row_count({', '.join(bounds)})"

    def to_dict(self) -> dict[str, int]:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


@dataclass(frozen=True)
class ColumnSpec:
    """The checks declared for one column; ``None``/defaults mean "not checked"."""

    name: str
    type: str | None = None
    nullable: bool = True
    required: bool = True
    min: Bound | None = None
    max: Bound | None = None
    allowed: tuple[object, ...] | None = None
    unique: bool = False
    regex: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The spec form (only what differs from the defaults), accepted by ``parse_checks``."""
        out: dict[str, object] = {}
        for key in COLUMN_KEYS:
            value = getattr(self, key)
            if value != _COLUMN_DEFAULTS[key]:
                out[key] = list(value) if key == "allowed" else value
        return out

    def checks_evaluated(self, present: bool) -> int:
        """How many individual checks run on this column (presence, dtype, nulls, values)."""
        if not present:
            return 1 if self.required else 0
        values = (self.min, self.max, self.allowed, self.regex, self.type)
        return (
            int(self.required)
            + int(not self.nullable)
            + int(self.unique)
            + sum(v is not None for v in values)
        )


_COLUMN_DEFAULTS: dict[str, object] = {
    "type": None,
    "nullable": True,
    "required": True,
    "min": None,
    "max": None,
    "allowed": None,
    "unique": False,
    "regex": None,
}


@dataclass(frozen=True)
class CheckSpec:
    """A validated checks spec: column checks, row-count bounds, custom checks, strictness."""

    columns: tuple[ColumnSpec, ...] = ()
    row_count: RowCountSpec | None = None
    custom: tuple[str, ...] = ()
    strict: bool = False

    def to_dict(self) -> dict[str, object]:
        """The spec form; ``parse_checks(spec.to_dict()) == spec``."""
        out: dict[str, object] = {}
        if self.row_count is not None:
            out["row_count"] = self.row_count.to_dict()
        if self.custom:
            out["custom"] = list(self.custom)
        if self.strict:
            out["strict"] = True
        if self.columns:
            out["columns"] = {c.name: c.to_dict() for c in self.columns}
        return out

    def checks_evaluated(self, frame_columns: Collection[object]) -> int:
        """How many individual checks a frame with these columns is put through."""
        total = int(self.strict) + int(self.row_count is not None) + len(self.custom)
        return total + sum(c.checks_evaluated(c.name in frame_columns) for c in self.columns)


def _key_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if _BARE_KEY.match(key) else f'{parent}."{key}"'


def type_name(value: object) -> str:
    return type(value).__name__


def _require_mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{field} must be a table (mapping), got {type_name(value)}", field=field
        )
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(f"{field} keys must be strings, got {key!r}", field=field)
    return value


def _reject_unknown(spec: Mapping[str, object], allowed: tuple[str, ...], field: str) -> None:
    for key in spec:
        if key not in allowed:
            raise ValidationError(
                f"unknown key {key!r} in {field}; allowed: {', '.join(allowed)}",
                field=_key_path(field, key),
            )


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(
            f"{field} must be true or false, got {type_name(value)} {value!r}", field=field
        )
    return value


def _bound(value: object, field: str) -> Bound:
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date):
        raise ValidationError(
            f"{field} must be a number, date or datetime, got {type_name(value)} {value!r}",
            field=field,
        )
    if isinstance(value, float) and value != value:
        raise ValidationError(f"{field} must be a number, not NaN", field=field)
    return value


def _comparable(value: object) -> object:
    """A date as midnight of that day, so a date and a datetime bound can be compared."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _check_order(low: object, high: object, field: str) -> None:
    if low is None or high is None:
        return
    try:
        inverted = bool(_comparable(low) > _comparable(high))  # type: ignore[operator]
    except TypeError:
        raise ValidationError(
            f"{field}.min ({type_name(low)}) and {field}.max ({type_name(high)}) "
            "must be of comparable types",
            field=f"{field}.max",
        ) from None
    if inverted:
        raise ValidationError(f"{field}.min {low!r} is above max {high!r}", field=f"{field}.min")


def _parse_row_count(value: object, field: str) -> RowCountSpec:
    spec = _require_mapping(value, field)
    _reject_unknown(spec, ROW_COUNT_KEYS, field)
    if not spec:
        raise ValidationError(f"{field} needs min, max or both", field=field)
    bounds: dict[str, int] = {}
    for key, bound in spec.items():
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
            raise ValidationError(
                f"{field}.{key} must be a non-negative integer, got {type_name(bound)} {bound!r}",
                field=f"{field}.{key}",
            )
        bounds[key] = bound
    _check_order(bounds.get("min"), bounds.get("max"), field)
    return RowCountSpec(min=bounds.get("min"), max=bounds.get("max"))


def _parse_custom(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationError(
            f'{field} must be a list of "module:function" strings, got {type_name(value)}',
            field=field,
        )
    for i, ref in enumerate(value):
        if not isinstance(ref, str) or not _CUSTOM_REF.match(ref):
            raise ValidationError(
                f'{field}[{i}] must be an importable "module:function" string, got {ref!r}',
                field=f"{field}[{i}]",
            )
        if ref in value[:i]:
            raise ValidationError(f"{field}[{i}] repeats {ref!r}", field=f"{field}[{i}]")
    return tuple(value)


def _parse_allowed(value: object, field: str) -> tuple[object, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            f"{field} must be a non-empty list of values, got {type_name(value)} {value!r}",
            field=field,
        )
    for i, item in enumerate(value):
        if not isinstance(item, str | int | float | dt.date):  # bool is an int
            raise ValidationError(
                f"{field}[{i}] must be a string, number, boolean or date, got {type_name(item)}",
                field=f"{field}[{i}]",
            )
    return tuple(value)


def _parse_regex(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(
            f"{field} must be a regular expression string, got {type_name(value)}", field=field
        )
    try:
        re.compile(value)
    except re.error as e:
        raise ValidationError(
            f"{field} is not a valid regular expression: {e}", field=field
        ) from None
    return value


def _parse_type(value: object, field: str) -> str:
    if value not in COLUMN_TYPES:
        raise ValidationError(
            f"{field} must be one of {', '.join(COLUMN_TYPES)}; got {value!r}", field=field
        )
    return str(value)


_COLUMN_PARSERS: dict[str, Callable[[object, str], object]] = {
    "type": _parse_type,
    "nullable": _bool,
    "required": _bool,
    "unique": _bool,
    "min": _bound,
    "max": _bound,
    "allowed": _parse_allowed,
    "regex": _parse_regex,
}


def _check_type_fits(column: ColumnSpec, field: str) -> None:
    if column.type in ("str", "bool", "category"):
        for key in ("min", "max"):
            if getattr(column, key) is not None:
                raise ValidationError(
                    f"{field}.{key} needs a numeric or datetime column, but type is "
                    f"{column.type!r}",
                    field=f"{field}.{key}",
                )
    if column.regex is not None and column.type not in (None, "str"):
        raise ValidationError(
            f"{field}.regex needs a str column, but type is {column.type!r}", field=f"{field}.regex"
        )


def _parse_column(name: str, value: object, field: str) -> ColumnSpec:
    spec = _require_mapping(value, field)
    _reject_unknown(spec, COLUMN_KEYS, field)
    parsed = {key: _COLUMN_PARSERS[key](v, f"{field}.{key}") for key, v in spec.items()}
    column = ColumnSpec(name=name, **parsed)  # type: ignore[arg-type]
    _check_order(column.min, column.max, field)
    _check_type_fits(column, field)
    return column


def _parse_columns(value: object, field: str) -> tuple[ColumnSpec, ...]:
    spec = _require_mapping(value, field)
    columns = []
    for name, column in spec.items():
        if not name:
            raise ValidationError(f"{field} has an empty column name", field=field)
        columns.append(_parse_column(name, column, _key_path(field, name)))
    return tuple(columns)


def parse_checks(spec: Mapping[str, object], *, field: str = "checks") -> CheckSpec:
    """Validate a checks spec; a bad one raises ``ValidationError`` naming the key path."""
    spec = _require_mapping(spec, field)
    _reject_unknown(spec, SPEC_KEYS, field)
    row_count = spec.get("row_count")
    return CheckSpec(
        columns=_parse_columns(spec.get("columns", {}), f"{field}.columns"),
        row_count=None if row_count is None else _parse_row_count(row_count, f"{field}.row_count"),
        custom=_parse_custom(spec.get("custom", []), f"{field}.custom"),
        strict=_bool(spec.get("strict", False), f"{field}.strict"),
    )
