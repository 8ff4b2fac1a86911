"""One serving replica's state: the environment's deployments, loaded models, figures, logs.

A background thread polls the environment's generation (one indexed query) every
``poll_s``; on a change it loads the new versions *first* and then swaps the route table
in one assignment, so requests in flight finish on the versions they started with and no
request waits for a load. Every ``flush_s`` it writes this replica's figures and prediction
logs and lets the canary watcher judge. Stateless: replicas share only the DB and the store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from shipyard.core.deployments import Deployment, Role, Strategy, in_canary
from shipyard.core.errors import NotFoundError
from shipyard.services.serving.batching import Batcher
from shipyard.services.serving.predictors import LoadedModel, load_version
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import ServingSettings

__all__ = ["Choice", "ServingRuntime"]

log = logging.getLogger("shipyard.serve")


@dataclass(frozen=True)
class Choice:
    version: int
    role: str
    shadow: int | None = None  # a candidate that gets a copy of this request


class ServingRuntime:
    def __init__(
        self,
        *,
        env: str,
        deployments: Any,
        figures: Any,
        registry: Any,
        backend: Any,
        settings: ServingSettings,
        allow_pickle: bool = False,
    ) -> None:
        self.env = env
        self.deployments = deployments
        self.figures = figures
        self.registry = registry
        self.settings = settings
        self.allow_pickle = allow_pickle
        self.replica = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.stats = ServingStats()
        self.predlog = PredictionLog(backend, self.replica, self.stats, settings.log_queue, env=env)
        self.routes: dict[str, Deployment] = {}
        self.generation = -1
        self._models: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, int], asyncio.Future[LoadedModel]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counter = 0
        self._prefix = secrets.token_hex(4)

    # ------------------------------------------------------------ requests
    def prediction_id(self) -> str:
        self._counter += 1
        return f"{self._prefix}-{self._counter:x}"

    def deployment(self, model: str) -> Deployment:
        found = self.routes.get(model)
        if found is None:
            raise NotFoundError(
                f"model {model!r} is not deployed to {self.env}"
                + (f"; it serves {', '.join(sorted(self.routes))}" if self.routes else ""),
                field="model",
            )
        return found

    def choose(self, d: Deployment, key: str | None, version: int | None) -> Choice:
        """Which version answers: a pinned one, else the live/canary split."""
        if version is not None:
            if version not in d.versions():
                raise NotFoundError(
                    f"version {version} of {d.model!r} is not deployed to {self.env} "
                    f"(deployed: {', '.join(f'v{v}' for v in d.versions())})",
                    field="version",
                )
            role = Role.LIVE if version == d.live_version else _candidate_role(d)
            return Choice(version, role.value)
        live = d.live_version
        cand = d.candidate_version
        if cand is None or live is None:
            return Choice(live or cand or 0, Role.LIVE.value)
        if d.strategy is Strategy.CANARY:
            hit = in_canary(key, d.traffic) if key else random.random() * 100 < d.traffic
            return Choice(cand, Role.CANARY.value) if hit else Choice(live, Role.LIVE.value)
        if d.strategy is Strategy.SHADOW:
            sample = in_canary(key, d.traffic) if key else random.random() * 100 < d.traffic
            return Choice(live, Role.LIVE.value, cand if sample else None)
        return Choice(live, Role.LIVE.value)  # bluegreen: staged, no traffic yet

    async def model(self, name: str, version: int) -> LoadedModel:
        key = (name, version)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        pending = self._loading.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(loop.run_in_executor(None, self._load, name, version))
            self._loading[key] = pending
            pending.add_done_callback(lambda _: self._loading.pop(key, None))
        return await pending

    async def predict(self, loaded: LoadedModel, role: str, x: Any, started: float) -> Any:
        """``loaded``'s answer to ``x`` (micro-batched); a failure is counted, then raised."""
        try:
            return await self.batcher(loaded).submit(x)
        except Exception:
            name, version = loaded.key
            self.stats.counter(name, version, role).observe(_ms_since(started), 0, True)
            raise

    def answered(
        self, pid: str, loaded: LoadedModel, role: str, started: float, x: Any, y: Any
    ) -> None:
        """Count an answer and queue its prediction log."""
        latency = _ms_since(started)
        name, version = loaded.key
        self.stats.counter(name, version, role).observe(latency, len(y), False)
        now = int(time.time() * 1000)
        self.predlog.add(
            LogRecord(pid, now, name, version, role, latency, loaded.spec.columns, x, y)
        )

    def loaded_count(self) -> int:
        with self._lock:
            return len(self._models)

    def batcher(self, loaded: LoadedModel) -> Batcher:
        found = loaded.extra.get("batcher")
        if found is None:
            found = loaded.extra["batcher"] = Batcher(
                loaded.predict,
                cost_ms=loaded.cost_ms,
                max_batch=self.settings.max_batch,
                max_wait_ms=self.settings.max_wait_ms,
            )
        return found

    # ------------------------------------------------------------ loading
    def _load(self, name: str, version: int) -> LoadedModel:
        with self._lock:
            found = self._models.get((name, version))
        if found is not None:
            return found
        v = self.registry.get_version(f"{name}@{version}")
        loaded = load_version(
            self.registry, v, allow_pickle=self.allow_pickle, onnx=self.settings.onnx
        )
        with self._lock:
            self._models[loaded.key] = loaded
            self._evict()
        log.info("loaded %s (%s path, %.2f ms/row)", v.ref, loaded.path, loaded.cost_ms)
        return loaded

    def _evict(self) -> None:
        routed = {(d.model, v) for d in self.routes.values() for v in d.versions()}
        for key in list(self._models):
            if len(self._models) <= max(1, self.settings.max_models):
                break
            if key not in routed:
                gone = self._models.pop(key)
                batcher = gone.extra.get("batcher")
                if batcher is not None:
                    batcher.close()

    def refresh(self) -> bool:
        """Pick up deployment changes; True when the routes changed."""
        generation = self.deployments.generation(self.env)
        if generation == self.generation:
            return False
        routes = {d.model: d for d in self.deployments.list(self.env)}
        wanted = [(d.model, v) for d in routes.values() for v in d.versions()]
        for name, version in wanted[: self.settings.max_models]:
            try:
                self._load(name, version)  # warm before the switch
            except Exception as e:  # a broken version must not stop the others
                log.error("cannot load %s@v%s: %s", name, version, e)
        self.routes = routes
        self.generation = generation
        with self._lock:
            self._evict()
        return True

    # ------------------------------------------------------------ background work
    def flush(self) -> None:
        rows = self.stats.deltas()
        if rows:
            self.figures.flush(self.env, self.replica, int(time.time() * 1000), rows)
        self.predlog.drain()

    def start(self) -> None:
        import pyarrow.parquet  # noqa: F401  (imported now, not in the first flush)

        self.refresh()
        self._thread = threading.Thread(target=self._run, name="shipyard-serve", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._safely(self.flush)

    def _run(self) -> None:
        next_flush = time.monotonic() + self.settings.flush_s
        while not self._stop.wait(self.settings.poll_s):
            self._safely(self.refresh)
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.settings.flush_s
                self._safely(self.flush)
                self._safely(lambda: self.figures.watch(self.env))

    @staticmethod
    def _safely(job: Any) -> None:
        try:
            job()
        except Exception:
            log.exception("serving background work failed; retrying on the next tick")


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _candidate_role(d: Deployment) -> Role:
    return Role.SHADOW if d.strategy is Strategy.SHADOW else Role.CANARY
