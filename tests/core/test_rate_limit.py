"""Rate limits: the N/period syntax and the token bucket per client key."""

from __future__ import annotations

import pytest

from shipyard.core.errors import ValidationError
from shipyard.core.rate_limit import Rate, TokenBuckets, parse_rate, retry_after_header


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10/s", Rate(10, 1.0)), (" 600 / min ", Rate(600, 60.0)), ("5000/H", Rate(5000, 3600.0))],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate
    assert parse_rate(str(rate)) == rate


@pytest.mark.parametrize(
    "bad", ["", "10", "ten/s", "10/day", "-1/s", "0/s", "1.5/s", "²/s", "2000000/s"]
)
def test_bad_rates_name_the_option(bad: str) -> None:
    with pytest.raises(ValidationError, match="--rate-limit") as caught:
        parse_rate(bad, label="--rate-limit")
    assert caught.value.field == "rate_limit"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(3, 1.0), clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    wait = buckets.take("a")
    assert wait == pytest.approx(1 / 3) and retry_after_header(wait) == "1"
    assert buckets.take("b") is None  # another key has its own bucket
    clock.t += 1 / 3
    assert buckets.take("a") is None and buckets.take("a") is not None
    clock.t += 10  # never more than the burst
    assert [buckets.take("a") is None for _ in range(4)] == [True, True, True, False]


def test_per_minute_waits_are_in_whole_seconds() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(2, 60.0), clock)
    assert buckets.take("k") is None and buckets.take("k") is None
    wait = buckets.take("k")
    assert wait == pytest.approx(30.0) and retry_after_header(wait) == "30"
    clock.t += 29.5
    assert retry_after_header(buckets.take("k") or 0) == "1"


def test_many_keys_do_not_grow_the_table_without_bound() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(1, 1.0), clock, max_keys=100)
    for i in range(1000):
        clock.t += 0.01
        buckets.take(f"k{i}")
    assert len(buckets._buckets) <= 100
    assert buckets.take("k999") is not None  # the newest key is still limited


def test_refund_gives_back_one_request_up_to_the_burst() -> None:
    buckets = TokenBuckets(Rate(2, 60.0), Clock())
    assert buckets.take("k") is None and buckets.take("k") is None
    buckets.refund("k")
    assert buckets.take("k") is None and buckets.take("k") is not None
    buckets.refund("k")
    buckets.refund("k")
    buckets.refund("k")  # never more than the burst
    assert [buckets.take("k") is None for _ in range(3)] == [True, True, False]
    buckets.refund("unknown")  # nothing to give back
    assert "unknown" not in buckets._buckets
