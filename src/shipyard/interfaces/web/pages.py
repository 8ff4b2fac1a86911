"""What every page module shares: the templates, rendering, the login guard, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shipyard.core.clock import format_ms
from shipyard.core.errors import ShipyardError
from shipyard.core.permissions import Action
from shipyard.interfaces.http.auth import require
from shipyard.interfaces.http.cross_site import from_another_site

__all__ = ["HERE", "error_page", "guard", "json_guard", "page", "same_origin", "templates"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["ts"] = format_ms


def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def guard(request: Request) -> Response | None:
    """A redirect to the login page when the request may not read, else None."""
    try:
        require(request, Action.READ)
    except ShipyardError:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return None


def json_guard(request: Request) -> None:
    """The pages' rule for their JSON (chart data): a caller who may not read gets the
    server's JSON error (401 or 403), not a redirect to the login form."""
    require(request, Action.READ)


def error_page(request: Request, template: str, err: ShipyardError, title: str) -> Response:
    """``template`` rendered as an error page with the error's status (4xx for bad input)."""
    status = err.http_status if 400 <= err.http_status < 600 else 400
    return page(
        request,
        template,
        status=status,
        error=err.message,
        error_title=title,
        error_code=err.code,
    )


def same_origin(request: Request) -> bool:
    """False for a form posted from another site (in local mode no cookie guards the POST)."""
    return from_another_site(request.headers) is None
