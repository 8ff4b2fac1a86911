"""Server-rendered audit trail: a banner saying whether the hash chain is intact (or the first
entry that breaks it), then the entries newest first, filtered by object, by kind (governance
or bookkeeping) or searched, a page at a time, each with links to the object's page and its
own trail, and its evidence as key: value lines.

The table fits a 1280 px window: long ids and hashes are shortened (the whole value in the
title), the reason and the evidence wrap.

A view verifies only the entries after the last verified checkpoint; the banner's button
(``?full=1``) walks the whole chain again."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from shipyard.core.audit_kinds import AUDIT_KINDS
from shipyard.core.errors import ShipyardError
from shipyard.interfaces.presenters.audit import (
    DEFAULT_LIMIT,
    entry_json,
    evidence_pairs,
    report_json,
)
from shipyard.interfaces.web.pages import guard, page
from shipyard.interfaces.web.paging import limit_of, pager, start_of

__all__ = ["mount", "object_href", "payload_details"]

SHORT_HASH = 12
SHORT_ID = 24  # an object id longer than this (a run id) shows its first 12 characters and "…"


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
    """The payload as (key, readable value) pairs, leaving out empty values
    (``presenters.audit.evidence_pairs``: ``key: value`` text, never a Python repr)."""
    return [(key, text) for key, text, _ in evidence_pairs(payload)]


def short_id(ident: str) -> str:
    """An id as shown in the table: long ones (run ids, long names) cut to 12 characters."""
    return ident if len(ident) <= SHORT_ID else ident[:12] + "…"


def _row(entry: Any) -> dict[str, Any]:
    row = entry_json(entry)
    row["href"] = object_href(entry.object_type, entry.object_id)
    model = row["payload"].get("model") if isinstance(row["payload"], dict) else None
    if entry.object_type == "retraining" and isinstance(model, str):
        row["href"] = f"/ui/retraining/{quote(model, safe='')}#run-{quote(entry.object_id)}"
    row["trail"] = "/ui/audit?" + urlencode({"object": row["object"]})
    row["details"] = evidence_pairs(row["payload"])  # with the whole value for a title
    row["short_hash"] = entry.hash[:SHORT_HASH]
    row["short_object"] = f"{entry.object_type}:{short_id(entry.object_id)}"
    return row


def mount(app: FastAPI) -> None:
    @app.get("/ui/audit", include_in_schema=False)
    def audit_trail(
        request: Request,
        obj: str = Query("", alias="object"),
        q: str = "",
        kind: str = "",
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
                obj or None,
                text=q,
                cursor=cursor.strip() or None,
                limit=shown_limit,
                kind=kind,
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
            kind=kind.strip().lower(),
            kinds=AUDIT_KINDS,
            limit=limit.strip(),
            shown_limit=shown_limit,
            pager=paged,
            error=error,
        )
