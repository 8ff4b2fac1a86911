"""One serving replica: the environment's deployments, loaded models, and the one call that
answers a decoded request (version choice, micro-batching, counting, logging, shadow copy).

A background thread polls the environment's generation (one indexed query) every
``poll_s``; on a change it loads the new versions *first* and then swaps the route table
in one assignment, so requests in flight finish on the versions they started with and no
request waits for a load. Every ``flush_s`` it writes this replica's figures and prediction
logs; the canary watcher is a job of the scheduler (``jobs``), run once per ``flush_s`` across
all replicas. Stateless: replicas share only the DB and the store.

A binary classifier's answers carry the positive class's probability (computed in the same
batched call, see ``predictors``): it is always logged (``_proba``) and returned when the
request asks for it (``InferenceRequest.proba``). Prediction ids carry their time
(``formats.predictions.prediction_id``) so labels joined to them later find their day.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from shipyard.core.deployments import Deployment
from shipyard.core.errors import ModelFailedError, NotFoundError, ShipyardError, ValidationError
from shipyard.services.formats.predictions import prediction_id
from shipyard.services.ports import (
    DeploymentRoutes,
    PeriodicJobs,
    ServedVersions,
    ServingFigures,
)
from shipyard.services.serving.batching import Batcher
from shipyard.services.serving.inputs import InputSpec
from shipyard.services.serving.model_cache import ModelCache
from shipyard.services.serving.predictors import LoadedModel, Scored, load_version
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.routing import Choice, choose
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import ServingSettings

__all__ = ["Answer", "Choice", "InferenceRequest", "ServingRuntime"]

log = logging.getLogger("shipyard.serve")


class InferenceRequest(NamedTuple):
    """What a protocol handler read: where the request goes and how to decode its inputs
    once the answering version's signature is known (a NamedTuple: one per request)."""

    model: str | None  # None: the environment's only model
    version: int | None  # None: the live/candidate split decides
    key: str | None  # sticky routing key (X-Shipyard-Key)
    decode: Callable[[InputSpec], Any]  # signature → a matrix or DataFrame (4xx on bad input)
    started: float  # time.perf_counter() when the request arrived
    proba: bool = False  # the answer must carry the positive-class probabilities


class Answer(NamedTuple):
    """The runtime's answer to one request (a NamedTuple: one per request)."""

    outputs: Any  # 1-d array
    loaded: LoadedModel
    choice: Choice
    prediction_id: str
    proba: Any = None  # 1-d float array for binary classifiers, else None


class ServingRuntime:
    def __init__(
        self,
        *,
        env: str,
        deployments: DeploymentRoutes,
        figures: ServingFigures,
        registry: ServedVersions,
        stats: ServingStats,
        predlog: PredictionLog,
        settings: ServingSettings,
        allow_pickle: bool = False,
        jobs: PeriodicJobs | None = None,
        compact: Callable[[], Any] | None = None,
    ) -> None:
        """``compact`` merges small prediction-log files (a job, run once across replicas)."""
        self.env = env
        self.jobs = jobs
        self.compact = compact
        self._next_stats = time.monotonic() + settings.stats_s
        self.deployments = deployments
        self.figures = figures
        self.registry = registry
        self.settings = settings
        self.allow_pickle = allow_pickle
        self.stats = stats
        self.predlog = predlog
        self.replica = predlog.replica
        self.routes: dict[str, Deployment] = {}
        self.generation = -1
        self._batchers: dict[tuple[str, int], Batcher] = {}
        self._lock = threading.Lock()
        self.models = ModelCache(
            self._load,
            cap=settings.max_models,
            pinned=settings.pinned,
            stats=stats,
            on_evict=lambda key: self._batchers.pop(key, None),  # atomic: no lock needed
        )
        self.models.routed = self._routed
        self._background: set[asyncio.Task[Any]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counter = 0
        self._prefix = secrets.token_hex(4)

    # ------------------------------------------------------------ requests
    async def answer(self, request: InferenceRequest) -> Answer:
        """Choose the version, decode, predict (micro-batched), count and log the answer,
        and send a copy to a shadow candidate. A model failure raises ``ModelFailedError``
        and counts against the version; bad input raises before anything is counted."""
        name = request.model or self._only_model()
        choice = choose(self.deployment(name), self.env, request.key, request.version)
        loaded = await self.model(name, choice.version)
        if request.proba and not loaded.scores:
            raise ValidationError(
                f"{loaded.version.ref} gives no probabilities (only binary classifiers with "
                "predict_proba do); do not ask for proba",
                field="proba",
            )
        x = request.decode(loaded.spec)
        try:
            y = await self._predict(loaded, choice.role, x, request.started)
        except Exception as e:
            raise ModelFailedError(
                f"model {loaded.version.ref} failed: {type(e).__name__}: {str(e)[:500]}",
                field="model",
            ) from None
        pid = self._prediction_id()
        labels, proba = _split(y)
        self._answered(pid, loaded, choice.role, request.started, x, labels, proba)
        if choice.shadow is not None:
            self._spawn(self._shadow(name, choice.shadow, x, pid))
        return Answer(labels, loaded, choice, pid, proba)

    async def describe(self, name: str, version: int | None) -> tuple[Deployment, LoadedModel]:
        """The deployment of ``name`` and its loaded version (pinned, else the live one)."""
        d = self.deployment(name)
        loaded = await self.model(name, choose(d, self.env, "metadata", version).version)
        return d, loaded

    async def is_ready(self, name: str, version: int | None) -> bool:
        """Whether the version loads; an unknown model or version is a 404, not "not ready"."""
        choice = choose(self.deployment(name), self.env, "ready", version)
        try:
            await self.model(name, choice.version)
        except ShipyardError:
            return False
        return True

    def deployment(self, model: str) -> Deployment:
        found = self.routes.get(model)
        if found is None:
            raise NotFoundError(
                f"model {model!r} is not deployed to {self.env}"
                + (f"; it serves {', '.join(sorted(self.routes))}" if self.routes else ""),
                field="model",
            )
        return found

    def _only_model(self) -> str:
        names = sorted(self.routes)
        if len(names) == 1:
            return names[0]
        raise ValidationError(
            f"{self.env} serves {len(names)} models ({', '.join(names) or 'none'}); "
            "name one: /models/<name>/invocations, ?model=<name> or the X-Shipyard-Model header",
            field="model",
        )

    def _prediction_id(self) -> str:
        self._counter += 1
        return prediction_id(self._prefix, int(time.time() * 1000), self._counter)

    async def _predict(self, loaded: LoadedModel, role: str, x: Any, started: float) -> Any:
        """``loaded``'s answer to ``x`` (micro-batched); a failure is counted, then raised."""
        try:
            return await self._batcher(loaded).submit(x)
        except Exception:
            name, version = loaded.key
            self.stats.counter(name, version, role).observe(_ms_since(started), 0, True)
            raise

    def _answered(
        self,
        pid: str,
        loaded: LoadedModel,
        role: str,
        started: float,
        x: Any,
        y: Any,
        proba: Any = None,
    ) -> None:
        """Count an answer and queue its prediction log."""
        latency = _ms_since(started)
        name, version = loaded.key
        self.stats.counter(name, version, role).observe(latency, len(y), False)
        now = int(time.time() * 1000)
        columns = loaded.spec.columns
        self.predlog.add(LogRecord(pid, now, name, version, role, latency, columns, x, y, proba))

    async def _shadow(self, name: str, version: int, x: Any, pid: str) -> None:
        """The candidate answers a copy of the request; only its logs and figures see it."""
        started = time.perf_counter()
        try:
            loaded = await self.model(name, version)
        except Exception:
            self.stats.counter(name, version, "shadow").observe(_ms_since(started), 0, True)
            return
        try:
            y = await self._predict(loaded, "shadow", x, started)
        except Exception:
            return  # counted by _predict
        self._answered(pid, loaded, "shadow", started, x, *_split(y))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _batcher(self, loaded: LoadedModel) -> Batcher:
        with self._lock:
            found = self._batchers.get(loaded.key)
            if found is None or found.predict is not loaded.predict:  # new or reloaded
                found = Batcher(
                    loaded.predict,
                    cost_ms=loaded.cost_ms,
                    max_batch=self.settings.max_batch,
                    max_wait_ms=self.settings.max_wait_ms,
                )
                if self.models.get(loaded.key) is loaded:  # not for a version evicted since
                    self._batchers[loaded.key] = found
            return found

    # ------------------------------------------------------------ loading
    def loaded_count(self) -> int:
        return len(self.models)

    async def model(self, name: str, version: int) -> LoadedModel:
        """The loaded version; a cold one loads now (the request waits, it does not fail)."""
        return await self.models.model(name, version)

    def _load(self, name: str, version: int) -> LoadedModel:
        v = self.registry.get_version(f"{name}@{version}")
        return load_version(
            self.registry, v, allow_pickle=self.allow_pickle, onnx=self.settings.onnx
        )

    def _routed(self) -> set[tuple[str, int]]:
        return {(d.model, v) for d in self.routes.values() for v in d.versions()}

    def refresh(self) -> bool:
        """Pick up deployment changes; True when the routes changed."""
        generation = self.deployments.generation(self.env)
        if generation == self.generation:
            return False
        routes = {d.model: d for d in self.deployments.list(self.env)}
        for name, version in self._to_warm(routes):
            try:
                self.models.load(name, version)  # warm before the switch
            except Exception as e:  # a broken version must not stop the others
                log.error("cannot load %s@v%s: %s", name, version, e)
        self.routes = routes
        self.generation = generation
        self.models.evict()
        return True

    def _to_warm(self, routes: dict[str, Deployment]) -> list[tuple[str, int]]:
        """What to load before switching to ``routes``: the versions of pinned models and
        of models already loaded (their new versions must not wait for a request), then
        others while there is room under the cap (a fleet larger than the cap loads the
        rest on demand)."""
        loaded = set(self.models.keys())
        hot = {name for name, _ in loaded} | self.models.pinned
        wanted = [(d.model, v) for d in routes.values() for v in d.versions()]
        missing = [k for k in wanted if k not in loaded]
        first = [k for k in missing if k[0] in hot]
        room = max(0, self.models.cap - len(loaded) - len(first))
        return first + [k for k in missing if k[0] not in hot][:room]

    # ------------------------------------------------------------ background work
    def flush(self, final: bool = False) -> None:
        """Write figures and prediction logs: every call, the figures and logs of models in a
        rollout (the canary watcher judges them) and logs due by size or age; every
        ``stats_s``, the figures of the others (one row per model per flush made tables grow
        with fleets)."""
        due = final or time.monotonic() >= self._next_stats
        if due:
            self._next_stats = time.monotonic() + self.settings.stats_s
        rows = self.stats.deltas(None if due else self._in_rollout)
        if rows:
            self.figures.flush(self.env, self.replica, int(time.time() * 1000), rows)
        self.predlog.drain(final=final, eager=self._in_rollout)

    def _in_rollout(self, model: str) -> bool:
        d = self.routes.get(model)
        return d is None or d.candidate_version is not None

    def start(self) -> None:
        import pyarrow.parquet  # noqa: F401  (imported now, not in the first flush)

        self.refresh()
        self._thread = threading.Thread(target=self._run, name="shipyard-serve", daemon=True)
        self._thread.start()
        if self.jobs is not None:
            name, every = f"canary-watch:{self.env}", self.settings.flush_s
            self.jobs.register(name, every, lambda: self.figures.watch(self.env))
            if self.compact is not None and self.settings.compact_s > 0:
                every = self.settings.compact_s  # one job for the whole store, any replica
                self.jobs.register("predlog-compact", every, self.compact, lease_s=every * 3)
            self.jobs.start()

    def stop(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._safely(lambda: self.flush(final=True))

    def _run(self) -> None:
        next_flush = time.monotonic() + self.settings.flush_s
        while not self._stop.wait(self.settings.poll_s):
            self._safely(self.refresh)
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.settings.flush_s
                self._safely(self.flush)

    @staticmethod
    def _safely(job: Any) -> None:
        try:
            job()
        except Exception:
            log.exception("serving background work failed; retrying on the next tick")


def _split(y: Any) -> tuple[Any, Any]:
    """(labels, positive-class probabilities or None) of a predict's answer."""
    if isinstance(y, Scored):
        return y.labels, y.proba
    return y, None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
