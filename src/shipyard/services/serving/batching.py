"""Adaptive micro-batching of concurrent requests to one model version.

Requests queue while the model is busy; when it is free, everything queued (up to
``max_batch`` rows) is predicted in one call and the answers are split back. With
``max_wait_ms`` > 0 an idle model also waits that long for company. Cheap models run on the
event loop itself (a thread hop costs more than their predict); costly ones in a thread of
their own so the loop keeps accepting requests meanwhile. A batch that fails is retried
request by request, so one bad request fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["Batcher"]

THREAD_ABOVE_MS = 0.5  # single-row predict cost above which predicts leave the event loop


class Batcher:
    def __init__(
        self,
        predict: Callable[[Any], Any],
        *,
        cost_ms: float,
        max_batch: int,
        max_wait_ms: float,
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait = max_wait_ms / 1000
        self.pool = ThreadPoolExecutor(1) if cost_ms > THREAD_ABOVE_MS else None
        self.pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self.rows_pending = 0
        self.busy = False
        self.batches = 0
        self.rows = 0

    async def submit(self, x: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self.pending.append((x, fut))
        self.rows_pending += len(x)
        if not self.busy:
            self.busy = True
            if self.max_wait and self.rows_pending < self.max_batch:
                loop.call_later(self.max_wait, self._drain, loop)
            else:
                loop.call_soon(self._drain, loop)
        return await fut

    def _take(self) -> list[tuple[Any, asyncio.Future[Any]]]:
        taken: list[tuple[Any, asyncio.Future[Any]]] = []
        rows = 0
        while self.pending and (not taken or rows + len(self.pending[0][0]) <= self.max_batch):
            item = self.pending.pop(0)
            taken.append(item)
            rows += len(item[0])
        self.rows_pending -= rows
        return taken

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        taken = self._take()
        if not taken:
            self.busy = False
            return
        if self.pool is None:
            self._finish(loop, taken, _run(self.predict, [x for x, _ in taken]))
        else:
            job = loop.run_in_executor(self.pool, _run, self.predict, [x for x, _ in taken])
            job.add_done_callback(lambda j: self._finish(loop, taken, j.result()))

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        taken: list[tuple[Any, asyncio.Future[Any]]],
        results: list[tuple[bool, Any]],
    ) -> None:
        self.batches += 1
        for (x, fut), (ok, value) in zip(taken, results, strict=True):
            self.rows += len(x)
            if fut.done():
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
        if self.pending:
            loop.call_soon(self._drain, loop)
        else:
            self.busy = False

    def close(self) -> None:
        """Let the thread go once the work already handed to it is done."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)


def _run(predict: Callable[[Any], Any], xs: list[Any]) -> list[tuple[bool, Any]]:
    """Predict all of ``xs`` in one call; on failure, one by one (so only the bad one fails)."""
    if len(xs) == 1:
        try:
            return [(True, predict(xs[0]))]
        except Exception as e:
            return [(False, e)]
    try:
        y = predict(_concat(xs))
    except Exception:
        return [r for x in xs for r in _run(predict, [x])]
    out, start = [], 0
    for x in xs:
        out.append((True, y[start : start + len(x)]))
        start += len(x)
    return out


def _concat(xs: list[Any]) -> Any:
    import numpy as np

    if isinstance(xs[0], np.ndarray):
        return np.concatenate(xs)
    import pandas as pd

    return pd.concat(xs, ignore_index=True)
