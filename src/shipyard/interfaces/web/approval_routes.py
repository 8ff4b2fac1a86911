"""The approvals queue (``/ui/approvals``): every model version waiting for a release
decision — gates passed, or failed and awaiting an admin's override — newest first, with the
retraining runs that wait for an approver (the loop's notices link here). Each row links to
the version page, where an approver who did not train it decides.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shipyard.core.errors import ShipyardError
from shipyard.core.models import VersionStatus
from shipyard.interfaces.web.pages import error_page, guard, page

__all__ = ["mount"]

_WAITING = (VersionStatus.GATE_PASSED, VersionStatus.GATE_FAILED)
MAX_ROWS = 500


def _queue(services: Any) -> tuple[list[Any], dict[tuple[str, int], Any]]:
    """The versions awaiting a decision, and the retraining runs waiting on them."""
    versions = [v for v in services.registry.search_versions() if v.status in _WAITING]
    versions.sort(key=lambda v: v.creation_time, reverse=True)
    waiting = {}
    for run in services.retraining.runs(None, None, 200).items:
        if run.state.value == "awaiting_approval" and run.version is not None:
            waiting[(run.register_as, run.version)] = run
    return versions[:MAX_ROWS], waiting


def mount(app: FastAPI) -> None:
    @app.get("/ui/approvals", include_in_schema=False)
    def approvals(request: Request) -> Response:
        if (redirect := guard(request)) is not None:
            return redirect
        try:
            versions, waiting = _queue(request.app.state.services)
        except ShipyardError as e:
            return error_page(request, "approvals.html", e, "Cannot show the approvals queue")
        return page(request, "approvals.html", versions=versions, waiting=waiting)
