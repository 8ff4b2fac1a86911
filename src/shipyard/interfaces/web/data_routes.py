"""Server-rendered data catalog pages: dataset list with search, dataset and version page
(schema, profile and its distribution charts, PII policies, sample rows, validation, history,
diff, lineage with the models trained on the version).

Every value shown comes from what the catalog stored, i.e. after the PII policies were
applied: masked and tokenized columns show their stored form. Columns that hold personal
data which was *kept* as it is (``allow_pii`` or a ``keep`` policy) are hidden in the sample,
in top categories and in validation examples, so the UI never spreads raw personal data.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shipyard.core.datasets import DatasetKind, DatasetVersion, parse_ref
from shipyard.core.errors import ShipyardError
from shipyard.interfaces.web import dataset_schema
from shipyard.interfaces.web.dataset_lineage import lineage_view
from shipyard.interfaces.web.dataset_schema import (
    MAX_FILTER,
    POLICY_WORDS,
    TOP_SHOWN,
    hidden_columns,
    pii_label,
    schema_view,
)
from shipyard.interfaces.web.pages import error_page, guard, json_guard, page, templates
from shipyard.interfaces.web.paging import limit_of, pager, start_of
from shipyard.interfaces.web.profile_charts import column_charts, profile_specs

__all__ = ["mount"]

LIST_LIMIT = 100  # datasets per page

SAMPLE_ROWS = 10
SAMPLE_COLUMNS = 60
MANIFEST_ROWS = 200
MAX_CELL = 200
HIDDEN = "(hidden)"
DASH = "\u2013"  # an en dash: "no value"


# ---------------------------------------------------------------- formatting (Jinja filters)
def fmt_num(value: Any) -> str:
    """Compact numbers: ints as they are, floats to 4 significant digits, None as a dash."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def fmt_signed(value: Any) -> str:
    """A delta with its sign (``+4``, ``-0.892``); zero is ``0`` and None a dash."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0:
        return "0"
    return f"{value:+,}" if isinstance(value, int) else f"{value:+.4g}"


def fmt_bytes(size: Any) -> str:
    if not isinstance(size, int | float):
        return DASH
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def short_id(content_id: str, keep: int = 12) -> str:
    """``blake3:a29c47754e50…`` — the algorithm and the first ``keep`` hex characters."""
    algo, sep, digest = content_id.partition(":")
    if not sep:
        algo, digest = "", content_id
    head = digest[:keep] + ("…" if len(digest) > keep else "")
    return f"{algo}:{head}" if algo else head


def _cell(value: Any) -> str:
    try:
        import pandas as pd

        if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


# ---------------------------------------------------------------- page pieces
def _dropped(version: DatasetVersion) -> list[dict[str, str]]:
    present = {c for c, _ in version.columns}
    return [
        {"name": c, "label": pii_label(r)}
        for c, r in sorted(version.pii.items())
        if r.get("policy") == "drop" and c not in present
    ]


def _sample(catalog: Any, version: DatasetVersion) -> dict[str, Any]:
    frame = catalog.load_frame(version.ref, rows=SAMPLE_ROWS)
    hidden = hidden_columns(version)
    columns = [str(c) for c in frame.columns][:SAMPLE_COLUMNS]
    rows = [
        [HIDDEN if c in hidden else _cell(v) for c, v in zip(columns, record, strict=False)]
        for record in frame[columns].itertuples(index=False, name=None)
    ]
    return {
        "columns": columns,
        "rows": rows,
        "more_columns": max(0, frame.shape[1] - SAMPLE_COLUMNS),
        "hidden": sorted(hidden & set(columns)),
    }


def _validation(version: DatasetVersion) -> dict[str, Any] | None:
    record = version.validation
    if record is None:
        return None
    hidden = hidden_columns(version)
    failures = []
    raw = record.report.get("failures") if isinstance(record.report, dict) else None
    for f in raw if isinstance(raw, list) else []:
        if not isinstance(f, dict):
            continue
        column = f.get("column")
        examples = [str(e) for e in f.get("examples") or []]
        if column in hidden and f.get("example_kind", "values") == "values":
            examples = [HIDDEN] if examples else []
        failures.append(
            {
                "column": column,
                "check": str(f.get("check", "?")),
                "failure_count": f.get("failure_count"),
                "examples": examples,
                "example_kind": f.get("example_kind", "values"),
            }
        )
    return {"record": record, "failures": failures, "spec": record.report.get("spec")}


def _diff_view(body: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """The diff with display rows; top-category values of kept PII columns are hidden."""
    if body.get("kind") != "table":
        return body
    columns = []
    for name, change in body.get("columns", {}).items():
        stats = change.get("stats", {})
        moved = any(
            isinstance(s.get("delta"), int | float) and s["delta"] != 0 for s in stats.values()
        )
        secret = name in hidden
        columns.append(
            {
                "name": name,
                "stats": stats,
                "shift": change.get("mean_shift_in_std"),
                "top_added": [] if secret else change.get("top_added", [])[:TOP_SHOWN],
                "top_removed": [] if secret else change.get("top_removed", [])[:TOP_SHOWN],
                "top_hidden": secret and bool(change.get("top_added") or change.get("top_removed")),
                "changed": moved or bool(change.get("top_added") or change.get("top_removed")),
            }
        )
    return {**body, "column_rows": columns}


def _version_ref(name: str, version: str) -> str:
    """A diff side: ``v1`` / ``training`` of this dataset, or a full ``other@v1``."""
    return version if "@" in version else f"{name}@{version}"


# ---------------------------------------------------------------- routes
def _contents(catalog: Any, version: DatasetVersion, columns: str) -> dict[str, Any]:
    """What the version holds: schema (its first columns, or those ``columns`` names),
    profile and sample rows, or its files."""
    ctx: dict[str, Any] = {"schema_filter": columns.strip(), "schema_filter_max": MAX_FILTER}
    if version.kind is DatasetKind.TABLE:
        try:
            ctx["schema"] = schema_view(version, columns)
        except ShipyardError as e:
            ctx["schema_error"] = e.message
        ctx["dropped"] = _dropped(version)
        ctx["distributions"] = profile_specs(version)
        try:
            ctx["sample"] = _sample(catalog, version)
        except ShipyardError as e:
            ctx["sample_error"] = e.message
        return ctx
    try:
        entries = catalog.manifest(version.ref)
        ctx["files"] = entries[:MANIFEST_ROWS]
        ctx["files_total"] = len(entries)
    except ShipyardError as e:
        ctx["files_error"] = e.message
    return ctx


def _diff_context(
    catalog: Any, name: str, version: DatasetVersion, versions: list[Any], diff: str, to: str
) -> tuple[dict[str, Any], int]:
    """The compare form's defaults and, with ``?diff=OLD[&to=NEW]``, the diff itself."""
    older = [v for v in versions if v.version < version.version]
    ctx: dict[str, Any] = {
        "diff_from": diff or (f"v{older[0].version}" if older else ""),
        "diff_to": to or f"v{version.version}",
    }
    if not diff:
        return ctx, 200
    try:
        old_ref = _version_ref(name, diff)
        new_ref = _version_ref(name, to) if to else version.ref
        body = catalog.diff(old_ref, new_ref)
        hidden = hidden_columns(catalog.get_version(body["old"]))
        hidden |= hidden_columns(catalog.get_version(body["new"]))
        ctx["diff"] = _diff_view(body, hidden)
    except ShipyardError as e:
        ctx["diff_error"] = e.message
        return ctx, e.http_status if 400 <= e.http_status < 500 else 400
    return ctx, 200


def _dataset_page(
    request: Request, name: str, version_text: str | None, diff: str, to: str, columns: str
) -> Response:
    services = request.app.state.services
    catalog = services.catalog
    try:
        dataset = catalog.get_dataset(name)
        # the path names a version of *this* dataset: "loans/v/other@v1" is a bad ref
        version = catalog.get_version(parse_ref(f"{name}@{version_text or 'latest'}"))
        versions = catalog.list_versions(name)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this dataset"
        return error_page(request, "dataset.html", e, title)
    diff_ctx, status = _diff_context(catalog, name, version, versions, diff, to)
    ctx: dict[str, Any] = {
        "dataset": dataset,
        "version": version,
        "versions": versions,
        "is_table": version.kind is DatasetKind.TABLE,
        "pii_word": POLICY_WORDS,
        "validation": _validation(version),
        **_contents(catalog, version, columns),
        **diff_ctx,
    }
    if "schema_error" in ctx:
        status = 400
    try:
        ctx["lineage"] = lineage_view(services, version)
    except ShipyardError as e:
        ctx["lineage_error"] = e.message
    return page(request, "dataset.html", status=status, **ctx)


def mount(app: FastAPI) -> None:
    templates.env.filters.update(
        sy_num=fmt_num, sy_signed=fmt_signed, sy_bytes=fmt_bytes, sy_short=short_id
    )

    dataset_schema.mount(app)

    @app.get("/ui/data", include_in_schema=False)
    def data_list(
        request: Request, q: str = "", cursor: str = "", start: str = "", limit: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        error, found, paged = None, [], None
        try:
            listed = request.app.state.services.catalog.page(
                q or None, cursor=cursor.strip() or None, limit=limit_of(limit, LIST_LIMIT)
            )
            found, paged = listed.items, pager(request, listed, start_of(start))
        except ShipyardError as e:
            error = e.message
        return page(
            request,
            "data_list.html",
            status=400 if error else 200,
            datasets=found,
            q=q,
            pager=paged,
            error=error,
        )

    @app.get("/ui/data/{name}", include_in_schema=False)
    def dataset_latest(
        request: Request, name: str, diff: str = "", to: str = "", columns: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        if "@" in name:  # /ui/data/loans@v2 → the version page
            try:
                parsed = parse_ref(name)
            except ShipyardError as e:
                return error_page(request, "dataset.html", e, "Bad dataset reference")
            tail = str(parsed.version) if parsed.version is not None else (parsed.alias or "")
            target = f"/ui/data/{parsed.name}" + (f"/v/{tail}" if tail else "")
            return RedirectResponse(target, status_code=303)
        return _dataset_page(request, name, None, diff, to, columns)

    @app.get("/ui/data/{name}/v/{version}", include_in_schema=False)
    def dataset_version(
        request: Request, name: str, version: str, diff: str = "", to: str = "", columns: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _dataset_page(request, name, version, diff, to, columns)

    @app.get("/ui/data/{name}/v/{version}/profile.json", include_in_schema=False)
    def dataset_profile(request: Request, name: str, version: str) -> dict[str, Any]:
        """The version page's distribution charts, from the stored profile only."""
        json_guard(request)
        found = request.app.state.services.catalog.get_version(parse_ref(f"{name}@{version}"))
        return {"charts": column_charts(found)}
