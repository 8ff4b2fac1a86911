"""The step-output codec: safe formats, stable content ids, paths, refusals, corruption."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.services.formats.tables import encode_table
from shipyard.services.pipelines.codec import (
    Stored,
    UnserializableOutputError,
    decode_value,
    encode_value,
    literal_content_id,
    make_bundle,
)
from shipyard.stores.blobs import ContentStore, open_content_store
from shipyard.stores.blobs.digests import digest_bytes

OWNER = "step 'train'"


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return open_content_store(str(tmp_path / "objects"))


def roundtrip(value: object, store: ContentStore, **kwargs: bool) -> tuple[Stored, object]:
    stored = encode_value(value, store, owner=OWNER, **kwargs)
    return stored, decode_value(Stored.from_dict(stored.to_dict()), store)


class Opaque:
    """A plain custom object: picklable, but not safe to store."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.n == self.n


class HomeMadeEstimator(BaseEstimator):
    """A scikit-learn estimator defined outside sklearn: skops cannot vouch for it."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: object, y: object = None) -> HomeMadeEstimator:
        self.fitted_ = True
        return self


def numbers() -> object:
    yield 1


# JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "type_name", "summary"),
    [
        (None, None, "NoneType", "None"),
        (True, True, "bool", "bool True"),
        (42, 42, "int", "int 42"),
        (0.83123, 0.83123, "float", "float 0.8312"),
        ("héllo", "héllo", "str", "str 'héllo'"),
        ([1, "a", None, [2.5]], [1, "a", None, [2.5]], "list", "list of 4"),
        ((1, 2), [1, 2], "tuple", "tuple of 2"),
        ({"b": 1, "a": {"x": [True]}}, {"a": {"x": [True]}, "b": 1}, "dict", "dict with 2 keys"),
        (np.float64(0.5), 0.5, "numpy.float64", "float 0.5"),
        (np.int64(7), 7, "numpy.int64", "int 7"),
        (np.bool_(True), True, "numpy.bool", "bool True"),
        ({"n": np.int32(3)}, {"n": 3}, "dict", "dict with 1 key"),
    ],
)
def test_json_values_round_trip(
    store: ContentStore, value: object, expected: object, type_name: str, summary: str
) -> None:
    stored, back = roundtrip(value, store)
    assert (stored.format, stored.type_name, stored.summary) == ("json", type_name, summary)
    assert back == expected and type(back) is type(expected)
    data = store.get_bytes(stored.digest)
    assert data == json.dumps(
        expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert stored.content_id == stored.digest == digest_bytes("blake3", data)
    assert stored.size == len(data)
    assert literal_content_id(value, store.algorithm) == stored.content_id


def test_json_nan_and_infinity_round_trip(store: ContentStore) -> None:
    stored, back = roundtrip({"nan": math.nan, "inf": [math.inf, -math.inf]}, store)
    assert stored.format == "json"
    assert isinstance(back, dict) and math.isnan(back["nan"])
    assert back["inf"] == [math.inf, -math.inf]


def test_json_content_id_is_stable_and_distinguishing(store: ContentStore) -> None:
    a = encode_value({"a": 1, "b": [1, 2]}, store, owner=OWNER)
    b = encode_value({"b": [1, 2], "a": 1}, store, owner=OWNER)  # key order does not matter
    c = encode_value({"a": 1, "b": [1, 3]}, store, owner=OWNER)
    assert a.content_id == b.content_id != c.content_id
    assert literal_content_id(1, "blake3") != literal_content_id(1.0, "blake3")
    assert literal_content_id(1, "sha256") == digest_bytes("sha256", b"1")


def test_literal_content_id_is_none_for_non_json_values() -> None:
    assert literal_content_id(pd.DataFrame({"a": [1]}), "blake3") is None
    assert literal_content_id({1: "int key"}, "blake3") is None
    assert literal_content_id([Opaque(1)], "blake3") is None
    assert literal_content_id("\ud800", "blake3") is None  # not encodable as UTF-8


# pandas ------------------------------------------------------------------------------------


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "f": [1.5, None, 3.0],
            "i": [1, 2, 3],
            "s": ["a", None, "c"],
            "b": [True, False, True],
            "d": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "c": pd.Categorical(["x", "y", "x"]),
        }
    )


def test_dataframe_round_trips_with_the_table_content_id(store: ContentStore) -> None:
    df = mixed_frame()
    stored, back = roundtrip(df, store)
    pd.testing.assert_frame_equal(back, df)
    assert (stored.format, stored.type_name, stored.summary) == (
        "parquet",
        "pandas.DataFrame",
        "DataFrame 3 × 7",  # noqa: RUF001
    )
    encoded = encode_table(df, store.algorithm)
    assert stored.content_id == encoded.content_id
    assert stored.size == len(store.get_bytes(stored.digest))
    again = encode_value(mixed_frame(), store, owner=OWNER)
    assert again.content_id == stored.content_id
    changed = mixed_frame()
    changed.loc[0, "i"] = 99
    assert encode_value(changed, store, owner=OWNER).content_id != stored.content_id


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["x", "y"], name="key")),
        pd.DataFrame({"v": [1, 2, 3]}, index=[10, 30, 20]),
        pd.DataFrame(
            {"v": [1, 2]},
            index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", None]),
        ),
        pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="float64")}),
        pd.DataFrame(index=pd.RangeIndex(3)),
    ],
    ids=["named-index", "int-index", "multi-index", "no-rows", "no-columns"],
)
def test_dataframe_index_and_empty_frames_round_trip(store: ContentStore, df: pd.DataFrame) -> None:
    stored, back = roundtrip(df, store)
    assert stored.format == "parquet"
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, df, check_index_type=False, check_column_type=False)
    assert list(back.index.names) == list(df.index.names)


def test_dataframe_column_labels_are_stored_as_strings(store: ContentStore) -> None:
    _, back = roundtrip(pd.DataFrame(np.arange(6).reshape(3, 2)), store)
    assert isinstance(back, pd.DataFrame)
    assert list(back.columns) == ["0", "1"]


@pytest.mark.parametrize(
    ("df", "fragment"),
    [
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "repeat"),
        (pd.DataFrame({"__index_level_0__": [1]}), "reserved"),
        (pd.DataFrame({"m": [1, "two"]}), "mixes value types"),
    ],
)
def test_frames_that_cannot_be_parquet_are_refused(
    store: ContentStore, df: pd.DataFrame, fragment: str
) -> None:
    with pytest.raises(UnserializableOutputError, match=fragment) as info:
        encode_value(df, store, owner=OWNER)
    assert info.value.message.startswith(f"{OWNER} returned a DataFrame (pandas.")


@pytest.mark.parametrize("name", ["target", None, 0, 2.5])
def test_series_round_trips_with_its_name(store: ContentStore, name: object) -> None:
    series = pd.Series([1.5, 2.5, None], name=name)
    stored, back = roundtrip(series, store)
    assert (stored.format, stored.type_name) == ("series", "pandas.Series")
    assert isinstance(back, pd.Series)
    pd.testing.assert_series_equal(back, series)
    assert back.name == name and type(back.name) is type(name)


def test_series_index_round_trips_and_its_id_differs_from_a_frame(store: ContentStore) -> None:
    series = pd.Series([3, 1], index=pd.Index(["u", "v"], name="who"), name="score")
    stored, back = roundtrip(series, store)
    assert isinstance(back, pd.Series)
    pd.testing.assert_series_equal(back, series)
    assert stored.summary == "Series 'score' int64, 2 rows"
    frame = encode_value(series.to_frame(), store, owner=OWNER)
    assert stored.content_id != frame.content_id  # a Series is not a one-column frame
    assert encode_value(series.copy(), store, owner=OWNER).content_id == stored.content_id


# NumPy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float64).reshape(4, 3),
        np.arange(5, dtype=np.int32),
        np.array([[1, 2], [3, 4]], dtype=np.uint16),
        np.zeros((0, 3), dtype=np.float32),
        np.array(3.5),
        np.array([1.0, 2.0], dtype=np.float16),
        np.array([1, 2, 3], dtype=">i4"),  # big-endian
    ],
)
def test_ndarray_round_trips(store: ContentStore, array: np.ndarray) -> None:
    stored, back = roundtrip(array, store)
    assert (stored.format, stored.type_name) == ("arrow-tensor", "numpy.ndarray")
    assert stored.summary == f"ndarray {array.dtype} {array.shape}"
    assert isinstance(back, np.ndarray)
    assert back.shape == array.shape and back.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # a writable copy, not a view of the store's bytes
    assert stored.content_id == stored.digest


def test_bool_ndarray_round_trips_with_its_own_id(store: ContentStore) -> None:
    mask = np.array([[True, False], [False, True]])
    stored, back = roundtrip(mask, store)
    assert stored.type_name == "numpy.ndarray[bool]"
    assert isinstance(back, np.ndarray) and back.dtype == bool
    np.testing.assert_array_equal(back, mask)
    as_bytes = encode_value(mask.astype(np.uint8), store, owner=OWNER)
    assert as_bytes.digest == stored.digest  # same tensor bytes...
    assert as_bytes.content_id != stored.content_id  # ...but not the same value


def test_ndarray_content_id_ignores_memory_layout(store: ContentStore) -> None:
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    ids = {
        encode_value(a, store, owner=OWNER).content_id
        for a in (base, base.copy(), np.asfortranarray(base), base.T.copy().T)
    }
    assert len(ids) == 1
    strided = np.arange(20)[::2]
    assert not strided.flags.c_contiguous
    stored, back = roundtrip(strided, store)
    np.testing.assert_array_equal(back, strided)
    assert stored.content_id == encode_value(strided.copy(), store, owner=OWNER).content_id
    assert stored.content_id != encode_value(strided + 1, store, owner=OWNER).content_id


# scikit-learn ------------------------------------------------------------------------------

FIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from shipyard.services.pipelines.codec import encode_value
    from shipyard.stores.blobs import open_content_store

    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    model = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    model.tags_ = {"alpha", "beta", "gamma", "delta", "epsilon"}  # a set: hash-seed order
    stored = encode_value(model, open_content_store(sys.argv[1]), owner="step 'fit'")
    print(stored.content_id)
    """
)


def fitted_forest() -> RandomForestClassifier:
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    model = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    model.tags_ = {"alpha", "beta", "gamma", "delta", "epsilon"}
    return model


def test_estimator_round_trips_as_skops(store: ContentStore) -> None:
    X, y = make_classification(n_samples=60, n_features=4, random_state=1)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    stored, back = roundtrip(model, store)
    assert (stored.format, stored.summary) == ("skops", "Pipeline")
    assert stored.type_name == "sklearn.pipeline.Pipeline"
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))  # type: ignore[attr-defined]
    assert stored.content_id == stored.digest
    assert encode_value(model, store, owner=OWNER).content_id == stored.content_id
    refit = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X, y)
    assert encode_value(refit, store, owner=OWNER).content_id != stored.content_id


def test_forest_with_sklearn_internal_types_round_trips(store: ContentStore) -> None:
    model = fitted_forest()
    stored, back = roundtrip(model, store)
    assert stored.type_name == "sklearn.ensemble._forest.RandomForestClassifier"
    assert stored.summary == "RandomForestClassifier"
    X, _ = make_classification(n_samples=80, n_features=5, random_state=0)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))  # type: ignore[attr-defined]
    assert back.tags_ == model.tags_  # type: ignore[attr-defined]


def test_skops_bytes_are_identical_across_processes(store: ContentStore, tmp_path: Path) -> None:
    ids = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", FIT_SCRIPT, str(tmp_path / f"objects-{seed}")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        )
        ids.append(out.stdout.strip())
    here = encode_value(fitted_forest(), store, owner=OWNER)
    assert ids == [here.content_id, here.content_id]


def test_estimator_with_untrusted_types_is_refused(store: ContentStore) -> None:
    model = HomeMadeEstimator().fit(None)
    with pytest.raises(UnserializableOutputError) as info:
        encode_value(model, store, owner=OWNER)
    message = info.value.message
    assert f"{OWNER} returned a HomeMadeEstimator ({__name__}.HomeMadeEstimator)" in message
    assert f"({__name__}.HomeMadeEstimator)" in message.split("outside")[1]
    assert "allow_pickle=True" in message
    stored, back = roundtrip(model, store, allow_pickle=True)
    assert stored.format == "pickle" and isinstance(back, HomeMadeEstimator)


# Bundles and paths -------------------------------------------------------------------------


def test_tuple_bundle_round_trips_and_selects_items(store: ContentStore) -> None:
    df = mixed_frame()
    value = (df, 0.75, np.arange(3), {"note": "ok", "frame": df})
    stored, back = roundtrip(value, store)
    assert (stored.format, stored.type_name, stored.summary) == ("bundle", "tuple", "tuple of 4")
    assert isinstance(back, tuple) and len(back) == 4
    pd.testing.assert_frame_equal(back[0], df)
    assert back[1] == 0.75
    np.testing.assert_array_equal(back[2], np.arange(3))
    assert back[3]["note"] == "ok"
    pd.testing.assert_frame_equal(back[3]["frame"], df)
    pd.testing.assert_frame_equal(decode_value(stored, store, path=(0,)), df)  # type: ignore[arg-type]
    assert decode_value(stored, store, path=(1,)) == 0.75
    assert decode_value(stored, store, path=(3, "note")) == "ok"
    manifest = json.loads(store.get_bytes(stored.digest))
    parts = [Stored.from_dict(item) for item in manifest["items"]]
    assert stored.size == len(store.get_bytes(stored.digest)) + sum(p.size for p in parts)


def test_bundle_content_id_depends_on_item_ids_not_digests(tmp_path: Path) -> None:
    value = {"model_input": pd.DataFrame({"x": [1, 2]}), "score": 0.5}
    blake = open_content_store(str(tmp_path / "a"))
    stored = encode_value(value, blake, owner=OWNER)
    assert (stored.format, stored.summary) == ("bundle", "dict with 2 keys")
    items = json.loads(blake.get_bytes(stored.digest))["items"]
    ids = {key: item["content_id"] for key, item in items.items()}
    expected = json.dumps({"items": ids, "kind": "dict"}, sort_keys=True, separators=(",", ":"))
    assert stored.content_id == digest_bytes("blake3", expected.encode()) != stored.digest
    elsewhere = open_content_store(str(tmp_path / "b"))
    other = encode_value(dict(reversed(value.items())), elsewhere, owner=OWNER)
    assert other.content_id == stored.content_id
    as_list = encode_value(list(value.values()), blake, owner=OWNER)
    as_tuple = encode_value(tuple(value.values()), blake, owner=OWNER)
    assert len({as_list.content_id, as_tuple.content_id, stored.content_id}) == 3
    assert isinstance(decode_value(as_list, blake), list)


def test_make_bundle_matches_encode_value(store: ContentStore) -> None:
    values = [pd.DataFrame({"x": [1]}), np.arange(2), 0.5]
    parts = [encode_value(v, store, owner=OWNER) for v in values]
    made = make_bundle(parts, store, kind="list")
    assert made == encode_value(values, store, owner=OWNER)
    assert decode_value(made, store, path=(2,)) == 0.5
    keyed = make_bundle({"a": parts[0]}, store, kind="dict")
    assert keyed.summary == "dict with 1 key"
    with pytest.raises(ValidationError, match="bundle cannot hold"):
        make_bundle(parts, store, kind="dict")


def test_json_paths_and_bad_paths(store: ContentStore) -> None:
    stored = encode_value({"metrics": {"auc": 0.9}, "folds": [1, 2, 3]}, store, owner=OWNER)
    assert decode_value(stored, store, path=("metrics", "auc")) == 0.9
    assert decode_value(stored, store, path=("folds", 2)) == 3
    with pytest.raises(ValidationError, match=r"\['folds'\]\[3\] is out of range") as info:
        decode_value(stored, store, path=("folds", 3))
    assert info.value.field == "path"
    with pytest.raises(ValidationError, match=r"\['nope'\]: no such key"):
        decode_value(stored, store, path=("nope",))
    with pytest.raises(ValidationError, match=r"\[0\]: cannot select 0 in a dict"):
        decode_value(stored, store, path=(0,))
    with pytest.raises(ValidationError, match=r"\['metrics'\]\['auc'\]\[0\]: cannot select"):
        decode_value(stored, store, path=("metrics", "auc", 0))


def test_bundle_bad_paths(store: ContentStore) -> None:
    stored = encode_value((pd.DataFrame({"a": [1]}), [np.zeros(2)]), store, owner=OWNER)
    with pytest.raises(ValidationError, match=r"path \[2\] is out of range: 2 items"):
        decode_value(stored, store, path=(2,))
    with pytest.raises(ValidationError, match=r"path \[0\]\[0\]: a parquet value has no items"):
        decode_value(stored, store, path=(0, 0))
    with pytest.raises(ValidationError, match=r"path \[1\]\[1\] is out of range: 1 items"):
        decode_value(stored, store, path=(1, 1))
    with pytest.raises(ValidationError, match=r"path \['a'\]: cannot select 'a' in a list"):
        decode_value(stored, store, path=("a",))
    frame = encode_value(pd.DataFrame({"a": [1]}), store, owner=OWNER)
    with pytest.raises(ValidationError, match="a parquet value has no items") as info:
        decode_value(frame, store, path=("a",))
    assert info.value.field == "path"


# Refusals and pickle -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "described"),
    [
        (numbers(), "a generator (builtins.generator)"),
        (lambda x: x, "a function (builtins.function)"),
        (Opaque(1), f"an Opaque ({__name__}.Opaque)"),
        (np.array(["a", None], dtype=object), "an ndarray of dtype object (numpy.ndarray)"),
        ({1: pd.DataFrame()}, "a dict (builtins.dict)"),
    ],
    ids=["generator", "lambda", "custom-object", "object-array", "int-keys"],
)
def test_unserializable_values_are_refused_with_owner_and_type(
    store: ContentStore, value: object, described: str
) -> None:
    with pytest.raises(UnserializableOutputError) as info:
        encode_value(value, store, owner=OWNER)
    message = info.value.message
    assert message.startswith(f"{OWNER} returned {described}, which Shipyard cannot store safely")
    assert message.endswith(
        "return a pandas DataFrame or Series, a NumPy array, a JSON value (str, int, float, "
        "bool, None, list, dict), a scikit-learn estimator, or a tuple/list/dict of these "
        "— or opt in with @sy.step(allow_pickle=True)"
    )
    assert isinstance(info.value, ValidationError)


def test_object_array_message_suggests_a_frame_or_list(store: ContentStore) -> None:
    with pytest.raises(
        UnserializableOutputError, match="convert it to a pandas DataFrame or a list"
    ):
        encode_value(np.array(["a", "b"]), store, owner=OWNER)


def test_refused_item_is_named_by_its_position(store: ContentStore) -> None:
    with pytest.raises(UnserializableOutputError) as info:
        encode_value((1.0, numbers()), store, owner="step 'x'")
    assert info.value.message.startswith(
        "step 'x' returned a tuple whose item [1] is a generator (builtins.generator), "
        "which Shipyard cannot store safely"
    )
    with pytest.raises(
        UnserializableOutputError, match=r"a dict whose item \['m'\]\[0\] is an Opaque"
    ):
        encode_value({"m": [Opaque(2), pd.DataFrame()]}, store, owner="step 'x'")


def test_allow_pickle_round_trips_and_keeps_safe_items_safe(store: ContentStore) -> None:
    stored, back = roundtrip(Opaque(3), store, allow_pickle=True)
    assert (stored.format, stored.type_name) == ("pickle", f"{__name__}.Opaque")
    assert stored.summary == "Opaque (pickled)" and back == Opaque(3)
    assert encode_value(Opaque(3), store, owner=OWNER, allow_pickle=True).content_id == (
        stored.content_id
    )
    bundle, back = roundtrip((pd.DataFrame({"a": [1]}), Opaque(4)), store, allow_pickle=True)
    items = json.loads(store.get_bytes(bundle.digest))["items"]
    assert [item["format"] for item in items] == ["parquet", "pickle"]
    assert isinstance(back, tuple) and back[1] == Opaque(4)


def test_allow_pickle_still_fails_for_what_pickle_cannot_store(store: ContentStore) -> None:
    with pytest.raises(UnserializableOutputError, match="pickle fails too") as info:
        encode_value(numbers(), store, owner=OWNER, allow_pickle=True)
    assert "opt in" not in info.value.message


def test_self_containing_list_is_refused(store: ContentStore) -> None:
    loop: list[object] = [pd.DataFrame()]
    loop.append(loop)
    with pytest.raises(UnserializableOutputError, match="nested more than 100 levels"):
        encode_value(loop, store, owner=OWNER)


# Stored records and corrupted objects ------------------------------------------------------

GOOD = {
    "format": "json",
    "digest": "blake3:" + "a" * 64,
    "content_id": "blake3:" + "b" * 64,
    "size": 3,
    "type_name": "int",
    "summary": "int 123",
}


def test_stored_to_dict_from_dict_round_trip() -> None:
    stored = Stored.from_dict(GOOD)
    assert stored.to_dict() == GOOD
    assert Stored.from_dict({**GOOD, "extra": 1}) == stored  # unknown keys are ignored


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({k: v for k, v in GOOD.items() if k != "size"}, "size"),
        ({**GOOD, "digest": "blake3:../../etc"}, "digest"),
        ({**GOOD, "content_id": "md5:abc"}, "content_id"),
        ({**GOOD, "format": "yaml"}, "format"),
        ({**GOOD, "format": ["json"]}, "format"),
        ({**GOOD, "size": -1}, "size"),
        ({**GOOD, "size": True}, "size"),
        ({**GOOD, "summary": None}, "summary"),
        (["not", "a", "dict"], "stored"),
    ],
)
def test_stored_from_dict_refuses_malformed_input(data: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Stored.from_dict(data)
    assert info.value.field == field
    assert field in info.value.message or field == "stored"


@pytest.mark.parametrize(
    ("fmt", "type_name"),
    [
        ("parquet", "pandas.DataFrame"),
        ("series", "pandas.Series"),
        ("arrow-tensor", "numpy.ndarray"),
        ("skops", "sklearn.linear_model._logistic.LogisticRegression"),
        ("json", "dict"),
        ("bundle", "tuple"),
        ("pickle", "object"),
    ],
)
def test_unreadable_objects_are_corrupted_artifacts(
    store: ContentStore, fmt: str, type_name: str
) -> None:
    digest = store.put_bytes(b"\x00garbage, not a stored value\xff")
    stored = Stored(fmt, digest, digest, 30, type_name, "?")
    with pytest.raises(ArtifactCorruptedError) as info:
        decode_value(stored, store)
    assert digest in info.value.message
    assert fmt in info.value.message.lower()


def test_malformed_bundle_manifest_is_a_corrupted_artifact(store: ContentStore) -> None:
    digest = store.put_bytes(b'{"kind":"tuple","items":[{"format":"json"}]}')
    with pytest.raises(ArtifactCorruptedError, match="bundle"):
        decode_value(Stored("bundle", digest, digest, 10, "tuple", "?"), store)


def test_importing_the_codec_stays_light() -> None:
    code = (
        "import sys, shipyard.services.pipelines.codec\n"
        "heavy = {'pandas', 'numpy', 'pyarrow', 'sklearn', 'skops', 'sqlalchemy'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_skops_trusts_builtin_data_types_but_not_builtin_functions() -> None:
    from shipyard.services.formats.skops_archive import _trusted

    assert _trusted("builtins.dict") and _trusted("numpy.ndarray")
    assert _trusted("sklearn.linear_model._ridge.Ridge")
    for name in (
        "builtins.eval",
        "builtins.exec",
        "builtins.__import__",
        "os.system",
        "numpy.load",  # a function of a trusted package
        "sklearn.utils.estimator_checks.check_estimator",
        "numpy.no_such_thing",
    ):
        assert not _trusted(name), name
