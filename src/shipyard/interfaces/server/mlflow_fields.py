"""Reading MLflow requests: the body, required fields, ``{key, value}`` lists, ``AND`` filters.

Shared by the tracking (``mlflow_compat``), logged-model and registry adapters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import Request

from shipyard.core.errors import ValidationError

__all__ = ["id_list", "key_values", "need", "read_body", "registry_filter", "split_and"]


async def read_body(request: Request) -> dict[str, Any]:
    """A GET call's query parameters, or another call's JSON object body."""
    if request.method == "GET":
        out: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in ("experiment_ids", "run_ids", "order_by"):
                out.setdefault(key, []).append(value)
            else:
                out[key] = value
        return out
    raw = await request.body()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as e:
        raise ValidationError(f"request body is not valid JSON: {e}", field="body") from e
    if not isinstance(parsed, dict):
        raise ValidationError("request body must be a JSON object", field="body")
    return parsed


def need(body: dict[str, Any], name: str, kind: type = str) -> Any:
    """The required field ``name`` (a non-empty string unless ``kind`` says otherwise)."""
    value = body.get(name)
    if value is None or value == "":
        raise ValidationError(f"missing value for required parameter '{name}'", field=name)
    if kind is str and not isinstance(value, str):
        raise ValidationError(f"'{name}' must be a string, got {value!r}", field=name)
    return value


def id_list(body: dict[str, Any], name: str) -> list[str]:
    """A list of ids (``experiment_ids``): one id sent bare counts as a list of one; each id
    must be text or an integer."""
    value = body.get(name) or []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
        raise ValidationError(f"'{name}' must be a list of ids, got {value!r}", field=name)
    return [str(i) for i in items]


def key_values(items: Any, field: str = "tags") -> dict[str, str]:
    """MLflow's ``[{key, value}, …]`` as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise ValidationError(f"'{field}' must be a list of {{key, value}} objects", field=field)
    return {str(i["key"]): str(i.get("value", "")) for i in items}


def split_and(text: str) -> list[str]:
    """The clauses of ``a = 'x' AND b = 'y'`` (case-insensitive ``and``)."""
    return [c for c in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE) if c.strip()]


_CLAUSE = re.compile(
    r"\s*(?P<key>(?:attributes?\.)?[A-Za-z_]+|tags?\.(?:`[^`]+`|\"[^\"]+\"|[\w.\-/:]+))"
    r"\s*(?P<op>!=|=|I?LIKE)\s*(?P<q>['\"])(?P<value>.*?)(?P=q)\s*",
    re.IGNORECASE,
)

Predicate = Callable[[dict[str, Any], dict[str, str]], bool]


def registry_filter(text: str, fields: set[str]) -> Predicate:
    """A predicate over (fields, tags) for MLflow's registry filter subset, or a 400.

    Clauses are AND-ed: ``<field> = | != | LIKE | ILIKE '…'`` and ``tags.<key>`` likewise.
    """
    tests: list[tuple[str, bool, str, str]] = []  # (op, is_tag, key, value)
    for clause in split_and(text):
        m = _CLAUSE.fullmatch(clause)
        key = m.group("key") if m else ""
        is_tag = key.lower().startswith(("tag.", "tags."))
        if is_tag:
            key = key.partition(".")[2].strip('`"')
        else:
            key = key.lower().removeprefix("attributes.").removeprefix("attribute.")
        if m is None or (not is_tag and key not in fields):
            raise ValidationError(
                f"unsupported filter clause {clause.strip()!r}; use "
                f"{', '.join(sorted(fields))} or tags.<key> with =, != or LIKE",
                field="filter",
            )
        tests.append((m.group("op").upper(), is_tag, key, m.group("value")))

    def test(values: dict[str, Any], tags: dict[str, str]) -> bool:
        return all(
            _holds(op, tags.get(key) if is_tag else values.get(key), value)
            for op, is_tag, key, value in tests
        )

    return test


def _holds(op: str, have: Any, value: str) -> bool:
    if op == "=":
        return bool(have == value)
    if op == "!=":
        return bool(have != value)
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
    flags = re.IGNORECASE | re.DOTALL if op == "ILIKE" else re.DOTALL
    return have is not None and re.fullmatch(pattern, str(have), flags) is not None
