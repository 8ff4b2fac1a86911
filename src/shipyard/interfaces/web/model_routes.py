"""Server-rendered model registry pages: the registered models with search, one model with
its versions (status, aliases, flavor, the run that produced each), and one version with
its signature, package and the model's audit trail."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shipyard.core.errors import ShipyardError
from shipyard.core.models import ModelVersion, check_model_name
from shipyard.interfaces.server.api_audit import entry_json
from shipyard.interfaces.server.api_models import version_ref
from shipyard.interfaces.web.audit_routes import payload_details
from shipyard.interfaces.web.pages import error_page, guard, page

__all__ = ["audit_rows", "mount", "trail_href"]

LIST_LIMIT = 1000
AUDIT_LIMIT = 50


def trail_href(name: str) -> str:
    """The audit page filtered to one model."""
    return "/ui/audit?" + urlencode({"object": f"model:{name}"})


def _entry_version(payload: Any) -> int | None:
    """The version an entry of a model is about: the one created or changed, or the one an
    alias was moved to."""
    if not isinstance(payload, dict):
        return None
    found = payload.get("version", payload.get("to"))
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def audit_rows(entries: list[Any], version: int | None = None) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        row = entry_json(entry)
        row["details"] = payload_details(row["payload"])
        row["version"] = _entry_version(row["payload"])
        row["current"] = version is not None and row["version"] == version
        rows.append(row)
    return rows


def _package(version: ModelVersion) -> dict[str, Any]:
    package: dict[str, Any] = version.package if isinstance(version.package, dict) else {}
    file = package.get("file")
    file = file if isinstance(file, dict) else {}
    libraries = package.get("libraries")
    return {
        "python": package.get("python") or "",
        "libraries": sorted(libraries.items()) if isinstance(libraries, dict) else [],
        "file_digest": file.get("digest") or "",
        "file_size": file.get("size"),
        "lock": package.get("lock") or "",
    }


def _model_page(request: Request, name: str, version_text: str | None) -> Response:
    services = request.app.state.services
    registry = services.registry
    try:
        model = registry.get_model(check_model_name(name))
        version = None
        if version_text is not None:
            version = registry.get_version(version_ref(name, version_text))
        versions = sorted(registry.versions(name), key=lambda v: -v.version)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this model"
        return error_page(request, "model.html", e, title)
    ctx: dict[str, Any] = {
        "model": model,
        "versions": versions,
        "version": version,
        "trail": trail_href(model.name),
    }
    if version is not None:
        ctx["package"] = _package(version)
        try:
            entries = services.audit.log(f"model:{model.name}", AUDIT_LIMIT)
            ctx["audit"] = audit_rows(entries, version.version)
        except ShipyardError as e:
            ctx["audit_error"] = e.message
    return page(request, "model.html", **ctx)


def mount(app: FastAPI) -> None:
    @app.get("/ui/models", include_in_schema=False)
    def model_list(request: Request, q: str = "") -> Response:
        if (r := guard(request)) is not None:
            return r
        error, found = None, []
        try:
            found = request.app.state.services.registry.list_models(
                q.strip() or None, limit=LIST_LIMIT
            )
        except ShipyardError as e:
            error = e.message
        return page(
            request,
            "models.html",
            status=400 if error else 200,
            models=found,
            q=q,
            limit=LIST_LIMIT,
            error=error,
        )

    @app.get("/ui/models/{name}", include_in_schema=False)
    def model_page(request: Request, name: str) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _model_page(request, name, None)

    @app.get("/ui/models/{name}/versions/{version}", include_in_schema=False)
    def version_page(request: Request, name: str, version: str) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _model_page(request, name, version)
