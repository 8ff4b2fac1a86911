"""NumPy arrays as Arrow IPC tensors: numeric and bool arrays, native byte order, C order.

Bools are written as uint8 (Arrow tensors hold numbers only): whoever stores one records that
it was a bool array and asks ``load_array(..., as_bool=True)`` for it back.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARRAY_KINDS", "dump_array", "load_array"]

ARRAY_KINDS = "biuf"  # NumPy dtype kinds: bool, signed and unsigned integers, floats


def dump_array(value: Any) -> bytes:
    """The tensor bytes of a numeric or bool ndarray; ValueError saying what to do otherwise."""
    import pyarrow as pa

    if value.dtype.kind not in ARRAY_KINDS:
        raise ValueError(
            "only numeric and bool arrays are stored; convert it to a pandas DataFrame or a list"
        )
    array = value.view("uint8") if value.dtype.kind == "b" else value
    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # native byte order
    array = array if array.flags.c_contiguous else array.copy(order="C")
    sink = pa.BufferOutputStream()
    pa.ipc.write_tensor(pa.Tensor.from_numpy(array), sink)
    return bytes(sink.getvalue().to_pybytes())


def load_array(data: bytes, *, as_bool: bool = False) -> Any:
    """The (writable) array stored in ``data``; ``as_bool`` views uint8 values as bools."""
    import pyarrow as pa

    array = pa.ipc.read_tensor(pa.py_buffer(data)).to_numpy().copy()
    return array.view(bool) if as_bool else array
