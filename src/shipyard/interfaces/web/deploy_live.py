"""The environment page's live figures as JSON: for the models on the page, their deployment's
generation and the last minutes' figures table (rendered by the page's own macro), so the
page refreshes those tables in place instead of reloading itself wholesale; a changed
generation (a promote or a rollback) tells the page to reload."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request

from shipyard.core.clock import now_ms
from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.interfaces.web.pages import json_guard, templates
from shipyard.services.paging import MAX_PAGE

__all__ = ["live_href", "mount_live"]

MIN = 60_000


def live_href(env: str, models: list[str]) -> str:
    """The live figures of ``models`` in ``env``."""
    query = urlencode([("model", m) for m in models])
    return f"/ui/environments/{quote(env, safe='')}/live.json?{query}"


def _figures_html(view: Mapping[str, Any], minutes: int) -> str:
    macros = templates.env.get_template("deployment_macros.html").module
    return str(macros.figures_table(view, minutes))  # type: ignore[attr-defined]


def mount_live(
    app: FastAPI,
    known: Callable[[Any, str], str],
    view: Callable[[Any, Mapping[tuple[int, str], Any]], Mapping[str, Any]],
    recent_ms: int,
) -> None:
    """Mount ``GET /ui/environments/{env}/live.json?model=…&model=…``."""

    @app.get("/ui/environments/{env}/live.json", include_in_schema=False)
    def live(request: Request, env: str) -> dict[str, Any]:
        json_guard(request)
        services = request.app.state.services
        env = known(services, env)
        names = request.query_params.getlist("model")
        if len(names) > MAX_PAGE:
            raise ValidationError(
                f"at most {MAX_PAGE} models per request, got {len(names)}", field="model"
            )
        now = now_ms()
        out: dict[str, dict[str, Any]] = {}
        for name in dict.fromkeys(names):
            try:
                d = services.deployments.get(env, name)
            except NotFoundError:
                out[name] = {"gone": True}
                continue
            figures = services.figures.by_version(env, d.model, now - recent_ms)
            out[name] = {
                "generation": d.generation,
                "state": d.state,
                "figures_html": _figures_html(view(d, figures), recent_ms // MIN),
            }
        return {"env": env, "now": now, "models": out}
