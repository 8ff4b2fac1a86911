"""A table version's schema and profile as the version page lists it: the first
``MAX_SCHEMA_ROWS`` columns (or those whose name holds the filter), "showing N of M columns",
and the whole schema as JSON or CSV for wide tables (a 1,000-column page stays small).

Values of personal data kept as it is are hidden here as everywhere in the UI.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shipyard.core.datasets import DatasetKind, DatasetVersion, parse_ref
from shipyard.core.errors import ValidationError
from shipyard.interfaces.web.pages import json_guard

__all__ = [
    "MAX_FILTER",
    "MAX_SCHEMA_ROWS",
    "hidden_columns",
    "mount",
    "pii_label",
    "schema_rows",
    "schema_view",
]

MAX_SCHEMA_ROWS = 50
MAX_FILTER = 200  # characters of a column-name filter
TOP_SHOWN = 5
POLICY_WORDS = {"keep": "kept", "mask": "masked", "tokenize": "tokenized", "drop": "dropped"}
CSV_FIELDS = ["column", "type", "personal_data", "nulls", "distinct", "min", "max", "mean", "std"]


def hidden_columns(version: DatasetVersion) -> set[str]:
    """PII columns stored as they are: their values never appear in the UI."""
    return {c for c, r in version.pii.items() if r.get("policy") == "keep"}


def pii_label(record: dict[str, Any]) -> str:
    policy = str(record.get("policy", "keep"))
    return f"{record.get('kind', 'declared')} · {POLICY_WORDS.get(policy, policy)}"


def _row(name: str, dtype: str, prof: dict[str, Any], pii: Any, secret: bool) -> dict[str, Any]:
    top = prof.get("top") or []
    return {
        "name": name,
        "type": dtype,
        "nulls": prof.get("nulls"),
        "distinct": prof.get("distinct"),
        "min": None if secret else prof.get("min"),
        "max": None if secret else prof.get("max"),
        "mean": prof.get("mean"),
        "std": prof.get("std"),
        "top": [] if secret else [(str(k), n) for k, n in top[:TOP_SHOWN]],
        "top_more": 0 if secret else max(0, len(top) - TOP_SHOWN),
        "hidden": secret,
        "pii": pii,
        "pii_label": pii_label(pii) if pii else None,
        "pii_policy": str(pii.get("policy")) if pii else None,
    }


def schema_rows(version: DatasetVersion, columns: str = "") -> list[dict[str, Any]]:
    """Every column (whose name holds ``columns``, case-insensitive) with its profile."""
    profiles = version.profile.get("columns", {})
    profiles = profiles if isinstance(profiles, dict) else {}
    hidden = hidden_columns(version)
    needle = _filter(columns).casefold()
    return [
        _row(name, dtype, profiles.get(name) or {}, version.pii.get(name), name in hidden)
        for name, dtype in version.columns
        if needle in name.casefold()
    ]


def _filter(columns: str) -> str:
    text = columns.strip()
    if len(text) > MAX_FILTER:
        raise ValidationError(
            f"columns filter must be at most {MAX_FILTER} characters, got {len(text)}",
            field="columns",
        )
    return text


def schema_view(version: DatasetVersion, columns: str = "") -> dict[str, Any]:
    """The page's schema table: the first matching rows, how many match, how many in all."""
    rows = schema_rows(version, columns)
    return {
        "rows": rows[:MAX_SCHEMA_ROWS],
        "matching": len(rows),
        "total": len(version.columns),
        "filter": columns.strip(),
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_FIELDS, "top_categories"])
    for r in rows:
        low, high = ("(hidden)", "(hidden)") if r["hidden"] else (r["min"], r["max"])
        top = "(hidden)" if r["hidden"] else "; ".join(f"{k} ({n})" for k, n in r["top"])
        pii = r["pii_label"] or ""
        cells = [r["name"], r["type"], pii, r["nulls"], r["distinct"], low, high]
        writer.writerow([*cells, r["mean"], r["std"], top])
    return out.getvalue()


def _table_version(request: Request, name: str, version: str) -> DatasetVersion:
    json_guard(request)
    found: DatasetVersion = request.app.state.services.catalog.get_version(
        parse_ref(f"{name}@{version}")
    )
    if found.kind is not DatasetKind.TABLE:
        raise ValidationError(
            f"{found.ref} is a {found.kind.value} dataset: only tables have a schema",
            field="version",
        )
    return found


def mount(app: FastAPI) -> None:
    @app.get("/ui/data/{name}/v/{version}/schema.json", include_in_schema=False)
    def schema_json(request: Request, name: str, version: str, columns: str = "") -> Any:
        """Every column of the version with its profile (``?columns=`` filters by name)."""
        found = _table_version(request, name, version)
        rows = schema_rows(found, columns)
        return {"ref": found.ref, "total": len(found.columns), "columns": rows}

    @app.get("/ui/data/{name}/v/{version}/schema.csv", include_in_schema=False)
    def schema_csv(request: Request, name: str, version: str, columns: str = "") -> Response:
        found = _table_version(request, name, version)
        filename = f"{found.ref.replace('@', '-')}-schema.csv"
        return Response(
            _csv(schema_rows(found, columns)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
