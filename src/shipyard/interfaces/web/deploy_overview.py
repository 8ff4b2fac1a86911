"""The environments overview (``/ui/environments``): a page of environments, searched by name,
each with its counts (models, rolling out, last change) and its first models with their last
minutes' figures. A page costs the same handful of queries however large the fleet: the
counts come from one grouped query, the first models of every environment from one ranked
query, their figures from one more."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from shipyard.core.clock import now_ms
from shipyard.core.deployments import Deployment
from shipyard.core.errors import ShipyardError
from shipyard.interfaces.web.pages import error_page, page
from shipyard.interfaces.web.paging import limit_of, pager, start_of

__all__ = ["ENVS_PAGE", "ENV_PREVIEW", "OverviewPaging", "overview_page"]

ENVS_PAGE = 20  # environments per page of the overview
ENV_PREVIEW = 10  # models shown per environment (its own page lists them all)
View = Callable[[Deployment, Mapping[tuple[int, str], Any]], dict[str, Any]]


@dataclass(frozen=True)
class OverviewPaging:
    """The overview's query parameters, as given."""

    q: str
    cursor: str
    start: str
    limit: str


def overview_page(request: Request, paging: OverviewPaging, view: View, recent_ms: int) -> Response:
    """The overview page; ``view`` renders one deployment with its figures."""
    services = request.app.state.services
    try:
        listed = services.deployments.page_environments(
            text=paging.q,
            cursor=paging.cursor.strip() or None,
            limit=limit_of(paging.limit, ENVS_PAGE),
        )
        paged = pager(request, listed, start_of(paging.start))
    except ShipyardError as e:
        return error_page(request, "environments.html", e, "Cannot list environments")
    names = [e.name for e in listed.items]
    shown = services.deployments.first_per_environment(names, ENV_PREVIEW)
    pairs = [(d.environment, d.model) for d in shown]
    figures = services.figures.recent(pairs, now_ms() - recent_ms)
    by_env: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for d in shown:
        by_env[d.environment].append(view(d, figures.get((d.environment, d.model), {})))
    envs = [
        {
            "name": e.name,
            "summary": e,
            "protected": services.deployments.is_protected(e.name),
            "models": by_env[e.name],
            "more": e.models - len(by_env[e.name]),
        }
        for e in listed.items
    ]
    return page(
        request,
        "environments.html",
        envs=envs,
        recent_minutes=recent_ms // 60_000,
        q=paging.q,
        pager=paged,
    )
