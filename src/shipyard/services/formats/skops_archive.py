"""scikit-learn estimators as skops archives: safe to load, and byte-for-byte reproducible."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import PurePosixPath
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["TRUSTED_MODULES", "dump_estimator", "load_estimator"]

TRUSTED_MODULES = frozenset({"sklearn", "numpy", "scipy", "skops", "collections"})
# From builtins, only plain data types: never functions such as eval or exec.
TRUSTED_BUILTINS = frozenset(
    {
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "int",
        "float",
        "complex",
        "str",
        "bytes",
        "bytearray",
        "bool",
        "slice",
        "NoneType",
        "type",
    }
)
_ID_FIELD = re.compile(r'"__id__": -?\d+')


def dump_estimator(value: Any) -> bytes:
    """The canonical skops bytes of ``value``; ValueError saying why when it cannot be."""
    import skops.io as sio

    try:
        raw = sio.dumps(value)
    except Exception as e:
        raise ValueError(f"skops cannot save it ({type(e).__name__}: {e})") from None
    untrusted = [t for t in sio.get_untrusted_types(data=raw) if not _trusted(t)]
    if untrusted:
        raise ValueError(
            f"its state holds types from outside scikit-learn ({', '.join(untrusted)})"
        )
    return _canonical_skops(raw)


def load_estimator(data: bytes, digest: str) -> Any:
    """Load an archive whose types are all trusted; refuse (ValidationError) otherwise."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if not _trusted(t)]
    if refused:
        message = f"refusing to load {digest}: it holds untrusted types {refused}"
        raise ValidationError(message, field="digest")
    return sio.loads(data, trusted=untrusted)


def _trusted(type_name: str) -> bool:
    """Classes of scikit-learn, NumPy and SciPy, plain builtin data types: never a function
    (``numpy.load``, a testing helper…) that loading would call."""
    module, _, name = type_name.partition(".")
    if module == "builtins":
        return name in TRUSTED_BUILTINS
    if module not in TRUSTED_MODULES:
        return False
    return isinstance(_resolve(type_name), type)


def _resolve(type_name: str) -> object:
    import importlib

    parts = type_name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def _canonical_skops(data: bytes) -> bytes:
    """The same skops archive, byte-for-byte reproducible across processes and machines.

    skops names members by ``id()`` (``bytes`` ones by uuid4), records every object's ``id()``
    as ``__id__``, stamps the time and lists set items in hash order. Here ids and members are
    renumbered in order of first appearance in schema.json (ids from 1: skops ignores an id of
    0), set items sorted, dates fixed and nothing compressed (zlib builds differ).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read("schema.json"))
        files: dict[str, str] = {}
        _renumber(schema, {}, files)
        members = [(new, _canonical_member(old, src.read(old))) for old, new in files.items()]
    return _zip([("schema.json", json.dumps(schema, indent=2).encode()), *members])


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> None:
    if isinstance(node, list):
        for item in node:
            _renumber(item, ids, files)
    if not isinstance(node, dict):
        return
    if node.get("__loader__") == "SetNode" and isinstance(node.get("content"), list):
        node["content"].sort(key=lambda item: _ID_FIELD.sub("", json.dumps(item, sort_keys=True)))
    for key, value in node.items():
        if key == "__id__" and type(value) is int:
            node[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str):
            node[key] = files.setdefault(value, f"{len(files)}{PurePosixPath(value).suffix}")
        else:
            _renumber(value, ids, files)


def _canonical_member(name: str, data: bytes) -> bytes:
    if not name.endswith(".npz"):  # SciPy sparse matrices: a zip again, with dates
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        return _zip([(info.filename, inner.read(info)) for info in inner.infolist()])


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system, info.external_attr = 3, 0o644 << 16  # the same on Windows
            out.writestr(info, data)
    return buffer.getvalue()
