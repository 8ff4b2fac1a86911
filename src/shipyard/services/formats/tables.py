"""Tables as canonical Parquet: write a frame, read it back, and the content id of its data.

The catalog stores dataset versions this way and the pipeline codec stores the frames steps
return. pandas and pyarrow are imported inside the functions: importers stay light.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.stores.blobs.digests import new_hasher

__all__ = ["EncodedTable", "encode_table", "frame_from_parquet", "read_parquet_bytes"]


@dataclass(frozen=True)
class EncodedTable:
    """A frame as stored: Parquet bytes, its schema, and its content id."""

    parquet: bytes
    schema: list[tuple[str, str]]
    content_id: str


class _HashingSink(io.RawIOBase):
    """A write-only file that only hashes what is written to it."""

    def __init__(self, algorithm: str) -> None:
        self.hasher = new_hasher(algorithm)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.hasher.update(data)
        return len(data)


def encode_table(df: Any, algorithm: str) -> EncodedTable:
    """Parquet bytes plus a content id that depends on the data only.

    The id hashes the Arrow IPC stream of the table with its schema metadata removed: the
    Parquet bytes also carry the writer's and pandas' versions, which must not make the
    same data a new version after an upgrade or on a colleague's machine.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise ValidationError(_mixed_column_message(df), field="source") from None
    # One spelling per logical type, whatever pandas produced (object columns become
    # large_string, masked ones string): diffs then show real type changes only.
    fields = [
        f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema
    ]
    table = table.cast(pa.schema(fields, metadata=table.schema.metadata)).combine_chunks()
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=True)
    sink = _HashingSink(algorithm)
    bare = table.replace_schema_metadata(None)
    with pa.ipc.new_stream(sink, bare.schema) as writer:
        writer.write_table(bare)
    schema = [(f.name, str(f.type)) for f in table.schema]
    return EncodedTable(buf.getvalue(), schema, f"{algorithm}:{sink.hasher.hexdigest()}")


def _mixed_column_message(df: Any) -> str:
    """Name the first column Arrow cannot store, and the Python types found in it."""
    import pyarrow as pa

    for name in df.columns:
        try:
            pa.array(df[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            kinds = sorted({type(v).__name__ for v in df[name].dropna().head(10_000)})
            return (
                f"column {name!r} mixes value types {kinds}; convert it to one type first, "
                f"e.g. df[{name!r}] = df[{name!r}].astype(str)"
            )
    return "the frame cannot be stored as Parquet; check its column types"


def read_parquet_bytes(data: bytes, columns: list[str] | None = None) -> Any:
    """The Arrow table of Parquet ``data`` held in memory, read by the file reader itself.

    Not ``pq.read_table``: it scans through pyarrow's dataset layer, whose read-ahead tasks
    on the IO pool can still hold the Python bytes when the interpreter exits; releasing
    them there needs the GIL and aborts the process ("terminate called without an active
    exception", exit -6) after a command has already finished.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(pa.BufferReader(data))
    missing = [c for c in columns or [] if c not in parquet.schema_arrow.names]
    if missing:  # the file reader would silently leave them out
        raise KeyError(f"no column(s) {missing}")
    return parquet.read(columns=columns)


def frame_from_parquet(
    data: bytes, where: str, columns: list[str] | None = None, rows: int | None = None
) -> Any:
    """The frame stored in Parquet ``data`` (``where`` names it in errors), optionally only
    some ``columns`` and the first ``rows``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if rows is None:
            return read_parquet_bytes(data, columns).to_pandas()
        parquet = pq.ParquetFile(pa.BufferReader(data))
        first = next(parquet.iter_batches(batch_size=max(1, rows), columns=columns), None)
        table = (
            pa.Table.from_batches([first])
            if first is not None
            else parquet.schema_arrow.empty_table()
        )
        return table.to_pandas().head(rows)
    except (KeyError, ValueError) as e:
        if columns:
            raise ValidationError(
                f"{where} has no column(s) {columns}: {e}", field="columns"
            ) from e
        raise ArtifactCorruptedError(f"the Parquet object of {where} is not readable") from e
