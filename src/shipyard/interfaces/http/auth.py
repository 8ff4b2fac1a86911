"""Who is calling: a bearer token (or the UI cookie); on loopback in local mode, the local admin."""

from __future__ import annotations

from fastapi import Request

from shipyard.core.entities import Role, User

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
    token = _token(request)
    client = request.client.host if request.client else ""
    local_admin = request.app.state.local_admin  # set only in "local" auth mode
    if token is None and local_admin is not None and client in _LOOPBACK:
        return local_admin
    return request.app.state.services.access.authenticate(token)


def require(request: Request, role: Role) -> User:
    user = current_user(request)
    request.app.state.services.access.authorize(user, role)
    return user
