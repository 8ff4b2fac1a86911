"""Reading a stored table back from its Parquet bytes: columns, unknown columns, garbage."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.services.formats.tables import encode_table, frame_from_parquet, read_parquet_bytes


@pytest.fixture
def parquet() -> bytes:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
    return encode_table(frame, "sha256").parquet


def test_the_whole_table_and_a_subset_of_columns_read_back(parquet: bytes) -> None:
    assert read_parquet_bytes(parquet).column_names == ["a", "b", "c"]
    subset = frame_from_parquet(parquet, "t@v1", columns=["c", "a"])
    assert list(subset.columns) == ["c", "a"]
    assert subset["c"].tolist() == [0.5, 1.5, 2.5]


def test_an_unknown_column_is_named_not_silently_dropped(parquet: bytes) -> None:
    with pytest.raises(KeyError, match="nope"):
        read_parquet_bytes(parquet, ["a", "nope"])
    with pytest.raises(ValidationError, match=r"t@v1 has no column\(s\).*nope") as caught:
        frame_from_parquet(parquet, "t@v1", columns=["a", "nope"])
    assert caught.value.http_status == 400


def test_bytes_that_are_not_parquet_are_reported_as_corrupted() -> None:
    with pytest.raises(ArtifactCorruptedError, match="t@v1 is not readable"):
        frame_from_parquet(b"PAR1 but not really", "t@v1")
