"""REST API of API tokens under /api/v1: issue, list and revoke a user's tokens.

Only the user themselves or an admin may issue, list or revoke (``AccessService``); a
listing never carries a token's secret (it is shown once, when issued). Every issue and
revoke is in the audit trail. A revoked or expired token is refused at once everywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from shipyard.core.clock import now_ms
from shipyard.interfaces.presenters.tokens import token_json
from shipyard.services.access import MAX_TTL_DAYS

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tokens"])

_MAX_ID = 2**63 - 1  # the database's 64-bit ids: anything larger is a 400, not an overflow


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_days: StrictInt | None = Field(
        None, description=f"Expire after N days (1..{MAX_TTL_DAYS}); null: never (revoke it)."
    )
    name: StrictStr = Field("default", description="A label to tell the user's tokens apart.")


def _access(request: Request) -> Any:
    return request.app.state.services.access


@router.get("/users/{name}/tokens")
def list_tokens(request: Request, name: str) -> dict[str, Any]:
    """The user's tokens, newest first (yours, or anybody's as an admin)."""
    tokens = _access(request).list_tokens(name, by=request.state.user)
    now = now_ms()
    return {"tokens": [token_json(t, now) for t in tokens], "total": len(tokens)}


@router.post("/users/{name}/tokens")
def issue_token(request: Request, name: str, body: IssueIn) -> dict[str, Any]:
    """A new token for the user; ``token`` is its secret, returned this once only."""
    secret, token = _access(request).issue_as(
        name, by=request.state.user, ttl_days=body.ttl_days, name=body.name
    )
    return {"token": secret, **token_json(token, now_ms())}


@router.post("/users/{name}/tokens/revoke")
def revoke_all(request: Request, name: str) -> dict[str, Any]:
    """Revoke every live token of the user; how many there were."""
    count = _access(request).revoke_all(name, by=request.state.user)
    return {"user": name, "revoked": count}


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    token_id: int = Path(ge=1, le=_MAX_ID, description="The token's id (from the listing)."),
) -> dict[str, Any]:
    """Revoke one token (its owner or an admin); revoking it again is a 409."""
    token = _access(request).revoke_token(token_id, by=request.state.user)
    return token_json(token, now_ms())
