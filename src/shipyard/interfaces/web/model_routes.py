"""Server-rendered model registry pages: the registered models with search, one model with
its versions a page at a time, newest first (status, aliases, headline metrics of the run
that logged each, the environments serving each and how), and one version with where it is
deployed, a link to its dossier, its gate evidence, lineage, signature, package and the
model's audit trail, and, for an approver who did not train it, the approve/reject form (its
POSTs are re-checked here and by ``registry.decide``: anyone else is refused with a 403
page). The dossier itself is served here too, as the file ``shipyard audit dossier`` writes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.core.errors import PermissionDeniedError, ShipyardError, ValidationError
from shipyard.core.models import ModelRef, ModelVersion, check_model_name
from shipyard.interfaces.http.auth import current_user
from shipyard.interfaces.presenters.audit import entry_json
from shipyard.interfaces.presenters.models import MAX_REASON, version_ref
from shipyard.interfaces.web.audit_routes import payload_details
from shipyard.interfaces.web.model_decisions import (
    OVERRIDE_PREFIX,
    decision_state,
    gate_evidence,
    lineage,
    same_origin,
)
from shipyard.interfaces.web.model_versions import model_deployments, version_rows
from shipyard.interfaces.web.pages import error_page, guard, page
from shipyard.interfaces.web.paging import limit_of, pager, start_of
from shipyard.interfaces.web.retrain_views import policy_for, retrain_href

__all__ = ["audit_rows", "mount", "trail_href", "version_href"]

LIST_LIMIT = 100  # per page (models, and versions of a model)
AUDIT_LIMIT = 50
Paging = tuple[str, str, str]  # the query's cursor, start and limit


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


def version_href(name: str, version: int | str) -> str:
    return f"/ui/models/{quote(name, safe='')}/versions/{quote(str(version), safe='')}"


def _decision_ctx(request: Request, version: ModelVersion) -> dict[str, Any]:
    """Gate evidence, lineage and the decision form of a version page."""
    services = request.app.state.services
    ctx: dict[str, Any] = {"override": version.status_reason.startswith(OVERRIDE_PREFIX)}
    exact = ModelRef(version.name, version=version.version)
    try:
        ctx["evidence"] = gate_evidence(services.registry.gate_results(exact))
    except ShipyardError as e:
        ctx["evidence_error"] = e.message
    try:
        ctx["lineage"] = lineage(services, version)
    except ShipyardError as e:
        ctx["lineage_error"] = e.message
    try:
        user = current_user(request)
    except ShipyardError:
        user = None
    ctx["decision"] = decision_state(services, version, user)
    ctx["viewer"] = user
    return ctx


def _versions_ctx(request: Request, name: str, paging: Paging) -> dict[str, Any]:
    """A page of the model's versions, newest first, with their metrics and deployments
    (read once for the page) and the pager."""
    services = request.app.state.services
    cursor, start, limit = paging
    listed = services.registry.page_versions(
        name, cursor=cursor.strip() or None, limit=limit_of(limit, LIST_LIMIT)
    )
    deployed = model_deployments(services, name)
    columns, rows = version_rows(services, listed.items, deployed)
    return {
        "versions": rows,
        "metric_columns": columns,
        "versions_pager": pager(request, listed, start_of(start)),
        "deployed": deployed,
    }


def _model_page(
    request: Request,
    name: str,
    version_text: str | None,
    decision_error: ShipyardError | None = None,
    reason: str = "",
    paging: Paging = ("", "", ""),
) -> Response:
    services = request.app.state.services
    registry = services.registry
    try:
        model = registry.get_model(check_model_name(name))
        version = None
        if version_text is not None:
            version = registry.get_version(version_ref(name, version_text))
        ctx: dict[str, Any] = _versions_ctx(request, model.name, paging)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this model"
        return error_page(request, "model.html", e, title)
    ctx.update(model=model, version=version, trail=trail_href(model.name))
    if (policy := policy_for(services, model.name)) is not None:
        ctx["retrain_href"] = retrain_href(policy.model)
    status = 200
    if version is not None:
        ctx["package"] = _package(version)
        ctx["serving"] = ctx["deployed"].get(version.version, [])
        ctx.update(_decision_ctx(request, version))
        if decision_error is not None:
            status = decision_error.http_status if 400 <= decision_error.http_status < 600 else 400
            ctx["decision_error"] = decision_error
            ctx["reason"] = reason
        try:
            entries = services.audit.log(f"model:{model.name}", AUDIT_LIMIT)
            ctx["audit"] = audit_rows(entries, version.version)
        except ShipyardError as e:
            ctx["audit_error"] = e.message
    return page(request, "model.html", status=status, **ctx)


def _dossier(request: Request, name: str, version_text: str) -> Response:
    """The version's dossier, the same self-contained HTML file ``shipyard audit dossier``
    writes, shown in the browser (and saved under that file's name)."""
    from shipyard.interfaces.bootstrap import dossier_builder
    from shipyard.interfaces.dossier_html import render_dossier

    services = request.app.state.services
    try:
        version = services.registry.get_version(version_ref(name, version_text))
        data = dossier_builder(services).build(version.ref)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this model"
        return error_page(request, "model.html", e, title)
    filename = f"dossier-{version.name}-v{version.version}.html"
    disposition = f"inline; filename*=UTF-8''{quote(filename, safe='')}"
    return HTMLResponse(render_dossier(data), headers={"Content-Disposition": disposition})


def _decide(
    request: Request, name: str, version_text: str, *, approve: bool, reason: str, override: bool
) -> Response:
    """Record an approval or rejection posted from the version page, as the logged-in user."""
    try:
        user = current_user(request)
    except ShipyardError:
        return RedirectResponse(f"/login?next={version_href(name, version_text)}", 303)
    if not same_origin(request):
        refused = PermissionDeniedError(
            "a decision must be posted from this server's own version page"
        )
        return _model_page(request, name, version_text, refused, reason)
    try:
        if len(reason) > MAX_REASON:
            raise ValidationError(
                f"a reason holds at most {MAX_REASON} characters, got {len(reason)}",
                field="reason",
            )
        decided = request.app.state.services.registry.decide(
            version_ref(name, version_text),
            user,
            approve=approve,
            reason=reason,
            override=override,
        )
    except ShipyardError as e:
        return _model_page(request, name, version_text, e, reason)
    return RedirectResponse(version_href(decided.name, decided.version), status_code=303)


def mount(app: FastAPI) -> None:
    @app.get("/ui/models", include_in_schema=False)
    def model_list(
        request: Request, q: str = "", cursor: str = "", start: str = "", limit: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        error, found, paged = None, [], None
        try:
            listed = request.app.state.services.registry.page_models(
                q.strip() or None, cursor=cursor.strip() or None, limit=limit_of(limit, LIST_LIMIT)
            )
            found, paged = listed.items, pager(request, listed, start_of(start))
        except ShipyardError as e:
            error = e.message
        return page(
            request,
            "models.html",
            status=400 if error else 200,
            models=found,
            q=q,
            pager=paged,
            error=error,
        )

    @app.get("/ui/models/{name}", include_in_schema=False)
    def model_page(
        request: Request, name: str, cursor: str = "", start: str = "", limit: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _model_page(request, name, None, paging=(cursor, start, limit))

    @app.get("/ui/models/{name}/versions/{version}", include_in_schema=False)
    def version_page(
        request: Request,
        name: str,
        version: str,
        cursor: str = "",
        start: str = "",
        limit: str = "",
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _model_page(request, name, version, paging=(cursor, start, limit))

    @app.get("/ui/models/{name}/versions/{version}/dossier", include_in_schema=False)
    def version_dossier(request: Request, name: str, version: str) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _dossier(request, name, version)

    @app.post("/ui/models/{name}/versions/{version}/approve", include_in_schema=False)
    def approve_version(
        request: Request,
        name: str,
        version: str,
        reason: str = Form(""),
        override: str = Form(""),
    ) -> Response:
        flag = override.strip().lower() in ("on", "true", "1", "yes")
        return _decide(request, name, version, approve=True, reason=reason, override=flag)

    @app.post("/ui/models/{name}/versions/{version}/reject", include_in_schema=False)
    def reject_version(
        request: Request, name: str, version: str, reason: str = Form("")
    ) -> Response:
        return _decide(request, name, version, approve=False, reason=reason, override=False)
