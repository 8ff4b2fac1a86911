"""Serving building blocks: micro-batching, input checks, stats deltas, prediction logs."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from shipyard.core.errors import SignatureMismatchError
from shipyard.core.latency import BOUNDS_MS, quantile
from shipyard.core.models import Signature
from shipyard.services.serving.batching import Batcher
from shipyard.services.serving.inputs import InputSpec
from shipyard.services.serving.stats import ServingStats


def _run(main: Any) -> Any:
    """``asyncio.run(main())`` in a thread of its own: the session's Playwright keeps an event
    loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def _slow_sum(calls: list[int]) -> Any:
    def predict(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        if (x[:, 0] < 0).any():
            raise ValueError("negative")
        time.sleep(0.005)
        return x.sum(axis=1)

    return predict


def test_concurrent_requests_share_batches_and_get_their_own_rows() -> None:
    calls: list[int] = []
    batcher = Batcher(_slow_sum(calls), cost_ms=5, max_batch=16, max_wait_ms=0)

    async def main() -> list[Any]:
        xs = [np.full((1 + i % 3, 2), float(i)) for i in range(40)]
        ys = await asyncio.gather(*(batcher.submit(x) for x in xs))
        return list(zip(xs, ys, strict=True))

    for x, y in _run(main):
        assert y.tolist() == x.sum(axis=1).tolist()
    assert len(calls) < 20 and max(calls) <= 16  # batched, never above max_batch
    assert batcher.rows == sum(1 + i % 3 for i in range(40))
    batcher.close()


def test_one_bad_request_fails_alone_in_its_batch() -> None:
    batcher = Batcher(_slow_sum([]), cost_ms=5, max_batch=64, max_wait_ms=2)

    async def main() -> list[Any]:
        xs = [np.ones((1, 2)), -np.ones((1, 2)), np.ones((2, 2))]
        return await asyncio.gather(*(batcher.submit(x) for x in xs), return_exceptions=True)

    good, bad, more = _run(main)
    assert good.tolist() == [2.0] and more.tolist() == [2.0, 2.0]
    assert isinstance(bad, ValueError)
    batcher.close()


def test_cheap_models_predict_on_the_event_loop() -> None:
    batcher = Batcher(lambda x: x[:, 0], cost_ms=0.01, max_batch=8, max_wait_ms=0)
    assert batcher.pool is None

    async def main() -> Any:
        return await batcher.submit(np.array([[3.0, 1.0]]))

    assert _run(main).tolist() == [3.0]


SPEC = InputSpec.of(Signature((("age", "int64"), ("bmi", "float64"), ("smoker", "bool"))))


def test_inputs_become_a_float_matrix_in_signature_order() -> None:
    x = SPEC.from_rows([[True, 30, 22.5]], ["smoker", "age", "bmi"])
    assert x.tolist() == [[30.0, 22.5, 1.0]]
    assert SPEC.from_columns({"bmi": [1.5], "age": [2], "smoker": [False]}).tolist() == [
        [2.0, 1.5, 0.0]
    ]
    assert SPEC.from_records([{"age": 3.0, "bmi": 2, "smoker": True}]).tolist() == [[3, 2, 1]]


@pytest.mark.parametrize(
    ("rows", "words", "column"),
    [
        ([[1, "x", True]], "column 'bmi' row 0: expected a number, got str", "bmi"),
        ([[1.5, 2.0, True]], "column 'age' row 0: expected an integer", "age"),
        ([[1, 2.0, 1]], "column 'smoker' row 0: expected true or false", "smoker"),
        ([[1, None, True]], "null (a missing value) is not allowed", "bmi"),
        ([[1, "nan", True]], "'nan' is not allowed", "bmi"),
        ([[1, 2.0]], "row 0 must be a list of 3 values", "data"),
        ([], "the batch is empty", "data"),
    ],
)
def test_inputs_off_the_signature_name_column_and_problem(
    rows: list[Any], words: str, column: str
) -> None:
    with pytest.raises(
        SignatureMismatchError, match=words.replace("(", r"\(").replace(")", r"\)")
    ) as e:
        SPEC.from_rows(rows)
    assert e.value.field == column and e.value.http_status == 422


def test_column_sets_off_the_signature_name_missing_and_unknown() -> None:
    with pytest.raises(
        SignatureMismatchError, match=r"missing column\(s\) 'smoker'.*unknown column\(s\) 'zip'"
    ):
        SPEC.from_columns({"age": [1], "bmi": [1.0], "zip": [1]})


def test_string_columns_give_a_typed_frame() -> None:
    spec = InputSpec.of(Signature((("city", "object"), ("n", "int64"))))
    frame = spec.from_rows([["Oslo", 2]])
    assert list(frame.columns) == ["city", "n"] and str(frame["n"].dtype) == "int64"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 10**400, 1e39, -4e38])
def test_non_finite_numbers_are_refused_on_both_paths(bad: Any) -> None:
    with pytest.raises(SignatureMismatchError, match="'bmi' row 1") as e:
        SPEC.from_columns({"age": [40, 41], "bmi": [22.5, bad], "smoker": [True, False]})
    assert e.value.field == "bmi" and e.value.http_status == 422
    mixed = InputSpec.of(Signature((("city", "object"), ("bmi", "float64"))))
    with pytest.raises(SignatureMismatchError, match=r"'bmi' row 0: .* finite number"):
        mixed.from_rows([["Oslo", bad]])


def test_stats_deltas_cover_each_window_once() -> None:
    stats = ServingStats()
    c = stats.counter("m", 1, "live")
    for ms in (0.1, 3.0, 40.0):
        c.observe(ms, 1, False)
    c.observe(2000.0, 1, True)
    (row,) = stats.deltas()
    assert row[:5] == ("m", 1, "live", 4, 1) and sum(row[6]) == 4
    assert stats.deltas() == []  # nothing new
    c.observe(1.0, 1, False)
    assert stats.deltas()[0][3] == 1
    assert len(row[6]) == len(BOUNDS_MS) + 1
    assert 1000 <= quantile(row[6], 0.99) <= 2500  # type: ignore[operator]
