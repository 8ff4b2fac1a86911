"""Table datasets: read a source into a frame, normalize it, profile its columns.

Storing the frame as canonical Parquet is ``services.formats.tables``.

pandas and pyarrow are imported inside the functions: ``import shipyard`` stays light.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = [
    "TABLE_SUFFIXES",
    "is_table_file",
    "normalize_frame",
    "profile_frame",
    "read_sample",
    "read_table_file",
]

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
TABLE_SUFFIXES |= {".ndjson": "jsonl"}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_CATEGORIES = 10


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def read_table_file(path: Path) -> Any:
    """A DataFrame from CSV, Parquet or JSON lines; unreadable files name the problem."""
    fmt = TABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None or not path.is_file():
        raise ValidationError(
            f"{path.name} is not a table file: format='table' reads .csv, .parquet/.pq and "
            ".jsonl/.ndjson files (leave format='auto' to store anything else as files)",
            field="format",
        )
    try:
        return _read(path, fmt)
    except Exception as e:
        # A parser's message may quote file content: keep only the error's type, so that
        # personal data never reaches logs or responses.
        raise ValidationError(
            f"cannot read {path.name} as {fmt}: {type(e).__name__}; check that the file is "
            f"valid {fmt} (pass format='files' to store it as raw bytes)",
            field="source",
        ) from None


def read_sample(path: str | Path, rows: int = 1000) -> Any:
    """The first ``rows`` of a table file as text columns, or None if it does not parse."""
    fmt = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        return None
    try:
        return _read(Path(path), fmt, rows=rows, as_text=True)
    except Exception:  # a file that is not a table is stored as bytes anyway
        return None


def _read(path: Path, fmt: str, *, rows: int | None = None, as_text: bool = False) -> Any:
    """One reader per format; ``rows`` reads only the first rows, ``as_text`` keeps CSV and
    JSON values as written (a card number stays a string of digits)."""
    import pandas as pd

    if fmt == "csv":
        return pd.read_csv(path, nrows=rows, low_memory=False, dtype=str if as_text else None)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, nrows=rows, dtype=False if as_text else None)
    if rows is None:
        return pd.read_parquet(path)
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
    return pa.Table.from_batches([first]).to_pandas() if first is not None else None


def normalize_frame(df: Any) -> Any:
    """A copy with a default index (a meaningful index becomes columns) and str column names."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValidationError(
            f"expected a pandas DataFrame, got {type(df).__name__}", field="source"
        )
    if isinstance(df.columns, pd.MultiIndex):
        raise ValidationError(
            "columns with several levels (MultiIndex) are not supported; flatten them first",
            field="source",
        )
    out = df
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        out = df.reset_index()  # the index may hold data (even personal data): keep it visible
    names = [str(c) for c in out.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(f"duplicate column names: {dupes}", field="source")
    out = out.set_axis(names, axis=1)
    if out.shape[1] == 0 or out.shape[0] == 0:
        raise ValidationError(
            f"the frame is empty ({out.shape[0]} rows x {out.shape[1]} columns); "
            "a dataset version needs at least one row and one column",
            field="source",
        )
    return out.reset_index(drop=True)


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _column_profile(series: Any, dtype: str) -> dict[str, object]:
    import pandas as pd

    nulls = int(series.isna().sum())
    if series.dtype == object:  # lists and dicts cannot be counted: count their text
        series = series.map(lambda v: str(v) if isinstance(v, list | dict | set | tuple) else v)
    prof: dict[str, object] = {
        "type": dtype,
        "nulls": nulls,
        "distinct": int(series.nunique(dropna=True)),
    }
    non_null = series.dropna()
    is_bool = pd.api.types.is_bool_dtype(series)
    if pd.api.types.is_numeric_dtype(series) and not is_bool and len(non_null):
        values = non_null.astype("float64")
        prof.update(
            min=_num(values.min()),
            max=_num(values.max()),
            mean=_num(values.mean()),
            std=_num(values.std()) if len(values) > 1 else 0.0,
            quantiles={str(q): _num(values.quantile(q)) for q in QUANTILES},
        )
    elif pd.api.types.is_datetime64_any_dtype(series) and len(non_null):
        prof.update(min=str(non_null.min()), max=str(non_null.max()))
    if not pd.api.types.is_float_dtype(series) and len(non_null):
        counts = non_null.astype(str).value_counts().head(TOP_CATEGORIES)
        prof["top"] = [[str(k), int(v)] for k, v in counts.items()]
    return prof


def profile_frame(df: Any, schema: list[tuple[str, str]]) -> dict[str, object]:
    """Row count and per-column statistics (computed after PII policies were applied)."""
    types = dict(schema)
    return {
        "rows": len(df),
        "columns": {name: _column_profile(df[name], types.get(name, "?")) for name in df.columns},
    }
