"""Run a check spec (see ``check_spec``) on a frame with pandera and report every failure.

``validate_frame`` translates a ``CheckSpec`` to a pandera ``DataFrameSchema``, validates
lazily and folds every failure case into a ``ValidationReport``. pandas and pandera are
imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shipyard.core.errors import ValidationError
from shipyard.services.catalog.check_spec import (
    COLUMN_TYPES,
    Bound,
    CheckSpec,
    ColumnSpec,
    RowCountSpec,
    parse_checks,
    type_name,
)

if TYPE_CHECKING:
    import pandas

__all__ = [
    "COLUMN_TYPES",
    "CheckFailure",
    "CheckSpec",
    "ColumnSpec",
    "RowCountSpec",
    "ValidationReport",
    "parse_checks",
    "validate_frame",
]

MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 100
ExampleKind = Literal["values", "index", "found"]
EXAMPLE_KINDS = ("values", "index", "found")


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class CheckFailure:
    """One failed check, with every failure case for it folded in.

    ``example_kind`` says what ``examples`` hold: ``"values"`` the offending values (up to
    five, as text), ``"index"`` the index labels of offending rows (dataframe-level checks,
    nulls, redacted columns), ``"found"`` what was found when the check is not about rows
    (the actual dtype, the row count, undeclared column names, the exception a check raised).
    """

    column: str | None
    check: str
    failure_count: int
    examples: tuple[str, ...]
    example_kind: ExampleKind = "values"

    def to_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "check": self.check,
            "failure_count": self.failure_count,
            "examples": list(self.examples),
            "example_kind": self.example_kind,
        }

    def summary_line(self) -> str:
        where = "dataset" if self.column is None else f"column '{self.column}'"
        head = f"{where}: check '{self.check}' failed"
        if self.example_kind == "found":
            return f"{head} (found: {', '.join(self.examples)})" if self.examples else head
        noun = "row" if self.failure_count == 1 else "rows"
        line = f"{head} for {self.failure_count} {noun}"
        if not self.examples:
            return line
        at = "at index " if self.example_kind == "index" else ""
        return f"{line}, e.g. {at}{', '.join(self.examples)}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of ``validate_frame``: ``checks_run`` checks on ``rows`` rows."""

    passed: bool
    checks_run: int
    failures: tuple[CheckFailure, ...]
    rows: int

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form; ``ValidationReport.from_dict(report.to_dict()) == report``."""
        return {
            "passed": self.passed,
            "checks_run": self.checks_run,
            "rows": self.rows,
            "failures": [f.to_dict() for f in self.failures],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ValidationReport:
        """Read back ``to_dict`` output (unknown keys, e.g. a stored spec, are ignored)."""
        try:
            failures = tuple(
                CheckFailure(
                    column=f["column"],
                    check=str(f["check"]),
                    failure_count=int(f["failure_count"]),
                    examples=tuple(str(e) for e in f["examples"]),
                    example_kind=_example_kind(f.get("example_kind", "values")),
                )
                for f in d["failures"]
            )
            return cls(bool(d["passed"]), int(d["checks_run"]), failures, int(d["rows"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValidationError(f"not a validation report: {e!r}", field="report") from None

    def summary_lines(self) -> list[str]:
        """A headline ("12 checks on 1000 rows: 2 failed"), then one line per failure."""
        noun = "check" if self.checks_run == 1 else "checks"
        head = f"{self.checks_run} {noun} on {self.rows} rows: "
        head += "all passed" if self.passed else f"{len(self.failures)} failed"
        return [head, *(f.summary_line() for f in self.failures)]


def _example_kind(value: object) -> ExampleKind:
    if value not in EXAMPLE_KINDS:
        raise ValueError(f"example_kind must be one of {', '.join(EXAMPLE_KINDS)}")
    return value  # type: ignore[return-value]


# --------------------------------------------------------------------------- pandera schema


def _dtype_check(kind: str) -> Callable[[pandas.Series], object]:
    """A tolerant dtype test: any integer dtype for "int" (incl. Int64), any float for "float",
    string dtype for "str" (object columns are checked value by value), and so on."""
    import pandas as pd
    from pandas.api import types as t

    tests: dict[str, Callable[[Any], bool]] = {
        "int": t.is_integer_dtype,
        "float": t.is_float_dtype,
        "bool": t.is_bool_dtype,
        "datetime": t.is_datetime64_any_dtype,
        "category": lambda d: isinstance(d, pd.CategoricalDtype),
        "str": t.is_string_dtype,
    }

    def check(series: pandas.Series) -> object:
        if kind == "str" and series.dtype == object:
            return series.map(lambda v: isinstance(v, str))  # nulls are skipped by pandera
        return bool(tests[kind](series.dtype))

    return check


def _bound_value(value: Bound) -> object:
    import pandas as pd

    return pd.Timestamp(value) if isinstance(value, dt.date) else value


def _column_schema(column: ColumnSpec) -> Any:
    import pandera.pandas as pa

    checks = []
    if column.type is not None:
        checks.append(pa.Check(_dtype_check(column.type), name=f"dtype({column.type})"))
    if column.min is not None:
        checks.append(pa.Check.ge(_bound_value(column.min)))
    if column.max is not None:
        checks.append(pa.Check.le(_bound_value(column.max)))
    if column.allowed is not None:
        checks.append(pa.Check.isin(list(column.allowed)))
    if column.regex is not None:
        checks.append(pa.Check.str_matches(column.regex))
    return pa.Column(
        None,
        checks=checks,
        nullable=column.nullable,
        unique=column.unique,
        required=column.required,
        name=column.name,
    )


def _import_custom(ref: str, field: str) -> Callable[[Any], object]:
    module_name, _, attr_path = ref.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            target = getattr(target, attr)
    except Exception as e:
        raise ValidationError(
            f"custom check {ref!r} cannot be imported: {type(e).__name__}: {e}", field=field
        ) from e
    if not callable(target):
        raise ValidationError(f"custom check {ref!r} is not callable", field=field)
    return target  # type: ignore[no-any-return]


def _custom_check(ref: str, fn: Callable[[Any], object]) -> Any:
    """A dataframe-level pandera check; an exception it raises becomes a failure case."""
    import numpy as np
    import pandas as pd
    import pandera.pandas as pa

    def run(df: pandas.DataFrame) -> object:
        result = fn(df)
        if isinstance(result, bool | np.bool_):
            return bool(result)
        if isinstance(result, pd.Series) and pd.api.types.is_bool_dtype(result.dtype):
            return result
        raise TypeError(f"returned {type_name(result)}, expected bool or a boolean Series")

    return pa.Check(run, name=f"custom({ref})")


def _frame_schema(spec: CheckSpec, custom: Mapping[str, Callable[[Any], object]]) -> Any:
    import pandera.pandas as pa

    checks = [_custom_check(ref, custom[ref]) for ref in spec.custom]
    if spec.row_count is not None:
        low, high = spec.row_count.min, spec.row_count.max

        def rows_ok(df: pandas.DataFrame) -> bool:
            return (low is None or len(df) >= low) and (high is None or len(df) <= high)

        checks.insert(0, pa.Check(rows_ok, name=spec.row_count.check_name))
    return pa.DataFrameSchema(
        {c.name: _column_schema(c) for c in spec.columns},
        checks=checks,
        strict=spec.strict,
        coerce=False,
    )


# --------------------------------------------------------------------------- failure cases


def _is_missing(value: object) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes
        return False


def _is_false(value: object) -> bool:
    """A check that returned plain False (as opposed to a failure case worth showing)."""
    import numpy as np

    return isinstance(value, bool | np.bool_) and not value


def _as_text(value: object, *, quote: bool) -> str:
    try:
        text = repr(value) if quote and isinstance(value, str) else str(value)
    except Exception:  # a value whose __str__ raises must not break the report
        text = f"<{type_name(value)}>"
    if len(text) > MAX_EXAMPLE_CHARS:
        text = text[: MAX_EXAMPLE_CHARS - 3] + "..."
    return text


def _first_distinct(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))[:MAX_EXAMPLES]


def _group_cases(records: list[dict[str, Any]]) -> dict[tuple[str | None, str], list[dict]]:
    """Failure cases by (column, check); frame-level cases carry no column, and a missing
    column is filed under its own name."""
    groups: dict[tuple[str | None, str], list[dict]] = {}
    for case in records:
        check = str(case["check"])
        if check == "column_in_dataframe":
            column: str | None = str(case["failure_case"])
        elif case["schema_context"] == "DataFrameSchema" or _is_missing(case["column"]):
            column = None
        else:
            column = str(case["column"])
        groups.setdefault((column, check), []).append(case)
    return groups


def _failure(
    key: tuple[str | None, str], cases: list[dict], found: Mapping[tuple, str], redact: Collection
) -> CheckFailure:
    column, check = key
    indexed = [c for c in cases if not _is_missing(c["index"])]
    if not indexed:  # not about rows: a dtype, a count, a missing column, an exception
        if check == "column_in_dataframe":
            return CheckFailure(column, check, 1, (), "found")
        raised = [c["failure_case"] for c in cases if not _is_false(c["failure_case"])]
        seen = [_as_text(v, quote=False) for v in raised] or ([found[key]] if key in found else [])
        return CheckFailure(column, check, len(cases), _first_distinct(seen), "found")
    labels = _first_distinct([_as_text(c["index"], quote=False) for c in indexed])
    if column is None:
        count = len({_as_text(c["index"], quote=False) for c in indexed})
        return CheckFailure(column, check, count, labels, "index")
    if check == "not_nullable" or column in redact:
        return CheckFailure(column, check, len(indexed), labels, "index")
    values = _first_distinct([_as_text(c["failure_case"], quote=True) for c in indexed])
    return CheckFailure(column, check, len(indexed), values, "values")


_RANK = (
    *("column_in_schema", "row_count(", "custom("),  # the dataset
    *("column_in_dataframe", "dtype(", "not_nullable", "field_uniqueness"),  # then each column
)


def _order(spec: CheckSpec) -> Callable[[CheckFailure], tuple[int, int]]:
    """Dataset first, then columns as declared; structure before values within each."""
    position = {c.name: i + 1 for i, c in enumerate(spec.columns)}

    def key(f: CheckFailure) -> tuple[int, int]:
        where = 0 if f.column is None else position.get(f.column, len(position) + 1)
        rank = [i for i, prefix in enumerate(_RANK) if f.check.startswith(prefix)]
        return where, rank[0] if rank else len(_RANK)

    return key


def _found_values(df: pandas.DataFrame, spec: CheckSpec) -> dict[tuple[str | None, str], str]:
    """What to show for a check that returned plain False: the actual dtype or row count."""
    found: dict[tuple[str | None, str], str] = {}
    if spec.row_count is not None:
        found[(None, spec.row_count.check_name)] = str(len(df))
    for c in spec.columns:
        if c.type is not None and c.name in df.columns:
            found[(c.name, f"dtype({c.type})")] = str(df[c.name].dtype)
    return found


# --------------------------------------------------------------------------- entry point


def validate_frame(
    df: pandas.DataFrame,
    spec: CheckSpec | Mapping[str, object],
    *,
    redact: Collection[str] = (),
) -> ValidationReport:
    """Run every check of ``spec`` on ``df`` (pandera, lazy) and report all failures.

    ``redact`` names columns whose values must never be copied into the report (e.g. PII):
    their failures list index labels instead of values. A custom check that cannot be
    imported raises ``ValidationError``; one that raises while running is a failure.
    """
    import pandas as pd
    import pandera.pandas as pa

    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type_name(df)}", field="df")
    checks = spec if isinstance(spec, CheckSpec) else parse_checks(spec)
    custom = {r: _import_custom(r, f"checks.custom[{i}]") for i, r in enumerate(checks.custom)}
    checks_run = checks.checks_evaluated(set(df.columns))
    try:
        _frame_schema(checks, custom).validate(df, lazy=True)
    except pa.errors.SchemaErrors as e:
        records = e.failure_cases.to_dict("records")
    else:
        return ValidationReport(True, checks_run, (), len(df))
    found = _found_values(df, checks)
    failures = [_failure(k, v, found, redact) for k, v in _group_cases(records).items()]
    failures.sort(key=_order(checks))
    return ValidationReport(not failures, checks_run, tuple(failures), len(df))
