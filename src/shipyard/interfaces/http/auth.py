"""Who is calling: a bearer token (or the UI cookie); on loopback in local mode, the local admin."""

from __future__ import annotations

from fastapi import Request

from shipyard.core.entities import User
from shipyard.core.permissions import Action

__all__ = ["current_user", "require"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}
# Host names a loopback request may carry to act as the local admin: a page whose own name
# re-resolves to 127.0.0.1 (DNS rebinding) sends its own name and gets no admin rights.
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}


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
    if (
        token is None
        and local_admin is not None
        and client in _LOOPBACK
        and _host_name(request.headers.get("host", "")) in _LOOPBACK_HOSTS
    ):
        return local_admin
    return request.app.state.services.access.authenticate(token)


def _host_name(host: str) -> str:
    """The name part of a Host header (``[::1]:5005`` → ``[::1]``, ``a:1`` → ``a``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def require(request: Request, action: Action) -> User:
    """The caller, if the permission table grants their role ``action``."""
    user = current_user(request)
    request.app.state.services.access.authorize(user, action)
    return user
