"""API tokens as JSON: what identifies a token and its lifecycle, never its secret."""

from __future__ import annotations

from typing import Any

from shipyard.core.entities import ApiToken

__all__ = ["token_json"]


def token_json(t: ApiToken, now: int) -> dict[str, Any]:
    """Times are epoch milliseconds; ``state`` is active, expired or revoked at ``now``."""
    return {
        "id": t.token_id,
        "user": t.user,
        "name": t.name,
        "prefix": t.prefix,
        "created": t.creation_time,
        "expires": t.expires_time,
        "last_used": t.last_used_time,
        "revoked": t.revoked,
        "revoked_time": t.revoked_time,
        "state": t.state(now),
    }
