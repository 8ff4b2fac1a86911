"""The inference server: a bare ASGI app (no framework on the hot path), run by uvicorn.

Routes: the Open Inference Protocol (``/v2…``), MLflow scoring (``/invocations``,
``/models/{name}/invocations``, ``/ping``), and Prometheus ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from shipyard.core.entities import User
from shipyard.core.errors import (
    CrossSiteRequestError,
    PayloadTooLargeError,
    ShipyardError,
    ValidationError,
)
from shipyard.interfaces.http.cross_site import from_another_site
from shipyard.interfaces.serving.guard import ServingGuard
from shipyard.interfaces.serving.handlers import Handlers
from shipyard.services.serving.runtime import ServingRuntime

__all__ = ["InferenceApp"]

_JSON = [(b"content-type", b"application/json")]
log = logging.getLogger("shipyard.serve")


class InferenceApp:
    def __init__(
        self,
        runtime: ServingRuntime,
        *,
        max_body: int,
        on_close: Any = None,
        authenticate: Callable[[str | None], User] | None = None,
        rate_limit: str = "",
    ) -> None:
        """``authenticate`` (a project token → its user) makes every endpoint but the health
        probes need a token; ``rate_limit`` (``10/s``, ``600/min``) limits each client."""
        self.runtime = runtime
        self.max_body = max_body
        self.handlers = Handlers(runtime)
        self.on_close = on_close
        self.guard: ServingGuard | None = None  # None: open, as on loopback by default
        if authenticate is not None or rate_limit:
            self.guard = ServingGuard(
                runtime.stats, authenticate=authenticate, rate_limit=rate_limit
            )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        if self.guard is not None and (refused := await self.guard.check(scope)) is not None:
            status, body, headers = refused  # counted apart: never a version's error
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            status, body, headers = await self._route(scope, receive, started)
        except ShipyardError as e:
            self.runtime.stats.client_errors += e.http_status < 500
            status, body, headers = e.http_status, _error(scope, e), _JSON
        except Exception as e:  # never a bare 500 page: a JSON error, logged with its trace
            log.exception("unexpected error on %s", scope["path"])
            failure = ShipyardError(f"internal error: {type(e).__name__}: {str(e)[:300]}")
            status, body, headers = 500, _error(scope, failure), _JSON
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _route(
        self, scope: dict[str, Any], receive: Any, started: float
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method, parts = scope["method"], scope["path"].strip("/").split("/")
        h = self.handlers
        if method == "POST":
            target = _infer_target(parts)
            if target is None:
                raise _not_found(scope["path"])
            _refuse_other_sites(scope)
            body = await _read_body(scope, receive, self.max_body)
            return await h.infer(scope, target, body, started)
        if method not in ("GET", "HEAD"):
            raise ValidationError(f"{method} is not supported here", field="method")
        if parts in (["v2", "health", "live"], ["ping"], ["health"]):
            return 200, b"", _JSON
        if parts == ["v2", "health", "ready"]:
            return (200 if h.ready() else 503), b"", _JSON
        if parts == ["version"]:  # MLflow's scoring server answers its version here
            return 200, h.server_metadata()["version"].encode(), [(b"content-type", b"text/plain")]
        if parts == ["v2"]:
            return 200, orjson.dumps(h.server_metadata()), _JSON
        if parts == ["metrics"]:
            text = self.runtime.stats.prometheus(self.runtime.env).encode()
            return 200, text, [(b"content-type", b"text/plain; version=0.0.4")]
        if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
            name, version, rest = _model_path(parts[2:])
            if rest == []:
                return 200, orjson.dumps(await h.model_metadata(name, version)), _JSON
            if rest == ["ready"]:
                return (200 if await h.model_ready(name, version) else 503), b"", _JSON
        raise _not_found(scope["path"])

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.get_running_loop().run_in_executor(None, self.runtime.start)
                except Exception as e:
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                _freeze_heap()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.runtime.stop)
                if self.on_close is not None:
                    self.on_close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _freeze_heap() -> None:
    """Keep the start-up heap (libraries, loaded models) out of the garbage collector's
    full passes: scanning it stalls every request for tens of milliseconds."""
    import gc

    gc.collect()
    gc.freeze()


def _refuse_other_sites(scope: dict[str, Any]) -> None:
    """A page of another site must not make its visitors' browsers send predictions (they
    would count in the figures a rollback rule judges); scoring clients send no Origin."""
    seen = {
        key.decode(): value.decode("latin-1")
        for key, value in scope["headers"]
        if key in (b"origin", b"sec-fetch-site", b"host")
    }
    if "origin" not in seen and "sec-fetch-site" not in seen:
        return
    why = from_another_site(seen)
    if why is not None:
        raise CrossSiteRequestError(
            f"refused a prediction request from another site ({why})", field="origin"
        )


def _model_path(parts: list[str]) -> tuple[str, int | None, list[str]]:
    name, rest = parts[0], parts[1:]
    version = None
    if len(rest) >= 2 and rest[0] == "versions":
        text = rest[1][1:] if rest[1][:1] == "v" else rest[1]
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(f"model version {rest[1]!r} must be a number", field="version")
        version, rest = int(text), rest[2:]
    return name, version, rest


def _infer_target(parts: list[str]) -> tuple[str, str | None, int | None] | None:
    """(protocol, model or None, version or None) of an inference path."""
    if parts == ["invocations"]:
        return "mlflow", None, None
    if len(parts) == 3 and parts[0] == "models" and parts[2] == "invocations":
        return "mlflow", parts[1], None
    if len(parts) >= 4 and parts[:2] == ["v2", "models"] and parts[-1] == "infer":
        name, version, rest = _model_path(parts[2:-1])
        return ("v2", name, version) if rest == [] else None
    return None


async def _read_body(scope: dict[str, Any], receive: Any, limit: int) -> bytes:
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise _too_large(int(value), limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: int, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body ({size:,} bytes) exceeds the limit of {limit:,} bytes; send "
        "smaller batches (or raise [serving] max_body_mb)",
        field="body",
    )


def _not_found(path: str) -> ShipyardError:
    from shipyard.core.errors import NotFoundError

    return NotFoundError(
        f"no endpoint {path}; use /v2/models/<name>/infer, /invocations or /metrics",
        field="path",
    )


def _error(scope: dict[str, Any], e: ShipyardError) -> bytes:
    if scope["path"].startswith("/v2"):
        return orjson.dumps({"error": e.message, "field": e.field})
    return orjson.dumps(e.to_dict())
