"""Serving a fleet: the model cache (LRU over any version, pins, one load per cold key), bounded
/metrics, prediction logs buffered by size and age, and the pin settings' checks."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from shipyard.core.errors import ValidationError
from shipyard.services.serving.model_cache import ModelCache
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import load_settings
from shipyard.stores.blobs import LocalBackend


def _run(main: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


class Loads:
    """A load function that records its calls (what a version "is" does not matter here)."""

    def __init__(self, delay: float = 0.0, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, int]] = []
        self.delay = delay
        self.failing = failing
        self.lock = threading.Lock()

    def __call__(self, name: str, version: int) -> Any:
        with self.lock:
            self.calls.append((name, version))
        time.sleep(self.delay)
        if name in self.failing:
            raise RuntimeError(f"{name} is broken")
        return SimpleNamespace(path="test")


def _cache(cap: int, loads: Loads, pinned: tuple[str, ...] = ()) -> tuple[ModelCache, Any]:
    stats = ServingStats()
    evicted: list[tuple[str, int]] = []
    cache = ModelCache(loads, cap=cap, pinned=pinned, stats=stats, on_evict=evicted.append)
    return cache, (stats, evicted)


def test_the_cap_evicts_the_least_recently_used_version_deployed_or_not() -> None:
    loads = Loads()
    cache, (stats, evicted) = _cache(2, loads)
    cache.routed = lambda: {("a", 1), ("b", 1), ("c", 1)}  # all deployed
    cache.load("a", 1)
    cache.load("b", 1)
    assert cache.get(("a", 1)) is not None  # a is now the most recent
    cache.load("c", 1)
    assert cache.keys() == [("a", 1), ("c", 1)] and evicted == [("b", 1)]
    assert (stats.evictions, stats.models_loaded, stats.loads, stats.max_models) == (1, 2, 3, 2)
    assert sum(stats.load_buckets) == 3


def test_versions_no_longer_deployed_go_first_and_pinned_models_stay() -> None:
    cache, (_, evicted) = _cache(2, Loads())
    cache.routed = lambda: {("b", 1), ("c", 1)}
    cache.load("b", 1)
    cache.load("a", 1)  # newer than b, but no longer deployed
    cache.load("c", 1)
    assert evicted == [("a", 1)]
    pinned, (_, evicted) = _cache(2, Loads(), pinned=("hot",))
    pinned.load("hot", 3)
    for name in ("x", "y", "z"):
        pinned.load(name, 1)
    assert ("hot", 3) in pinned and len(pinned) == 2 and ("hot", 3) not in evicted


def test_concurrent_requests_for_a_cold_version_share_one_load() -> None:
    loads = Loads(delay=0.05)
    cache, (stats, _) = _cache(4, loads)

    async def main() -> list[Any]:
        return await asyncio.gather(*(cache.model("cold", 1) for _ in range(25)))

    got = _run(main)
    assert loads.calls == [("cold", 1)] and all(g is got[0] for g in got)
    assert stats.loads == 1
    # a thread warming the same key meanwhile waits for that load too
    loads2 = Loads(delay=0.05)
    cache2, _ = _cache(4, loads2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cache2.load("m", 2), range(4)))
    assert loads2.calls == [("m", 2)] and len({id(r) for r in results}) == 1


def test_a_failed_load_is_counted_not_cached_and_tried_again() -> None:
    loads = Loads(failing=frozenset({"bad"}))
    cache, (stats, _) = _cache(2, loads)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="bad is broken"):
            cache.load("bad", 1)
    assert stats.load_failures == 2 and len(cache) == 0 and len(loads.calls) == 2


def test_metrics_stay_bounded_at_a_thousand_models() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    stats = ServingStats(detail=3)
    for i in range(1000):
        stats.counter(f"m-{i:04d}", 1, "live").observe(2.0, 1, i % 10 == 0)
    stats.counter("m-0000", 2, "canary").observe(4.0, 2, False)
    text = stats.prometheus("fleet")
    assert len(text) < 12_000  # was ~2.7 KB per version: 2.7 MB here
    samples = {
        (s.name, s.labels.get("model"), s.labels.get("role")): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert samples[("shipyard_requests_total", "m-0000", "live")] == 1
    assert samples[("shipyard_requests_total", "_other", "live")] == 997  # m-0003 .. m-0999
    assert samples[("shipyard_request_errors_total", "_other", "live")] == 99
    assert samples[("shipyard_requests_total", "m-0000", "canary")] == 1  # a detailed model
    assert samples[("shipyard_request_duration_seconds_count", None, "live")] == 1000
    assert samples[("shipyard_request_duration_seconds_count", None, "canary")] == 1
    stats.observe_load(0.03)
    loads = {
        s.name: s.value
        for f in text_string_to_metric_families(stats.prometheus("f"))
        for s in f.samples
    }
    assert (
        loads["shipyard_model_load_seconds_count"] == 1 and loads["shipyard_model_loads_total"] == 1
    )
    assert loads["shipyard_model_load_seconds_sum"] == pytest.approx(0.03)


def _record(model: str, time_ms: int, rows: int = 1) -> LogRecord:
    x = np.ones((rows, 2))
    return LogRecord(
        f"id-{model}-{time_ms}", time_ms, model, 1, "live", 1.0, ("a", "b"), x, x[:, 0]
    )


def test_prediction_logs_are_buffered_per_model_until_size_or_age(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "objects")
    stats = ServingStats()
    log = PredictionLog(backend, "r1", stats, 1000, env="prod", max_rows=6, max_age_s=3600)
    now = int(time.time() * 1000)
    for i in range(20):  # spread over four models: one row each per "request"
        log.add(_record(f"m{i % 4}", now + i))
        assert log.drain(final=False) == 0  # periodic drains: nothing due yet
    log.add(_record("m0", now + 99))  # m0's buffer reaches 6 rows: due by size
    assert log.drain(final=False) == 6 and log.files == 1
    assert log.drain(final=True) == 15 and log.files == 4  # shutdown writes the rest
    assert len(list(backend.list("predictions/"))) == 4
    log.add(_record("m1", now + 100))
    log.add(_record("m2", now + 101))
    assert log.drain(final=False, eager=lambda model: model == "m2") == 1  # a canary's: now
    aged = PredictionLog(backend, "r2", stats, 1000, env="prod", max_rows=10**6, max_age_s=0)
    aged.add(_record("m9", now))
    assert aged.drain(final=False) == 1  # due by age
    full = PredictionLog(backend, "r3", stats, 4, env="prod", max_rows=10**6, max_age_s=3600)
    for i in range(6):
        full.add(_record("m8", now + i))
    assert stats.logs_dropped == 2  # buffered records count against the capacity
    assert full.drain(final=False) == 4  # half the capacity held: written early


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"SHIPYARD_SERVE_PINNED": "a,b", "SHIPYARD_SERVE_MAX_MODELS": "2"}, "pin fewer models"),
        ({"SHIPYARD_SERVE_MAX_MODELS": "1", "SHIPYARD_SERVE_PINNED": "a"}, "max_models is 1"),
    ],
)
def test_pins_must_leave_room_under_the_cap(
    tmp_path: Path, variables: dict[str, str], words: str
) -> None:
    with pytest.raises(ValidationError, match=words) as e:
        load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path), **variables})
    assert e.value.field == "pinned"


def test_pins_read_from_toml_and_variables(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text('[serving]\npinned = ["hot", "hot", " warm "]\n')
    settings = load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)})
    assert settings.serving.pinned == ("hot", "warm")
    (tmp_path / "shipyard.toml").write_text("[serving]\npinned = 3\n")
    with pytest.raises(ValidationError, match="list of model names, got 3"):
        load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)})


def test_deltas_of_some_models_now_the_others_later() -> None:
    stats = ServingStats()
    stats.counter("canary-model", 2, "canary").observe(3.0, 1, False)
    stats.counter("quiet", 1, "live").observe(3.0, 1, False)
    (row,) = stats.deltas(only=lambda model: model == "canary-model")
    assert row[:3] == ("canary-model", 2, "canary") and row[3] == 1
    stats.counter("quiet", 1, "live").observe(3.0, 1, True)
    (later,) = stats.deltas()  # nothing of the quiet model was lost meanwhile
    assert later[:3] == ("quiet", 1, "live") and later[3:5] == (2, 1)


def test_onnx_answers_own_their_memory(tmp_path: Path) -> None:
    """Answers outlive an evicted version in the prediction log's buffers: they must not keep
    ONNX Runtime's buffers (and so the session's memory) alive."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from shipyard.interfaces.bootstrap import build_services
    from shipyard.services.serving.predictors import load_version

    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        admin = svc.access.ensure_local_admin()
        x = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)), columns=["a", "b", "c"])
        model = LogisticRegression().fit(x, (x["a"] > 0).astype(int))
        v = svc.registry.log_model(model, "tiny", user=admin.name, input_example=x.head(5))
        loaded = load_version(svc.registry, v, allow_pickle=False)
        assert loaded.path == "onnx"
        y = loaded.predict(x.to_numpy()[:4])
        assert y.labels.flags.owndata and y.proba.flags.owndata
        assert y.labels.tolist() == model.predict(x.head(4)).tolist()
    finally:
        svc.close()
