"""The model versions one replica keeps loaded: at most ``cap``, least recently used first out.

The cap bounds what is loaded whatever is deployed (a fleet of 1,000 deployed models served
with a cap of 50 keeps 50 in memory): any version may be evicted, deployed or not, except
those of *pinned* models (hot models an operator keeps loaded). Versions no longer deployed go
before deployed ones. A request for a version that is not loaded (a cold miss) loads it on
demand and waits for it; concurrent requests for the same cold version share one load. An
evicted version is not closed: requests already holding it finish on it, and it is freed
with the last of them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from concurrent.futures import Future

from shipyard.services.serving.predictors import LoadedModel
from shipyard.services.serving.stats import ServingStats

__all__ = ["ModelCache"]

Key = tuple[str, int]
log = logging.getLogger("shipyard.serve")


class ModelCache:
    """Loaded versions by (model, version), in least-recently-used order."""

    def __init__(
        self,
        load: Callable[[str, int], LoadedModel],
        *,
        cap: int,
        pinned: Collection[str],
        stats: ServingStats,
        on_evict: Callable[[Key], object] | None = None,
    ) -> None:
        self._load = load
        self.cap = max(1, cap)
        self.pinned = frozenset(pinned)
        self.stats = stats
        stats.max_models = self.cap
        self.on_evict = on_evict
        self.routed: Callable[[], Collection[Key]] = frozenset
        self._models: OrderedDict[Key, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Key, Future[LoadedModel]] = {}  # loads under way (any thread)
        self._waiting: dict[Key, asyncio.Future[LoadedModel]] = {}  # the event loop's

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._models

    def keys(self) -> list[Key]:
        """Loaded keys, least recently used first."""
        with self._lock:
            return list(self._models)

    def get(self, key: Key) -> LoadedModel | None:
        """The loaded version (now the most recently used), or None."""
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
            return found

    async def model(self, name: str, version: int) -> LoadedModel:
        """The version, loaded on demand in a worker thread (one load per key at a time)."""
        key = (name, version)
        found = self.get(key)
        if found is not None:
            return found
        pending = self._waiting.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(loop.run_in_executor(None, self.load, name, version))
            self._waiting[key] = pending
            pending.add_done_callback(lambda _: self._waiting.pop(key, None))
        return await asyncio.shield(pending)

    def load(self, name: str, version: int) -> LoadedModel:
        """Load ``name@version`` unless it is loaded or loading (then wait for that load)."""
        key = (name, version)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                return found
            inflight = self._inflight.get(key)
            mine = inflight is None
            if inflight is None:
                inflight = self._inflight[key] = Future()
        if not mine:
            return inflight.result()
        try:
            loaded = self._timed_load(name, version)
        except BaseException as e:
            with self._lock:
                self._inflight.pop(key, None)
            inflight.set_exception(e)
            raise
        with self._lock:
            self._models[key] = loaded
            self._inflight.pop(key, None)
            self._evict_locked(keep=key)
        inflight.set_result(loaded)
        return loaded

    def _timed_load(self, name: str, version: int) -> LoadedModel:
        started = time.perf_counter()
        try:
            loaded = self._load(name, version)
        except Exception:
            self.stats.load_failures += 1
            raise
        seconds = time.perf_counter() - started
        self.stats.observe_load(seconds)
        log.info("loaded %s@v%s in %.1f ms (%s path)", name, version, seconds * 1000, loaded.path)
        return loaded

    def evict(self) -> int:
        """Evict down to the cap; returns how many versions went."""
        with self._lock:
            return self._evict_locked(keep=None)

    def _evict_locked(self, keep: Key | None) -> int:
        over = len(self._models) - self.cap
        if over > 0:
            routed = set(self.routed())
            candidates = [k for k in self._models if k != keep and k[0] not in self.pinned]
            # versions no longer deployed first, then deployed ones, each least recent first
            candidates.sort(key=lambda k: k in routed)  # stable: keeps the LRU order
            if len(candidates) < over:
                log.warning("pinned models hold %d versions, over the cap of %d", over, self.cap)
            over = min(over, len(candidates))
            for key in candidates[:over]:
                self._models.pop(key)
                self.stats.evictions += 1
                if self.on_evict is not None:
                    self.on_evict(key)
        self.stats.models_loaded = len(self._models)
        return max(0, over)
