"""Request counters and latency histograms per (model, version, role), kept by one replica.

The event loop only adds to cumulative counters; the flusher thread turns them into
per-window deltas for the ``serving_stats`` table, and ``/metrics`` renders the cumulative
values in the Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.stores.sql.deployments_repo import StatsRow

__all__ = ["Counter", "ServingStats"]


@dataclass
class Counter:
    requests: int = 0
    errors: int = 0
    rows: int = 0
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))

    def observe(self, ms: float, rows: int, error: bool) -> None:
        self.requests += 1
        self.rows += rows
        self.latency_sum_ms += ms
        self.buckets[bucket_of(ms)] += 1
        if error:
            self.errors += 1


class ServingStats:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, int, str], Counter] = {}
        self._flushed: dict[tuple[str, int, str], tuple[int, int, float, list[int]]] = {}
        self.client_errors = 0  # 4xx answered before a model was chosen (bad JSON, 404 …)
        self.unauthorized = 0  # 401: no valid token (``serve --auth token``); no model ran
        self.rate_limited = 0  # 429: a client over ``--rate-limit``; no model ran
        self.logs_dropped = 0
        self.logs_written = 0

    def counter(self, model: str, version: int, role: str) -> Counter:
        key = (model, version, role)
        found = self.counters.get(key)
        if found is None:
            found = self.counters[key] = Counter()
        return found

    def deltas(self) -> list[StatsRow]:
        """What changed since the last call: one row per key that saw requests."""
        rows: list[StatsRow] = []
        for key, c in list(self.counters.items()):
            now = (c.requests, c.errors, c.latency_sum_ms, list(c.buckets))
            before = self._flushed.get(key, (0, 0, 0.0, [0] * len(now[3])))
            self._flushed[key] = now
            if now[0] == before[0]:
                continue
            buckets = [a - b for a, b in zip(now[3], before[3], strict=True)]
            rows.append((*key, now[0] - before[0], now[1] - before[1], now[2] - before[2], buckets))
        return rows

    def prometheus(self, env: str) -> str:
        return "".join(self._lines(env))

    def _lines(self, env: str) -> Iterator[str]:
        series = sorted(self.counters.items())
        yield "# HELP shipyard_requests_total Prediction requests per model version and role.\n"
        yield "# TYPE shipyard_requests_total counter\n"
        for key, c in series:
            yield f"shipyard_requests_total{{{_labels(env, key)}}} {c.requests}\n"
        yield "# HELP shipyard_request_errors_total Requests that failed (4xx or 5xx).\n"
        yield "# TYPE shipyard_request_errors_total counter\n"
        for key, c in series:
            yield f"shipyard_request_errors_total{{{_labels(env, key)}}} {c.errors}\n"
        yield "# HELP shipyard_predicted_rows_total Rows predicted.\n"
        yield "# TYPE shipyard_predicted_rows_total counter\n"
        for key, c in series:
            yield f"shipyard_predicted_rows_total{{{_labels(env, key)}}} {c.rows}\n"
        yield "# HELP shipyard_request_duration_seconds Time to answer a prediction request.\n"
        yield "# TYPE shipyard_request_duration_seconds histogram\n"
        for key, c in series:
            labels = _labels(env, key)
            total = 0
            for bound, n in zip((*BOUNDS_MS, None), c.buckets, strict=True):
                total += n
                le = "+Inf" if bound is None else repr(bound / 1000)
                yield f'shipyard_request_duration_seconds_bucket{{{labels},le="{le}"}} {total}\n'
            yield f"shipyard_request_duration_seconds_sum{{{labels}}} {c.latency_sum_ms / 1000}\n"
            yield f"shipyard_request_duration_seconds_count{{{labels}}} {c.requests}\n"
        for name, value, text in (
            ("client_errors_total", self.client_errors, "Bad requests not tied to a version."),
            ("unauthorized_total", self.unauthorized, "Requests refused for want of a token."),
            ("rate_limited_total", self.rate_limited, "Requests refused by the rate limit."),
            ("prediction_logs_dropped_total", self.logs_dropped, "Log rows dropped: queue full."),
            ("prediction_logs_written_total", self.logs_written, "Prediction log rows written."),
        ):
            name = f"shipyard_{name}"
            yield f'# HELP {name} {text}\n# TYPE {name} counter\n{name}{{env="{env}"}} {value}\n'


def _labels(env: str, key: tuple[str, int, str]) -> str:
    model, version, role = key
    return f'env="{env}",model="{model}",version="{version}",role="{role}"'
