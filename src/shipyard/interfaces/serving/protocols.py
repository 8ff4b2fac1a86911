"""Request bodies of the two inference protocols, decoded into model inputs; answers encoded.

- Open Inference Protocol (KServe V2): one tensor per signature column (shape ``[n]`` or
  ``[n, 1]``), or a single ``[n, k]`` tensor with the columns in signature order.
- MLflow scoring: ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``.
"""

from __future__ import annotations

from typing import Any

from shipyard.core.errors import SignatureMismatchError, ValidationError
from shipyard.services.serving.inputs import InputSpec

__all__ = ["NUMPY_TYPES", "decode_mlflow", "decode_v2", "parameters", "v2_datatype"]

_NUMERIC = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
_FLOATS = {"FP16", "FP32", "FP64", "BF16"}
_ACCEPTS = {"f": _NUMERIC | _FLOATS, "i": _NUMERIC, "b": {"BOOL"}, "O": {"BYTES"}}
_V2_TYPES = _NUMERIC | _FLOATS | {"BOOL", "BYTES"}
_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# The binary tensor extension (Triton's clients use it by default): little-endian, row-major.
NUMPY_TYPES = {
    "BOOL": "?", "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8",
    "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
    "FP16": "<f2", "FP32": "<f4", "FP64": "<f8",
}  # fmt: skip


def v2_datatype(dtype: str) -> str:
    return {
        "bool": "BOOL",
        "float64": "FP64",
        "float32": "FP32",
        "int64": "INT64",
        "int32": "INT32",
        "uint8": "UINT8",
    }.get(dtype, "BYTES")


def parameters(owner: dict[str, Any], where: str) -> dict[str, Any]:
    """``owner["parameters"]``: absent or an object (the protocol's parameters are a map)."""
    found = owner.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise ValidationError(
            f"{where}.parameters must be an object, got {type(found).__name__}",
            field=f"{where}.parameters",
        )
    return found


def _flat(data: list[Any]) -> list[Any]:
    while data and isinstance(data[0], list):
        data = [v for row in data for v in row]
    return data


def _binary(datatype: str, blob: memoryview, name: str) -> list[Any]:
    import numpy as np

    if datatype == "BYTES":
        out, at = [], 0
        while at < len(blob):
            size = int.from_bytes(blob[at : at + 4], "little")
            out.append(bytes(blob[at + 4 : at + 4 + size]).decode("utf-8", "replace"))
            at += 4 + size
        return out
    if datatype not in NUMPY_TYPES:  # BF16 has no NumPy dtype
        raise ValidationError(
            f"binary data of {name!r} is {datatype}, which this server does not decode; "
            "send FP32 or FP64",
            field=name,
        )
    dtype = np.dtype(NUMPY_TYPES[datatype])
    if len(blob) % dtype.itemsize:
        raise ValidationError(
            f"binary data of {name!r} is not a whole number of {datatype}", field=name
        )
    return np.frombuffer(blob, dtype=dtype).tolist()


def _tensor(t: Any, i: int, binary: _Cursor) -> tuple[str, list[int], str, list[Any]]:
    if type(t) is dict and "parameters" not in t:  # the common case, checked quickly
        name, shape, datatype, data = (
            t.get("name"),
            t.get("shape"),
            t.get("datatype"),
            t.get("data"),
        )
        if (
            type(name) is str
            and name
            and type(shape) is list
            and len(shape) == 1
            and type(data) is list
            and type(shape[0]) is int
            and len(data) == shape[0]
            and datatype in _V2_TYPES
            and (not data or type(data[0]) is not list)
        ):
            return name, shape, datatype, data
    return _tensor_checked(t, i, binary)


def _tensor_checked(t: Any, i: int, binary: _Cursor) -> tuple[str, list[int], str, list[Any]]:
    where = f"inputs[{i}]"
    if not isinstance(t, dict):
        raise ValidationError(f"{where} must be a tensor object", field=where)
    name, shape, datatype, data = (t.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{where}.name must be a non-empty string", field=where)
    if not (
        isinstance(shape, list)
        and shape
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise ValidationError(f"{where}.shape must be a list of sizes like [2, 4]", field=name)
    if datatype not in _V2_TYPES:
        raise ValidationError(
            f"{where}.datatype {datatype!r} is not a V2 datatype ({', '.join(sorted(_V2_TYPES))})",
            field=name,
        )
    size_given = parameters(t, where).get("binary_data_size")
    if size_given is not None:
        flat = _binary(datatype, binary.take(size_given, name), name)
    elif not isinstance(data, list):
        raise ValidationError(f"{where}.data must be a list", field=name)
    else:
        flat = _flat(data)
    size = 1
    for s in shape:
        size *= s
    if len(flat) != size:
        raise ValidationError(
            f"{where} ({name}): shape {shape} needs {size} values, data has {len(flat)}",
            field=name,
        )
    return name, shape, datatype, flat


class _Cursor:
    """The binary part of a request, handed out tensor by tensor in input order."""

    def __init__(self, blob: bytes) -> None:
        self.blob = memoryview(blob)
        self.at = 0

    def take(self, size: object, name: str) -> memoryview:
        if not isinstance(size, int) or size < 0 or self.at + size > len(self.blob):
            raise ValidationError(
                f"binary_data_size of {name!r} ({size!r}) does not fit the request body",
                field=name,
            )
        part = self.blob[self.at : self.at + size]
        self.at += size
        return part


def decode_v2(payload: Any, spec: InputSpec, binary: bytes = b"") -> Any:
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise ValidationError(
            "an inference request is {'inputs': [{'name', 'shape', 'datatype', 'data'}, ...]}",
            field="inputs",
        )
    parameters(payload, "request")
    cursor = _Cursor(binary)
    tensors = [_tensor(t, i, cursor) for i, t in enumerate(payload["inputs"])]
    if not tensors:
        raise SignatureMismatchError("inputs is empty: send at least one tensor", field="inputs")
    if len(tensors) == 1 and tensors[0][0] not in spec.columns:
        name, shape, _, flat = tensors[0]
        width = len(spec.columns)
        if len(shape) != 2 or shape[1] != width:
            raise SignatureMismatchError(
                f"tensor {name!r} must be one input per column ({', '.join(spec.columns)}) or "
                f"one [n, {width}] tensor with the columns in that order; got shape {shape}",
                field=name,
            )
        return spec.from_rows([flat[i : i + width] for i in range(0, len(flat), width)])
    columns: dict[str, list[Any]] = {}
    kinds = dict(zip(spec.columns, spec.kinds, strict=True))
    for name, shape, datatype, flat in tensors:
        if name in columns:
            raise ValidationError(f"input {name!r} appears twice", field=name)
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise SignatureMismatchError(
                f"input {name!r} is one column: shape [n] or [n, 1], got {shape}", field=name
            )
        kind = kinds.get(name)
        if kind is not None and datatype not in _ACCEPTS[kind]:
            raise SignatureMismatchError(
                f"input {name!r} has datatype {datatype}; the signature's column is "
                f"{spec.dtypes[spec.columns.index(name)]}",
                field=name,
            )
        columns[name] = flat
    return spec.from_columns(columns)


def decode_mlflow(payload: Any, spec: InputSpec) -> Any:
    if not isinstance(payload, dict):
        raise ValidationError(f"the body must be a JSON object with one of {_MLFLOW_KEYS}")
    given = [k for k in _MLFLOW_KEYS if k in payload]
    if len(given) != 1:
        raise ValidationError(
            f"the body needs exactly one of {', '.join(_MLFLOW_KEYS)}; got "
            f"{', '.join(sorted(payload)) or 'none'}",
            field="body",
        )
    key = given[0]
    value = payload[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise ValidationError(
                "dataframe_split is {'columns': [...], 'data': [[...], ...]}", field=key
            )
        columns = value.get("columns")
        if columns is not None and not (
            isinstance(columns, list) and all(isinstance(c, str) for c in columns)
        ):
            raise ValidationError("dataframe_split.columns must be a list of names", field=key)
        return spec.from_rows(value["data"], columns)
    if key == "inputs" and isinstance(value, dict):
        if not all(isinstance(v, list) for v in value.values()):
            raise ValidationError("inputs as an object maps each column to a list", field=key)
        return spec.from_columns(value)
    if not isinstance(value, list):
        raise ValidationError(f"{key} must be a list", field=key)
    if value and isinstance(value[0], dict):
        return spec.from_records(value)
    return spec.from_rows(value)
