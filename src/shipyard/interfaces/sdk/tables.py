"""Tables the SDK's monitoring functions take: a DataFrame as is, a CSV/Parquet/JSON-lines
file read, or a dataset ref read through the data catalog."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError

if TYPE_CHECKING:
    from shipyard.services.ports import DatasetTables

__all__ = ["load_table"]


def load_table(source: Any, role: str, catalog: DatasetTables | None) -> Any:
    """A DataFrame as is; a path to a CSV/Parquet/JSON-lines file read; any other string a
    dataset ref (``name@v3``, ``name@alias``, ``name``) read from ``catalog``."""
    if not isinstance(source, (str, os.PathLike)):
        return source  # a DataFrame: checked by the estimator
    path = Path(source)
    if path.is_file():
        from shipyard.services.catalog.tabular import read_table_file

        return read_table_file(path)
    if isinstance(source, os.PathLike) or catalog is None:
        raise ValidationError(
            f"{role}: {str(source)!r} is not a file (and no data catalog to read it as a "
            "dataset ref); pass a DataFrame, a CSV/Parquet file or a dataset ref",
            field=role,
        )
    return catalog.load_frame(str(source))
