"""The tokens page: the signed-in user's API tokens (an admin may look at anybody's with
``?user=``), each with a Revoke button. Never shows a token's secret."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shipyard.core.clock import now_ms
from shipyard.core.entities import User
from shipyard.core.errors import PermissionDeniedError, ShipyardError, ValidationError
from shipyard.interfaces.http.auth import current_user
from shipyard.interfaces.web.pages import page, same_origin

__all__ = ["mount"]

_MAX_ID = 2**63 - 1


def _href(user: str, me: User) -> str:
    return "/ui/tokens" if user == me.name else f"/ui/tokens?user={quote(user, safe='')}"


def _tokens_page(
    request: Request, me: User, user: str, error: ShipyardError | None = None
) -> Response:
    services = request.app.state.services
    tokens, failure = [], error
    try:
        tokens = services.access.list_tokens(user, by=me)
    except ShipyardError as e:
        failure = failure or e
    status = 200 if failure is None else failure.http_status
    return page(
        request,
        "tokens.html",
        status=status if 400 <= status < 600 else 400,
        me=me,
        user=user,
        tokens=tokens,
        now=now_ms(),
        error=None if failure is None else failure.message,
    )


def _revoke(request: Request, token_id: str) -> Response:
    try:
        me = current_user(request)
    except ShipyardError:
        return RedirectResponse("/login?next=/ui/tokens", status_code=303)
    services = request.app.state.services
    try:
        if not same_origin(request):
            raise PermissionDeniedError(
                "a token can be revoked only from this server's own tokens page"
            )
        if not (token_id.isascii() and token_id.isdigit()) or not 1 <= int(token_id) <= _MAX_ID:
            raise ValidationError(f"token id must be a positive number, got {token_id!r}")
        token = services.access.revoke_token(int(token_id), by=me)
    except ShipyardError as e:
        return _tokens_page(request, me, me.name, e)
    return RedirectResponse(_href(token.user, me) + f"#token-{token.token_id}", status_code=303)


def mount(app: FastAPI) -> None:
    @app.get("/ui/tokens", include_in_schema=False)
    def tokens(request: Request, user: str = "") -> Response:
        try:
            me = current_user(request)
        except ShipyardError:
            return RedirectResponse("/login?next=/ui/tokens", status_code=303)
        return _tokens_page(request, me, user.strip() or me.name)

    @app.post("/ui/tokens/{token_id}/revoke", include_in_schema=False)
    def revoke(request: Request, token_id: str) -> Response:
        return _revoke(request, token_id)
