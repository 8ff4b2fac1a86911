"""Store what a pipeline step returns in the content store, in a safe format, and load it back.

``Stored.format``: ``json`` (None, bool, int, float incl. NaN/inf, str, NumPy scalars, and
lists, tuples and str-keyed dicts of these; tuples load as lists), ``parquet`` (a DataFrame),
``series``, ``arrow-tensor`` (a numeric or bool ndarray; bools as uint8), ``skops`` (a
scikit-learn estimator, its zip made reproducible), ``bundle`` (a tuple, list or str-keyed dict
holding a non-JSON value: a JSON manifest of its items, each stored on its own) and ``pickle``
(anything else, only for steps that opted in with ``allow_pickle=True``).

Frames: column labels are stored as strings; an index other than the default ``RangeIndex``
becomes leading columns ``__index_level_<i>__`` (``...__:<name>`` when named) that loading
sets back as the index (its ``freq`` is lost), so column names of that form are refused. A
Series is a one-column frame whose column carries its name (``__series__`` for None,
``__series__:<json>`` for numbers, ``str()`` of other non-str names). Empty frames are fine.

``content_id`` identifies the value, not its bytes: the same value gets the same id in any
process, on any machine. It is the stored bytes' digest, except for frames (``encode_table``'s
id), Series and bool arrays (that id tagged with the type: never a one-column frame's or a
uint8 array's) and bundles (a digest of the kind and the items' content ids).

Workers import this module, so pandas, NumPy, pyarrow, skops and scikit-learn are imported
inside the functions that need them (the formats in ``services.formats`` do the same).
"""

from __future__ import annotations

import json
import pickle
import re
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import (
    ArtifactCorruptedError,
    UnserializableOutputError,
    ValidationError,
)
from shipyard.services.formats.skops_archive import dump_estimator, load_estimator
from shipyard.services.formats.tables import encode_table, frame_from_parquet
from shipyard.services.formats.tensors import dump_array, load_array
from shipyard.stores.blobs.digests import digest_bytes, parse_digest

if TYPE_CHECKING:
    from shipyard.stores.blobs import ContentStore

__all__ = ["FORMATS", "Stored", "UnserializableOutputError", "decode_value", "encode_value"]
__all__ += ["is_complete", "literal_content_id", "make_bundle"]

FORMATS = ("json", "parquet", "series", "arrow-tensor", "skops", "pickle", "bundle")
MAX_DEPTH = 100
_FIELDS = ("format", "digest", "content_id", "size", "type_name", "summary")
_VALID = {
    "format": lambda v: isinstance(v, str) and v in FORMATS,
    "size": lambda v: type(v) is int and v >= 0,
    "type_name": lambda v: isinstance(v, str),
    "summary": lambda v: isinstance(v, str),
}
_INDEX_COLUMN = re.compile(r"__index_level_(\d+)__(?::(.*))?", re.DOTALL)
_SERIES, _BOOL_ARRAY = "__series__", "numpy.ndarray[bool]"
_PUBLIC = {"pandas.core.frame.DataFrame": "pandas.DataFrame"}
_PUBLIC["pandas.core.series.Series"] = "pandas.Series"
_ADVICE = (
    "return a pandas DataFrame or Series, a NumPy array, a JSON value (str, int, float, bool, "
    "None, list, dict), a scikit-learn estimator, or a tuple/list/dict of these"
)
_NOT_JSON = object()


@dataclass(frozen=True)
class Stored:
    """A stored value: where its bytes are, how they are encoded, and what it is."""

    format: str
    digest: str
    content_id: str
    size: int
    type_name: str
    summary: str

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: object) -> Stored:
        """Rebuild from ``to_dict()``; ``ValidationError`` naming the key for malformed input."""
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise ValidationError(f"a stored value is an object, not {kind}", field="stored")
        for key in _FIELDS:
            if key not in data:
                raise ValidationError(f"the stored value has no {key!r}", field=key)
            if key in ("digest", "content_id"):
                try:
                    parse_digest(data[key])
                except ValidationError as e:
                    raise ValidationError(f"stored {key}: {e.message}", field=key) from None
            elif not _VALID[key](data[key]):
                formats = f"; expected one of {', '.join(FORMATS)}" if key == "format" else ""
                raise ValidationError(f"invalid stored {key} {data[key]!r}{formats}", field=key)
        return cls(**{key: data[key] for key in _FIELDS})


class _Refused(Exception):
    """A safe format cannot take the value; the message says why (empty: none fits)."""


def encode_value(
    value: object, store: ContentStore, *, owner: str, allow_pickle: bool = False
) -> Stored:
    """Store ``value``; ``UnserializableOutputError`` naming ``owner`` if no format fits."""
    return _Encoder(store, owner, allow_pickle, value).encode(value, "", 0)


def literal_content_id(value: object, algorithm: str) -> str | None:
    """The content id ``encode_value`` gives a JSON value, without storing it; else None."""
    data = _canonical_json(value)
    return None if data is None else digest_bytes(algorithm, data)


class _Encoder:
    """One ``encode_value`` call: tries the safe formats, then pickle when allowed."""

    def __init__(self, store: ContentStore, owner: str, allow_pickle: bool, root: Any) -> None:
        self.store, self.owner, self.allow_pickle, self.root = store, owner, allow_pickle, root
        self.algorithm = store.algorithm

    def encode(self, value: Any, at: str, depth: int) -> Stored:
        """Store ``value``, found at ``at`` (e.g. ``"[1]['model']"``) inside the root value."""
        try:
            return self._safe(value, at, depth)
        except _Refused as refused:
            if not self.allow_pickle:
                raise self._error(value, at, str(refused)) from None
        try:
            data = pickle.dumps(value, protocol=5)
        except Exception as e:
            raise self._error(value, at, f"pickle fails too ({type(e).__name__}: {e})") from None
        return self._put("pickle", data, value, f"{type(value).__name__} (pickled)")

    def _safe(self, value: Any, at: str, depth: int) -> Stored:
        data = _canonical_json(value)
        if data is not None:
            return self._put("json", data, value, _json_summary(value))
        if depth >= MAX_DEPTH:
            raise _Refused(f"it is nested more than {MAX_DEPTH} levels deep (or contains itself)")
        pd, np = sys.modules.get("pandas"), sys.modules.get("numpy")
        if pd is not None and isinstance(value, pd.DataFrame | pd.Series):
            return self._frame(value, series=isinstance(value, pd.Series))
        if np is not None and type(value) is np.ndarray:
            return self._array(value)
        if "sklearn" in sys.modules:
            from sklearn.base import BaseEstimator

            if isinstance(value, BaseEstimator):
                return self._estimator(value)
        if isinstance(value, tuple | list | dict):
            return self._bundle(value, at, depth)
        raise _Refused()

    def _put(self, fmt: str, data: bytes, value: Any, summary: str, cid: str = "") -> Stored:
        digest = self.store.put_bytes(data)
        summary = summary if len(summary) <= 80 else summary[:79] + "…"
        return Stored(fmt, digest, cid or digest, len(data), _type_name(type(value)), summary)

    def _error(self, value: Any, at: str, hint: str) -> UnserializableOutputError:
        what = f"{_describe(value)} ({_qualified(type(value))})"
        if at:
            what = f"{_describe(self.root)} whose item {at} is {what}"
        reason = f": {hint}" if hint else ""
        advice = "" if self.allow_pickle else " — or opt in with @sy.step(allow_pickle=True)"
        return UnserializableOutputError(
            f"{self.owner} returned {what}, which Shipyard cannot store safely{reason}; "
            f"{_ADVICE}{advice}",
            field="output",
        )

    def _frame(self, value: Any, *, series: bool) -> Stored:
        frame = value.to_frame(name=_series_column(value.name)) if series else value
        try:
            table = encode_table(_flat_frame(frame), self.algorithm)
        except ValidationError as e:  # a column Arrow cannot hold one type for
            raise _Refused(e.message) from None
        if not series:
            summary = f"DataFrame {value.shape[0]} × {value.shape[1]}"  # noqa: RUF001
            return self._put("parquet", table.parquet, value, summary, table.content_id)
        name = "" if value.name is None else f"{value.name!r} "
        summary = f"Series {name}{value.dtype}, {len(value)} rows"
        cid = _tagged(self.algorithm, "pandas.Series", table.content_id)
        return self._put("series", table.parquet, value, summary, cid)

    def _array(self, value: Any) -> Stored:
        try:
            data = dump_array(value)
        except ValueError as e:
            raise _Refused(str(e)) from None
        summary = f"ndarray {value.dtype} {value.shape}"
        stored = self._put("arrow-tensor", data, value, summary)
        if value.dtype.kind != "b":
            return stored
        cid = _tagged(self.algorithm, _BOOL_ARRAY, stored.digest)
        return replace(stored, content_id=cid, type_name=_BOOL_ARRAY)

    def _estimator(self, value: Any) -> Stored:
        try:
            data = dump_estimator(value)
        except ValueError as e:
            raise _Refused(str(e)) from None
        return self._put("skops", data, value, type(value).__name__)

    def _bundle(self, value: tuple | list | dict, at: str, depth: int) -> Stored:
        if not isinstance(value, dict):
            kind = "tuple" if isinstance(value, tuple) else "list"
            items = [self.encode(v, f"{at}[{i}]", depth + 1) for i, v in enumerate(value)]
            return make_bundle(items, self.store, kind=kind)
        for key in value:
            if not isinstance(key, str):
                raise _Refused(f"it has a non-str key {key!r}; dict keys must be str")
        stored = {k: self.encode(v, f"{at}[{k!r}]", depth + 1) for k, v in value.items()}
        return make_bundle(stored, self.store, kind="dict")


def make_bundle(
    items: list[Stored] | dict[str, Stored], store: ContentStore, *, kind: str
) -> Stored:
    """A bundle of values stored already (e.g. a map's outputs), as ``encode_value`` makes it.

    Its content id hashes the kind and the items' content ids; its size counts the items too.
    """
    if kind not in ("tuple", "list", "dict") or (kind == "dict") != isinstance(items, dict):
        raise ValidationError(f"a {kind!r} bundle cannot hold {type(items).__name__}", field="kind")
    parts = list(items.values()) if isinstance(items, dict) else list(items)
    if isinstance(items, dict):
        ids: Any = {k: s.content_id for k, s in items.items()}
        listing: Any = {k: s.to_dict() for k, s in items.items()}
        summary = f"dict with {len(parts)} key{'' if len(parts) == 1 else 's'}"
    else:
        ids, listing = [s.content_id for s in parts], [s.to_dict() for s in parts]
        summary = f"{kind} of {len(parts)}"
    cid = digest_bytes(store.algorithm, _json_bytes({"kind": kind, "items": ids}))
    manifest = _json_bytes({"kind": kind, "items": listing})
    size = len(manifest) + sum(s.size for s in parts)
    return Stored("bundle", store.put_bytes(manifest), cid, size, kind, summary)


def is_complete(stored: Stored, store: ContentStore) -> bool:
    """Whether every object of the value is in the store (a bundle's items too)."""
    if not store.keep(stored.digest):  # a cache hit links it again: refresh it for GC
        return False
    if stored.format != "bundle":
        return True
    try:
        _, items = _read(stored, store, _load_manifest)
    except Exception:
        return False
    parts = items.values() if isinstance(items, dict) else items
    return all(is_complete(item, store) for item in parts)


def decode_value(
    stored: Stored, store: ContentStore, *, path: tuple[str | int, ...] = ()
) -> object:
    """Load a stored value, or with ``path`` only the item there (bundles and JSON values)."""
    return _decode(stored, store, tuple(path), ())


def _decode(stored: Stored, store: ContentStore, path: tuple, where: tuple) -> Any:
    """``path`` is what remains to select, ``where`` what was selected (for messages)."""
    if stored.format == "bundle":
        kind, items = _read(stored, store, _load_manifest)
        if path:  # load only the chosen item
            item = _pick(items, path[0], where)
            return _decode(item, store, path[1:], (*where, path[0]))
        if kind == "dict":
            return {key: _decode(item, store, (), ()) for key, item in items.items()}
        values = [_decode(item, store, (), ()) for item in items]
        return tuple(values) if kind == "tuple" else values
    if stored.format not in _LOADERS:
        raise ValidationError(f"unknown stored format {stored.format!r}", field="format")
    if path and stored.format != "json":
        here = "".join(f"[{step!r}]" for step in (*where, path[0]))
        raise ValidationError(
            f"path {here}: a {stored.format} value has no items (only tuples, lists, dicts)",
            field="path",
        )
    value = _read(stored, store, _LOADERS[stored.format])
    for step in path:
        value, where = _pick(value, step, where), (*where, step)
    return value


def _read(stored: Stored, store: ContentStore, loader: Any) -> Any:
    """``loader(bytes, stored)`` on verified bytes; unreadable ones are corrupted artifacts."""
    data = store.get_bytes(stored.digest)
    try:
        return loader(data, stored)
    except ValidationError:  # a refusal (untrusted types), not damage
        raise
    except Exception as e:  # ArtifactCorruptedError too: one message for every format
        raise ArtifactCorruptedError(
            f"the {stored.format} object {stored.digest} cannot be read ({type(e).__name__})"
        ) from e


def _pick(items: Any, step: object, where: tuple) -> Any:
    """``items[step]``, or a ValidationError naming the path."""
    here = "".join(f"[{s!r}]" for s in (*where, step))
    if isinstance(items, list | tuple) and type(step) is int:
        if 0 <= step < len(items):
            return items[step]
        raise ValidationError(f"path {here} is out of range: {len(items)} items", field="path")
    if isinstance(items, dict) and isinstance(step, str):
        if step in items:
            return items[step]
        keys = ", ".join(repr(k) for k in list(items)[:20])
        raise ValidationError(f"path {here}: no such key (keys: {keys})", field="path")
    kind = type(items).__name__
    raise ValidationError(f"path {here}: cannot select {step!r} in a {kind}", field="path")


def _load_manifest(data: bytes, stored: Stored) -> tuple[str, Any]:
    doc = json.loads(data)
    kind, items = doc["kind"], doc["items"]
    try:
        if kind == "dict" and isinstance(items, dict):
            return kind, {str(k): Stored.from_dict(v) for k, v in items.items()}
        if kind in ("tuple", "list") and isinstance(items, list):
            return kind, [Stored.from_dict(v) for v in items]
    except ValidationError as e:  # a damaged manifest, not a caller's mistake
        raise ValueError(e.message) from None
    raise ValueError(f"malformed bundle manifest of kind {kind!r}")


def _load_frame(data: bytes, stored: Stored) -> Any:
    """The frame, with leading ``__index_level_<i>__`` columns set back as its index."""
    df = frame_from_parquet(data, stored.digest)
    levels: list[re.Match[str]] = []
    for name in df.columns:
        match = _INDEX_COLUMN.fullmatch(str(name))
        if match is None or int(match.group(1)) != len(levels):
            break
        levels.append(match)
    if not levels:
        return df
    df = df.set_index([m.group(0) for m in levels])
    return df.rename_axis([m.group(2) for m in levels])


def _load_series(data: bytes, stored: Stored) -> Any:
    df = _load_frame(data, stored)
    column = str(df.columns[0])
    name: Any = None if column == _SERIES else column
    if column.startswith(f"{_SERIES}:"):
        name = json.loads(column[len(_SERIES) + 1 :])
    return df.iloc[:, 0].rename(name)


def _load_tensor(data: bytes, stored: Stored) -> Any:
    return load_array(data, as_bool=stored.type_name == _BOOL_ARRAY)


def _load_skops(data: bytes, stored: Stored) -> Any:
    return load_estimator(data, stored.digest)


_LOADERS: dict[str, Any] = {
    "json": lambda data, stored: json.loads(data),
    "parquet": _load_frame,
    "series": _load_series,
    "arrow-tensor": _load_tensor,
    "skops": _load_skops,
    "pickle": lambda data, stored: pickle.loads(data),  # the producing step opted in
}


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON types (tuples as lists, NumPy scalars as Python), or _NOT_JSON."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):  # np.float64 is a float, too
        item = value.item() if value.dtype.kind in "biuf" else None
        return item if isinstance(item, bool | int | float) else _NOT_JSON
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < MAX_DEPTH and isinstance(value, list | tuple):
        items = [_plain(v, depth + 1) for v in value]
        return _NOT_JSON if any(v is _NOT_JSON for v in items) else items
    if depth < MAX_DEPTH and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: _plain(v, depth + 1) for k, v in value.items()}
        return _NOT_JSON if any(v is _NOT_JSON for v in pairs.values()) else pairs
    return _NOT_JSON


def _canonical_json(value: Any) -> bytes | None:
    """The canonical JSON bytes of a JSON value, or None if ``value`` is not one."""
    plain = _plain(value)
    try:
        return None if plain is _NOT_JSON else _json_bytes(plain)
    except UnicodeEncodeError:  # a lone surrogate in a str
        return None


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _tagged(algorithm: str, tag: str, content_id: str) -> str:
    return digest_bytes(algorithm, f"{tag}\0{content_id}".encode())


def _flat_frame(df: Any) -> Any:
    """``df`` with str column labels and, unless it is the default one, its index as columns."""
    import pandas as pd

    if isinstance(df.columns, pd.MultiIndex):
        raise _Refused("its columns have several levels (MultiIndex); flatten them first")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise _Refused(f"its column names repeat: {repeated}")
    if any(_INDEX_COLUMN.fullmatch(n) for n in names):
        raise _Refused("column names like '__index_level_0__' are reserved for the index")
    flat, index = df.set_axis(names, axis=1), df.index
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    if names and default and index.name is None:  # no columns: keep the index for the rows
        return flat
    levels = [
        f"__index_level_{i}__" + ("" if n is None else f":{n}") for i, n in enumerate(index.names)
    ]
    return flat.set_axis(index.set_names(levels), axis=0).reset_index()


def _series_column(name: Any) -> str:
    if name is None:
        return _SERIES
    return f"{_SERIES}:{json.dumps(name)}" if isinstance(name, bool | int | float) else str(name)


def _qualified(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


def _type_name(t: type) -> str:
    return _PUBLIC.get(_qualified(t), _qualified(t).removeprefix("builtins."))


def _describe(value: Any) -> str:
    """``a generator``, ``an ndarray of dtype object``: the value's kind, for messages."""
    name = type(value).__qualname__
    if name == "ndarray" and hasattr(value, "dtype"):
        return f"an ndarray of dtype {value.dtype}"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _json_summary(value: Any) -> str:
    plain = _plain(value)
    if isinstance(plain, dict):
        return f"dict with {len(plain)} key{'' if len(plain) == 1 else 's'}"
    if isinstance(plain, list):
        return f"{type(value).__name__} of {len(plain)}"
    text = f"{plain:.4g}" if type(plain) is float else repr(plain)
    return "None" if plain is None else f"{type(plain).__name__} {text}"
