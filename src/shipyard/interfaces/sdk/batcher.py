"""Metric logging that rarely blocks: points queue in memory and a background thread writes
batches.

Durability contract: a crash (``kill -9``, ``os._exit``, power loss) loses at most the
points logged in the last ``interval`` (1 s) plus the duration of one write, and never more
than ``2 * max_pending`` (1,000) points: ``add`` writes synchronously whenever
``max_pending`` (500) points are queued, so at most that many wait in memory and at most
that many are in a write in flight. A normal exit, ``sys.exit`` or an uncaught exception
loses nothing (``close`` runs at exit).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

from shipyard.core.entities import Metric

__all__ = ["MetricBatcher"]

Writer = Callable[[str, Sequence[Metric]], None]


class MetricBatcher:
    """Buffers ``(run_id, metric)`` points; flushes every ``interval`` s in the background, and
    in the caller when ``max_pending`` points are queued (see the durability contract).

    A failed background write is kept and re-raised by the next ``flush()``, so an error is
    never swallowed; the points of a failed write stay queued and are retried.
    """

    def __init__(self, write: Writer, *, interval: float = 1.0, max_pending: int = 500) -> None:
        self._write = write
        self._interval = interval
        self._max_pending = max_pending
        self._pending: dict[str, list[Metric]] = defaultdict(list)
        self._count = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add(self, run_id: str, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self._pending[run_id].extend(metrics)
            self._count += len(metrics)
            full = self._count >= self._max_pending
        if self._thread is None:
            self._start()
        if full:  # bounded loss on a crash: write now, in the caller
            self.flush()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="shipyard-metrics", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except BaseException as e:  # kept for the next flush() to raise
                self._error = e

    def _drain(self, run_id: str | None = None) -> None:
        with self._flush_lock:
            with self._lock:
                if run_id is None:
                    batches, self._pending = dict(self._pending), defaultdict(list)
                else:
                    batches = {run_id: self._pending.pop(run_id, [])}
                self._count -= sum(len(v) for v in batches.values())
            for rid, points in batches.items():
                if not points:
                    continue
                try:
                    self._write(rid, points)
                except BaseException:
                    with self._lock:  # put back, in front of newer points
                        self._pending[rid][:0] = points
                        self._count += len(points)
                    raise

    def take(self, run_id: str) -> list[Metric]:
        """Remove and return the queued points of one run (the caller writes them)."""
        with self._flush_lock, self._lock:
            points = self._pending.pop(run_id, [])
            self._count -= len(points)
            return points

    def put_back(self, run_id: str, points: Sequence[Metric]) -> None:
        with self._lock:
            self._pending[run_id][:0] = points
            self._count += len(points)

    def raise_pending_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def flush(self, run_id: str | None = None) -> None:
        """Write everything queued (for one run, or all) now; raise a pending background error."""
        error, self._error = self._error, None
        self._drain(run_id)
        if error is not None:
            raise error

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._thread.join(timeout=5)
