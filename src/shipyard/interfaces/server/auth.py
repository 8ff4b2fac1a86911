"""Who is calling: a bearer token (or the UI cookie); on loopback in local mode, the local admin."""

from __future__ import annotations

from fastapi import Request

from shipyard.core.entities import Role, User
from shipyard.services.access import LOCAL_ADMIN

__all__ = ["current_user", "require"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if header.lower().startswith("basic "):
        return None
    return request.cookies.get("shipyard_token")


def current_user(request: Request) -> User:
    services = request.app.state.services
    token = _token(request)
    client = request.client.host if request.client else ""
    if token is None and request.app.state.auth_mode == "local" and client in _LOOPBACK:
        return services.access.get_user(LOCAL_ADMIN)
    return services.access.authenticate(token)


def require(request: Request, role: Role) -> User:
    user = current_user(request)
    request.app.state.services.access.authorize(user, role)
    return user
