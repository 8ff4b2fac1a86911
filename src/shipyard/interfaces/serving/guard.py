"""Who may call ``shipyard serve`` and how often: a project token (``--auth token``) and a
rate limit per client key (``--rate-limit``), checked before a request reaches the runtime,
so a refusal (401, 429) never counts in a version's figures.

Health probes (``/v2/health/*``, ``/ping``, ``/health``) stay open and unlimited. The key of
a client is its token once the token is verified, else its address: callers without a valid
token pay from their address's bucket before any token is looked up in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import orjson

from shipyard.core.entities import User
from shipyard.core.errors import AuthenticationError, RateLimitedError, ShipyardError
from shipyard.core.rate_limit import TokenBuckets, parse_rate, retry_after_header
from shipyard.services.serving.stats import ServingStats

__all__ = ["OPEN_PATHS", "Refusal", "ServingGuard"]

OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/ping", "/health"})
CACHE_S = 5.0  # a verified token is trusted this long; a revocation takes effect within it
_MAX_CACHED = 10_000

Refusal = tuple[int, bytes, list[tuple[bytes, bytes]]]


class ServingGuard:
    """``check(scope)`` → None (go ahead) or the refusal to send."""

    def __init__(
        self,
        stats: ServingStats,
        *,
        authenticate: Callable[[str | None], User] | None = None,
        rate_limit: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.authenticate = authenticate
        self.rate = parse_rate(rate_limit) if rate_limit else None
        self.buckets = TokenBuckets(self.rate, clock) if self.rate else None
        self.clock = clock
        self._verified: dict[str, float] = {}  # token digest → trusted until

    async def check(self, scope: dict[str, Any]) -> Refusal | None:
        if scope["path"] in OPEN_PATHS:
            return None
        address = "addr:" + (scope["client"][0] if scope.get("client") else "?")
        if self.authenticate is None:
            return self._limit(scope, address)
        token = _bearer(scope)
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        if digest is not None and self._verified.get(digest, 0.0) > self.clock():
            return self._limit(scope, "token:" + digest)
        refused = self._limit(scope, address)  # unverified: the address pays, before the DB
        if refused is not None:
            return refused
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.authenticate, token)
        except AuthenticationError as e:
            self.stats.unauthorized += 1
            return 401, _body(scope, e), [*_JSON, (b"www-authenticate", b'Bearer realm="shipyard"')]
        assert digest is not None  # authenticate refuses a missing token
        if len(self._verified) >= _MAX_CACHED:
            self._verified.clear()
        self._verified[digest] = self.clock() + CACHE_S
        if self.buckets is not None:  # a verified caller: its token pays, not its address
            self.buckets.refund(address)
        return self._limit(scope, "token:" + digest)

    def _limit(self, scope: dict[str, Any], key: str) -> Refusal | None:
        if self.buckets is None:
            return None
        wait = self.buckets.take(key)
        if wait is None:
            return None
        self.stats.rate_limited += 1
        err = RateLimitedError(
            f"rate limit of {self.rate} per client exceeded; retry after "
            f"{retry_after_header(wait)} s",
            field="rate_limit",
        )
        headers = [*_JSON, (b"retry-after", retry_after_header(wait).encode())]
        return 429, _body(scope, err), headers


_JSON = [(b"content-type", b"application/json")]


def _bearer(scope: dict[str, Any]) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
            return None
    return None


def _body(scope: dict[str, Any], e: ShipyardError) -> bytes:
    if scope["path"].startswith("/v2"):
        return orjson.dumps({"error": e.message, "field": e.field})
    return orjson.dumps(e.to_dict())
