"""Request counters and latency histograms per (model, version, role), kept by one replica.

The event loop only adds to cumulative counters; the flusher thread turns them into
per-window deltas for the ``serving_stats`` table, and ``/metrics`` renders the cumulative
values in the Prometheus text format.

``/metrics`` stays bounded however many models a replica serves: request, error and row
counters carry model and version labels for the versions of the first ``detail`` models that
see traffic (they keep them: a series never changes its labels), the others are summed per
role under ``model="_other"``; the latency histogram is per role only (the canary watcher judges the
``serving_stats`` rows, which keep every version's histogram). Model loading is reported as
loaded and cap gauges, load, failure and eviction counters and a load-time histogram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.stores.sql.deployments_repo import StatsRow

__all__ = ["LOAD_BOUNDS_S", "OTHER", "Counter", "ServingStats"]

OTHER = "_other"  # the model label of versions summed together in /metrics
LOAD_BOUNDS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Counter:
    requests: int = 0
    errors: int = 0
    rows: int = 0
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))

    def add(self, other: Counter) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.rows += other.rows
        self.latency_sum_ms += other.latency_sum_ms
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def observe(self, ms: float, rows: int, error: bool) -> None:
        self.requests += 1
        self.rows += rows
        self.latency_sum_ms += ms
        self.buckets[bucket_of(ms)] += 1
        if error:
            self.errors += 1


class ServingStats:
    def __init__(self, *, detail: int = 100) -> None:
        self.detail = detail  # models with their own /metrics series
        self.counters: dict[tuple[str, int, str], Counter] = {}
        self._detailed: set[str] = set()
        self._flushed: dict[tuple[str, int, str], tuple[int, int, float, list[int]]] = {}
        self.client_errors = 0  # 4xx answered before a model was chosen (bad JSON, 404 …)
        self.unauthorized = 0  # 401: no valid token (``serve --auth token``); no model ran
        self.rate_limited = 0  # 429: a client over ``--rate-limit``; no model ran
        self.logs_dropped = 0
        self.logs_written = 0
        self.models_loaded = 0
        self.max_models = 0
        self.loads = 0
        self.load_failures = 0
        self.evictions = 0
        self.load_seconds = 0.0
        self.load_buckets = [0] * (len(LOAD_BOUNDS_S) + 1)

    def observe_load(self, seconds: float) -> None:
        self.loads += 1
        self.load_seconds += seconds
        at = next((i for i, b in enumerate(LOAD_BOUNDS_S) if seconds <= b), len(LOAD_BOUNDS_S))
        self.load_buckets[at] += 1

    def counter(self, model: str, version: int, role: str) -> Counter:
        key = (model, version, role)
        found = self.counters.get(key)
        if found is None:
            found = self.counters[key] = Counter()
            if len(self._detailed) < self.detail:
                self._detailed.add(model)
        return found

    def deltas(self, only: Callable[[str], bool] | None = None) -> list[StatsRow]:
        """What changed since the last call: one row per key that saw requests (of the
        models ``only`` admits; the others' changes wait for a later call)."""
        rows: list[StatsRow] = []
        for key, c in list(self.counters.items()):
            if only is not None and not only(key[0]):
                continue
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
        series = self._series()
        for name, attr, text in (
            ("requests_total", "requests", "Prediction requests per model version and role."),
            ("request_errors_total", "errors", "Requests that failed (4xx or 5xx)."),
            ("predicted_rows_total", "rows", "Rows predicted."),
        ):
            yield f"# HELP shipyard_{name} {text}\n# TYPE shipyard_{name} counter\n"
            for key, c in series:
                yield f"shipyard_{name}{{{_labels(env, key)}}} {getattr(c, attr)}\n"
        yield from _histogram(
            "request_duration_seconds",
            "Time to answer a prediction request, per role.",
            self._by_role(),
            [b / 1000 for b in BOUNDS_MS],
            lambda c: c.latency_sum_ms / 1000,
            env,
        )
        yield from self._model_lines(env)
        for name, value, text in (
            ("client_errors_total", self.client_errors, "Bad requests not tied to a version."),
            ("unauthorized_total", self.unauthorized, "Requests refused for want of a token."),
            ("rate_limited_total", self.rate_limited, "Requests refused by the rate limit."),
            ("prediction_logs_dropped_total", self.logs_dropped, "Log rows dropped: queue full."),
            ("prediction_logs_written_total", self.logs_written, "Prediction log rows written."),
        ):
            yield _single(name, "counter", value, text, env)

    def _series(self) -> list[tuple[tuple[str, int, str], Counter]]:
        """Detailed versions' counters, then one sum per role of all the others."""
        detailed: list[tuple[tuple[str, int, str], Counter]] = []
        other: dict[str, Counter] = {}
        for key, c in sorted(self.counters.items()):
            if key[0] in self._detailed:
                detailed.append((key, c))
            else:
                other.setdefault(key[2], Counter()).add(c)
        return detailed + [((OTHER, -1, role), c) for role, c in sorted(other.items())]

    def _by_role(self) -> list[tuple[str, Counter]]:
        roles: dict[str, Counter] = {}
        for (_, _, role), c in self.counters.items():
            roles.setdefault(role, Counter()).add(c)
        return [(f'role="{role}"', c) for role, c in sorted(roles.items())]

    def _model_lines(self, env: str) -> Iterator[str]:
        for name, kind, value, text in (
            ("models_loaded", "gauge", self.models_loaded, "Model versions loaded now."),
            ("models_max", "gauge", self.max_models, "The cap on loaded versions."),
            ("model_loads_total", "counter", self.loads, "Model versions loaded."),
            ("model_load_failures_total", "counter", self.load_failures, "Loads that failed."),
            ("model_evictions_total", "counter", self.evictions, "Versions evicted (LRU)."),
        ):
            yield _single(name, kind, value, text, env)
        load = Counter(self.loads, 0, 0, self.load_seconds * 1000, self.load_buckets)
        yield from _histogram(
            "model_load_seconds",
            "Time to load a model version (cold misses and warm-ups).",
            [("", load)],
            list(LOAD_BOUNDS_S),
            lambda c: c.latency_sum_ms / 1000,
            env,
        )


def _single(name: str, kind: str, value: float, text: str, env: str) -> str:
    name = f"shipyard_{name}"
    return f'# HELP {name} {text}\n# TYPE {name} {kind}\n{name}{{env="{env}"}} {value}\n'


def _histogram(
    name: str,
    text: str,
    series: list[tuple[str, Counter]],
    bounds: list[float],
    total: Callable[[Counter], float],
    env: str,
) -> Iterator[str]:
    name = f"shipyard_{name}"
    yield f"# HELP {name} {text}\n# TYPE {name} histogram\n"
    for extra, c in series:
        labels = f'env="{env}"' + (f",{extra}" if extra else "")
        seen = 0
        for bound, n in zip((*bounds, None), c.buckets, strict=True):
            seen += n
            le = "+Inf" if bound is None else repr(bound)
            yield f'{name}_bucket{{{labels},le="{le}"}} {seen}\n'
        yield f"{name}_sum{{{labels}}} {total(c)}\n{name}_count{{{labels}}} {c.requests}\n"


def _labels(env: str, key: tuple[str, int, str]) -> str:
    model, version, role = key
    shown = OTHER if version < 0 else version
    return f'env="{env}",model="{model}",version="{shown}",role="{role}"'
