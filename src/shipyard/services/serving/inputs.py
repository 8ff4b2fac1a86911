"""Request inputs checked against a model signature, turned into what the model predicts on.

Every value is checked in Python before NumPy sees it (NumPy would quietly turn ``"1.5"``
into 1.5 and ``None`` into NaN). A mismatch raises :class:`SignatureMismatchError` (HTTP 422)
naming the column, the row and the problem. All-numeric signatures give a float64 matrix in
signature order (the fast path); others a DataFrame with the signature's dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shipyard.core.errors import SignatureMismatchError
from shipyard.core.models import Signature

__all__ = ["InputSpec"]

# Types whose values pass without a closer look (a C-level scan: the hot path)
_FAST = {
    "f": frozenset({float, int}).__contains__,
    "i": frozenset({int}).__contains__,
    "b": frozenset({bool}).__contains__,
    "O": frozenset({str, int, float, bool}).__contains__,
}
_WORDS = {"f": "a number", "i": "an integer", "b": "true or false", "O": "a string"}


def _kind(dtype: str) -> str:
    if dtype.startswith(("float", "Float")):
        return "f"
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        return "i"
    if dtype in {"bool", "boolean"}:
        return "b"
    return "O"


def _ok(kind: str, v: Any) -> bool:
    t = type(v)
    if kind == "f":
        return t is float or t is int
    if kind == "i":
        return t is int or (t is float and v.is_integer())
    if kind == "b":
        return t is bool
    return t is str or t is int or t is float or t is bool


# Models and their ONNX twins often compute in float32: a larger value turns into inf there
# and makes the model fail, which would count against the version (a client's mistake).
_F32_MAX = 3.4028234663852886e38


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(v) and abs(v) <= _F32_MAX
    except (OverflowError, TypeError):  # an int beyond float64, or a non-number
        return type(v) is bool or isinstance(v, str)


def _problem(kind: str, v: Any) -> str:
    if v is None:
        return "null (a missing value) is not allowed"
    if isinstance(v, str) and v.strip().lower() in {"nan", "inf", "-inf", "infinity"}:
        return f"{v!r} is not allowed: send {_WORDS[kind]}"
    return f"expected {_WORDS[kind]}, got {type(v).__name__} {str(v)[:40]!r}"


@dataclass(frozen=True)
class InputSpec:
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    kinds: tuple[str, ...]

    @classmethod
    def of(cls, signature: Signature) -> InputSpec:
        names = tuple(c for c, _ in signature.inputs)
        dtypes = tuple(t for _, t in signature.inputs)
        return cls(names, dtypes, tuple(_kind(t) for t in dtypes))

    @cached_property
    def numeric(self) -> bool:  # read on every request: worked out once
        return all(k != "O" for k in self.kinds)

    # ------------------------------------------------------------ entry points
    def from_columns(self, given: Mapping[str, Sequence[Any]]) -> Any:
        """``{column: [values…]}`` (the V2 protocol's one tensor per column)."""
        self._same_columns(list(given))
        cols = [given[c] for c in self.columns]
        n = len(cols[0])
        for name, col in zip(self.columns, cols, strict=True):
            if len(col) != n:
                raise SignatureMismatchError(
                    f"column {name!r} has {len(col)} values, {self.columns[0]!r} has {n}",
                    field=name,
                )
        return self._build(cols, n)

    def from_rows(self, rows: Sequence[Any], columns: Sequence[str] | None = None) -> Any:
        """Rows of values, in ``columns`` order (default: the signature's)."""
        if columns is not None:
            self._same_columns(list(columns))
        order = list(columns) if columns is not None else list(self.columns)
        width = len(order)
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                raise SignatureMismatchError(
                    f"row {i} must be a list of {width} values ({', '.join(order)})",
                    field="data",
                )
        if not rows:
            self._empty()
        by_name = dict(zip(order, zip(*rows, strict=True), strict=True))
        return self._build([by_name[c] for c in self.columns], len(rows))

    def from_records(self, records: Sequence[Any]) -> Any:
        """``[{column: value, …}, …]``."""
        if not records:
            self._empty()
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise SignatureMismatchError(f"record {i} must be an object", field="data")
            if rec.keys() != set(self.columns):
                self._same_columns(list(rec), where=f"record {i}")
        cols = [[rec[c] for rec in records] for c in self.columns]
        return self._build(cols, len(records))

    # ------------------------------------------------------------ checks
    def _empty(self) -> None:
        raise SignatureMismatchError("the batch is empty: send at least one row", field="data")

    def _same_columns(self, names: list[str], where: str = "the input") -> None:
        if len(names) == len(self.columns) and set(names) == set(self.columns):
            return
        missing = [c for c in self.columns if c not in names]
        extra = [c for c in names if c not in self.columns]
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"unknown column(s) {', '.join(map(repr, extra))}")
        if not parts:
            parts.append("a column repeats")
        raise SignatureMismatchError(
            f"{where} does not match the model's signature: {'; '.join(parts)}",
            field=(missing or extra or ["columns"])[0],
        )

    def _not_finite(self, cols: Sequence[Sequence[Any]]) -> None:
        """Name the first NaN, infinite or out-of-range value: a client's mistake (422), never
        the model's (a model that fails on it would count against the version's figures)."""
        for name, col in zip(self.columns, cols, strict=True):
            for i, v in enumerate(col):
                if not _finite(v):
                    raise SignatureMismatchError(
                        f"column {name!r} row {i}: {v!r} is not allowed: send a finite number "
                        "within ±3.4e38",
                        field=name,
                    )

    def _build(self, cols: Sequence[Sequence[Any]], n: int) -> Any:
        if n == 0:
            self._empty()
        for name, kind, col in zip(self.columns, self.kinds, cols, strict=True):
            if all(map(_FAST[kind], map(type, col))):
                continue
            if not all(_ok(kind, v) for v in col):
                i, bad = next((i, v) for i, v in enumerate(col) if not _ok(kind, v))
                raise SignatureMismatchError(
                    f"column {name!r} row {i}: {_problem(kind, bad)}", field=name
                )
        import numpy as np

        if self.numeric:
            out = np.empty((n, len(cols)), dtype=np.float64)
            try:
                for j, col in enumerate(cols):
                    out[:, j] = col
            except OverflowError:
                self._not_finite(cols)
            if not np.abs(out).max() <= _F32_MAX:  # False for NaN too (binary tensors)
                self._not_finite(cols)
            return out
        for col, kind in zip(cols, self.kinds, strict=True):
            if kind == "f" and not all(map(_finite, col)):
                self._not_finite(cols)
        import pandas as pd

        frame = pd.DataFrame(dict(zip(self.columns, cols, strict=True)))
        try:
            return frame.astype(dict(zip(self.columns, self.dtypes, strict=True)))
        except (TypeError, ValueError, OverflowError) as e:
            raise SignatureMismatchError(
                f"inputs do not convert to the signature's dtypes: {e}", field="data"
            ) from None
