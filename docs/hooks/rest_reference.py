"""The REST reference, from the OpenAPI document of ``build_server_app``, at build time.

The app is built over a throw-away project in a temporary folder (nothing is served and
nothing leaves the machine); the page lists every operation by tag, and the document itself
is published next to it as ``openapi.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["openapi_document", "openapi_json", "rest_reference"]

METHODS = ("get", "post", "put", "patch", "delete")


@contextmanager
def _scratch_project() -> Iterator[Path]:
    """A fresh project folder, with the environment pointing at it only while it is used."""
    saved = {k: os.environ.get(k) for k in ("SHIPYARD_PROJECT_DIR", "SHIPYARD_USER")}
    with tempfile.TemporaryDirectory(prefix="shipyard-docs-") as tmp:
        os.environ["SHIPYARD_PROJECT_DIR"] = tmp
        os.environ["SHIPYARD_USER"] = "docs"
        (Path(tmp) / ".shipyard").mkdir()
        try:
            yield Path(tmp)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def openapi_document() -> dict[str, Any]:
    """``shipyard server``'s OpenAPI document (the API and the MLflow-compatible API)."""
    from shipyard.interfaces.bootstrap import build_server_app, build_services
    from shipyard.settings import load_settings

    with _scratch_project() as folder:
        services = build_services(load_settings(cwd=folder))
        try:
            return build_server_app(services).openapi()
        finally:
            close = getattr(services, "close", None)
            if callable(close):
                close()


def _schema_name(schema: dict[str, Any]) -> str:
    """A short type label for a schema: a $ref's name, an array of it, or its type."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_schema_name(s) for s in schema[key])
    return str(schema.get("type", "object"))


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if op.get("summary"):
        lines += [_cell(op["summary"]), ""]
    if op.get("description") and op.get("description") != op.get("summary"):
        lines += [op["description"].strip(), ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params:
            lines.append(
                f"| `{p['name']}` | {p['in']} | {_cell(_schema_name(p.get('schema', {})))} "
                f"| {'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    body = op.get("requestBody", {}).get("content", {})
    for media, spec in body.items():
        lines += [f"Request body (`{media}`): {_schema_name(spec.get('schema', {}))}", ""]
    responses = op.get("responses", {})
    if responses:
        ok = [
            f"`{code}` {_schema_name(_json_schema(r)) if _json_schema(r) else ''}".rstrip()
            for code, r in sorted(responses.items())
            if code.startswith("2")
        ]
        errors = [f"`{code}`" for code in sorted(responses) if not code.startswith("2")]
        lines += [f"Responses: {', '.join(ok + errors)}", ""]
    return lines


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema if isinstance(schema, dict) and schema else {}


def _error_table(doc: dict[str, Any]) -> list[str]:
    """Each non-2xx status the document names, with its description, once."""
    seen: dict[str, str] = {}
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            for code, r in item.get(method, {}).get("responses", {}).items():
                if not code.startswith("2"):
                    seen.setdefault(code, _cell(r.get("description", "")))
    rows = [f"| `{code}` | {text} |" for code, text in sorted(seen.items())]
    return ["| status | meaning |", "|---|---|", *rows, ""]


def _schemas(doc: dict[str, Any]) -> list[str]:
    """The request and response bodies' schemas: one table of properties each."""
    lines = ["## Schemas", ""]
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [_cell(schema["description"]), ""]
        props = schema.get("properties", {})
        if not props:
            lines += [f"Type: {_schema_name(schema)}", ""]
            continue
        required = set(schema.get("required", []))
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, spec in props.items():
            lines.append(
                f"| `{field}` | {_cell(_schema_name(spec))} | "
                f"{'yes' if field in required else 'no'} | {_cell(spec.get('description', ''))} |"
            )
        lines.append("")
    return lines


def _by_tag(doc: dict[str, Any]) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append((method, path, item[method]))
    return groups


def rest_reference(doc: dict[str, Any]) -> str:
    """The REST reference page for ``doc``, grouped by tag, operations in path order."""
    info = doc.get("info", {})
    groups = _by_tag(doc)
    count = sum(len(ops) for ops in groups.values())
    parts = [
        "# REST reference",
        "",
        f"{info.get('title', 'Shipyard')} {info.get('version', '')}: {count} operations, "
        "generated at build time from the OpenAPI document of `shipyard server`. The "
        "document itself: [openapi.json](openapi.json) (a running server also serves it "
        "at `/openapi.json` and an explorer at `/docs`).",
        "",
        "Requests carry `Authorization: Bearer <token>` unless the server runs with "
        "`--auth local` on loopback; errors are JSON with `error_code` and `message`:",
        "",
        *_error_table(doc),
    ]
    for tag in sorted(groups):
        parts += [f"## {tag}", ""]
        for method, path, op in sorted(groups[tag], key=lambda t: (t[1], METHODS.index(t[0]))):
            parts += _operation(method, path, op)
    parts += _schemas(doc)
    return "\n".join(parts)


def openapi_json(doc: dict[str, Any]) -> str:
    """The document as published next to the page."""
    return json.dumps(doc, indent=2, sort_keys=True)
