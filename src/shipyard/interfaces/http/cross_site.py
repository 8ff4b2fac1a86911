"""Refuse state changes that a page of another site made the user's browser send.

A browser sends cookies, and in the default ``local`` auth mode any request from loopback
acts as the local admin, so without this check any web page the user visits could write to
their project with a plain ``<form>`` or ``fetch(…, {mode: "no-cors"})``. Browsers label
every request with ``Sec-Fetch-Site`` and send ``Origin`` on writes; API clients (the SDK,
the ``mlflow`` client, curl) send neither. Writes to the API must also carry a body type a
cross-site page cannot send without a CORS preflight (which this server never grants).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from shipyard.core.errors import (
    CrossSiteRequestError,
    ShipyardError,
    UnsupportedMediaTypeError,
)

__all__ = ["cross_site_refusal", "from_another_site"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SIMPLE_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
_API = ("/api/", "/ajax-api/")


def from_another_site(headers: Mapping[str, str]) -> str | None:
    """Why a browser request came from a page of another site, or None when it did not
    (same origin, typed by the user, or not a browser at all)."""
    fetch_site = (headers.get("sec-fetch-site") or "").lower()
    if fetch_site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = headers.get("origin")
    if origin is not None and not _same_origin(origin, headers.get("host") or ""):
        return f"origin {origin!r} is not this server ({headers.get('host')!r})"
    return None


def cross_site_refusal(method: str, path: str, headers: Mapping[str, str]) -> ShipyardError | None:
    """The error an API write answers with, or None when the request may go on. (The web
    UI's forms check ``from_another_site`` themselves and answer with a page.)

    ``headers`` is a case-insensitive mapping (Starlette's ``Headers``).
    """
    if method in _SAFE_METHODS or not path.startswith(_API):
        return None
    why = from_another_site(headers)
    if why is not None:
        return CrossSiteRequestError(
            f"refused a {method} from another site ({why}): state changes come from "
            "Shipyard's own pages or from API clients",
            field="origin",
        )
    # Only a POST can go cross-site without a preflight; PUT/PATCH/DELETE always need one
    # (never granted), and the mlflow client PUTs artifacts with their own type (text/plain).
    if method == "POST":
        media = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if media in _SIMPLE_TYPES:
            return UnsupportedMediaTypeError(
                f"a {method} to the API must send its body as application/json (or another "
                f"non-form type), not {media}: form and text bodies are what forged "
                "cross-site requests use",
                field="content-type",
            )
    return None


def _same_origin(origin: str, host: str) -> bool:
    if origin == "null" or not host:  # sandboxed frames and file pages send "null"
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return _with_port(parts.netloc, parts.scheme) == _with_port(host, parts.scheme)


def _with_port(netloc: str, scheme: str) -> str:
    netloc = netloc.lower()
    if netloc.endswith("]") or ":" not in netloc.rsplit("]", 1)[-1]:
        return f"{netloc}:{443 if scheme == 'https' else 80}"
    return netloc
