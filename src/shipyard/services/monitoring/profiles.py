"""Reference profiles of tables: compute them from a DataFrame or a dataset version, store
them in the content store, and find the one that belongs to a model version.

A profile is stored as canonical JSON in the content store (its digest names it). Which
profile belongs to which model version is a small JSON pointer under a deterministic key
of the same storage, ``monitoring/profiles/<model>/v<version>.json`` (``{"format": 1,
"profile": <digest>, "source": ..., "created": <ms>}``): no table or migration, and writing
it again for the same version replaces the pointer (the old profile stays addressable).
pandas is imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from shipyard.core.errors import ValidationError
from shipyard.core.profiles import (
    DEFAULT_BINS,
    DEFAULT_TOP_K,
    ColumnProfile,
    Profile,
    categorical_profile,
    numeric_profile,
)

__all__ = [
    "categorical_values",
    "check_frame",
    "column_kinds",
    "column_workers",
    "numeric_values",
    "profile_frame",
    "select_columns",
]

MAX_WORKERS = 4
_NUMERIC_INFERRED = {"integer", "floating", "mixed-integer-float", "decimal"}
_TEXT_INFERRED = {"string", "boolean", "empty", "bytes"}


def _kind(series: Any, name: str) -> str:
    """``numeric`` or ``categorical``; a column holding several kinds of values is refused."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        inferred = pd.api.types.infer_dtype(dtype.categories, skipna=True)
        return "numeric" if inferred in _NUMERIC_INFERRED else "categorical"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in _TEXT_INFERRED:
            return "categorical"
        if inferred in _NUMERIC_INFERRED:
            return "numeric"
        kinds = sorted({type(v).__name__ for v in series.dropna().head(100_000)})
        raise ValidationError(
            f"column {name!r} mixes types ({', '.join(kinds)}); drift compares one kind per "
            "column: convert it to numbers or to text first",
            field=name,
        )
    raise ValidationError(
        f"column {name!r} has type {dtype}, which drift does not compare; convert it to "
        "numbers or to text (or leave it out with columns=)",
        field=name,
    )


def column_kinds(df: Any, columns: Sequence[str]) -> dict[str, str]:
    """``numeric`` or ``categorical`` for each of ``columns`` of ``df``."""
    return {c: _kind(df[c], c) for c in columns}


def select_columns(available: Sequence[str], columns: Sequence[str] | None, what: str) -> list[str]:
    """``columns`` (all of ``available`` when None), each checked to be in ``available``."""
    if columns is None:
        return list(available)
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise ValidationError("columns must be a list of column names", field="columns")
    if not columns:
        raise ValidationError("columns is empty: name at least one column", field="columns")
    missing = [c for c in columns if c not in set(available)]
    if missing:
        raise ValidationError(f"columns missing from the {what}: {missing}", field="columns")
    return list(dict.fromkeys(columns))


def numeric_values(series: Any) -> np.ndarray:
    """A numeric column as float64, missing values as NaN."""
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))


def categorical_values(series: Any) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for missing) and the categories as text, of a categorical column."""
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes), [str(u) for u in uniques]


def column_workers(columns: int) -> int:
    """Threads for per-column work: one per core, at most ``MAX_WORKERS``."""
    return max(1, min(columns, os.cpu_count() or 1, MAX_WORKERS))


def _profile_column(series: Any, kind: str, bins: int, top_k: int) -> ColumnProfile:
    if kind == "numeric":
        return numeric_profile(numeric_values(series), bins=bins)
    codes, names = categorical_values(series)
    counts = np.bincount(codes + 1, minlength=len(names) + 1)
    by_name = dict(zip(names, counts[1:].tolist(), strict=True))
    return categorical_profile(by_name, int(counts[0]), top_k=top_k)


def profile_frame(
    df: Any,
    columns: Sequence[str] | None = None,
    *,
    source: str = "DataFrame",
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
) -> Profile:
    """The reference profile of ``df`` (of ``columns``, all by default), columns on
    parallel threads."""
    chosen = select_columns([str(c) for c in df.columns], columns, "reference")
    kinds = column_kinds(df, chosen)
    with ThreadPoolExecutor(max_workers=column_workers(len(chosen))) as pool:
        found = pool.map(lambda c: _profile_column(df[c], kinds[c], bins, top_k), chosen)
        profiled = dict(zip(chosen, found, strict=True))
    return Profile(rows=len(df), columns=profiled, source=source)


def check_frame(df: Any, what: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValidationError(
            f"{what} must be a pandas DataFrame, a stored profile or a dataset ref, "
            f"got {type(df).__name__}",
            field=what,
        )
