"""Server-rendered audit trail: a banner saying whether the hash chain is intact (or the first
entry that breaks it), then the entries newest first, filtered by object or searched, a page
at a time, each with links to the object's page and its own trail.

A view verifies only the entries after the last verified checkpoint; the banner's button
(``?full=1``) walks the whole chain again."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from shipyard.core.errors import ShipyardError
from shipyard.interfaces.presenters.audit import DEFAULT_LIMIT, entry_json, report_json
from shipyard.interfaces.web.pages import guard, page
from shipyard.interfaces.web.paging import limit_of, pager, start_of

__all__ = ["mount", "object_href", "payload_details"]

SHORT_HASH = 12


def object_href(object_type: str, object_id: str) -> str | None:
    """The page of an audited object, where the UI has one."""
    ident = quote(object_id, safe="")
    if object_type == "run":
        return f"/ui/runs/{ident}"
    if object_type == "dataset":
        return f"/ui/data/{ident}"
    if object_type == "pipeline":
        return f"/ui/pipelines/{ident}"
    if object_type == "experiment":
        return f"/ui/experiments/{ident}"
    if object_type == "model":
        return f"/ui/models/{ident}"
    return None


def payload_details(payload: Any) -> list[tuple[str, str]]:
    """The payload as key=value pairs, leaving out empty values."""
    if not isinstance(payload, dict):
        return [("payload", str(payload))] if payload not in (None, "", {}) else []
    return [(str(k), str(v)) for k, v in payload.items() if v not in (None, "", {}, [])]


def _row(entry: Any) -> dict[str, Any]:
    row = entry_json(entry)
    row["href"] = object_href(entry.object_type, entry.object_id)
    model = row["payload"].get("model") if isinstance(row["payload"], dict) else None
    if entry.object_type == "retraining" and isinstance(model, str):
        row["href"] = f"/ui/retraining/{quote(model, safe='')}#run-{quote(entry.object_id)}"
    row["trail"] = "/ui/audit?" + urlencode({"object": row["object"]})
    row["details"] = payload_details(row["payload"])
    row["short_hash"] = entry.hash[:SHORT_HASH]
    return row


def mount(app: FastAPI) -> None:
    @app.get("/ui/audit", include_in_schema=False)
    def audit_trail(
        request: Request,
        obj: str = Query("", alias="object"),
        q: str = "",
        limit: str = "",
        cursor: str = "",
        start: str = "",
        full: str = "",
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        audit = request.app.state.services.audit
        obj = obj.strip()
        error, entries, shown_limit, paged = None, [], DEFAULT_LIMIT, None
        try:
            shown_limit = limit_of(limit, DEFAULT_LIMIT)
            found = audit.page(
                obj or None, text=q, cursor=cursor.strip() or None, limit=shown_limit
            )
            paged = pager(request, found, start_of(start))
            entries = [_row(e) for e in found.items]
        except ShipyardError as e:
            error = e.message
        return page(
            request,
            "audit.html",
            status=400 if error else 200,
            report=report_json(audit.verify(full=full.strip() in ("1", "true", "yes"))),
            full_href="/ui/audit?" + urlencode({**request.query_params, "full": "1"}),
            entries=entries,
            obj_filter=obj,
            q=q.strip(),
            limit=limit.strip(),
            shown_limit=shown_limit,
            pager=paged,
            error=error,
        )
