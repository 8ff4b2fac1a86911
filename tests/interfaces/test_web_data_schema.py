"""The schema table of a 1,000-column version, over real HTTP: the page lists the first
columns with "showing N of M columns" and stays small, a filter finds any column by name,
and the whole schema comes as JSON or CSV (values of kept personal data hidden there too)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from shipyard.interfaces.web.dataset_schema import MAX_FILTER, MAX_SCHEMA_ROWS
from tests.interfaces.conftest import LiveServer, _serve

COLUMNS = 1000
PAGE_BUDGET = 60_000  # bytes of HTML at 1,000 columns
EMAILS = ["zoe.quinn@example.com", "yan.li@example.org"] * 10


def _wide() -> pd.DataFrame:
    """Numbers and categories with realistic names, and one e-mail column kept as it is."""
    rng = np.random.default_rng(7)
    data: dict[str, Any] = {}
    for i in range(COLUMNS - 1):
        name = f"feature_{i:04d}"
        if i % 4 == 3:
            data[name] = rng.choice(["north", "south", "east", "west", "centre"], size=20)
        else:
            data[name] = rng.normal(100.0, 15.0, size=20)
    data["contact_email"] = EMAILS
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("schema")
    for live in _serve(root, "local"):
        catalog: Any = live.services.catalog
        catalog.register("wide", _wide(), pii={"contact_email": "keep"}, user="alice")
        folder = root / "imgs"
        folder.mkdir()
        (folder / "a.txt").write_text("first")
        catalog.register("images", folder)
        yield live


def _get(server: LiveServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(server.url + path, params=params, timeout=60)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="schema-row" data-column="([^"]+)"', html)


def _count_note(html: str) -> str:
    found = re.search(r'<p class="muted" id="schema-count">(.*?)·', html)
    assert found, "no schema count note"
    return found.group(1).strip()


def test_a_wide_versions_page_lists_its_first_columns_and_stays_small(server) -> None:
    r = _get(server, "/ui/data/wide/v/1")
    assert r.status_code == 200
    size = len(r.content)
    print(f"dataset page at {COLUMNS} columns: {size:,} bytes")
    assert size < PAGE_BUDGET, size
    expected = list(_wide().columns[:MAX_SCHEMA_ROWS])
    assert _rows(r.text) == expected
    assert _count_note(r.text) == f"showing {MAX_SCHEMA_ROWS} of 1,000 columns"
    assert 'href="/ui/data/wide/v/1/schema.json"' in r.text
    assert 'href="/ui/data/wide/v/1/schema.csv"' in r.text
    assert not [e for e in set(EMAILS) if e in r.text]


def test_the_filter_finds_any_column_by_name(server) -> None:
    names = list(_wide().columns)
    r = _get(server, "/ui/data/wide/v/1", columns="FEATURE_09")  # case does not matter
    matching = [n for n in names if "feature_09" in n]
    assert r.status_code == 200 and _rows(r.text) == matching[:MAX_SCHEMA_ROWS]
    note = f"showing {MAX_SCHEMA_ROWS} of {len(matching)} columns matching “FEATURE_09”"
    assert _count_note(r.text) == note + " (1,000 in all)"
    assert 'value="FEATURE_09"' in r.text and 'id="schema-filter-clear"' in r.text

    email = _get(server, "/ui/data/wide", columns="email")  # the latest version's page too
    assert _rows(email.text) == ["contact_email"]
    assert "(hidden)" in email.text and not [e for e in set(EMAILS) if e in email.text]
    none = _get(server, "/ui/data/wide/v/1", columns="no-such-column")
    assert none.status_code == 200 and _rows(none.text) == []
    assert _count_note(none.text).startswith("showing 0 of 0 columns matching")


def test_the_whole_schema_as_json_and_csv(server) -> None:
    frame = _wide()
    body = _get(server, "/ui/data/wide/v/1/schema.json").json()
    assert body["ref"] == "wide@v1" and body["total"] == COLUMNS
    assert [c["name"] for c in body["columns"]] == list(frame.columns)
    last_number = body["columns"][COLUMNS - 2]  # feature_0998: a number
    assert last_number["mean"] == pytest.approx(frame["feature_0998"].mean())
    email = body["columns"][-1]
    assert email["hidden"] and email["top"] == [] and email["min"] is None
    assert email["pii_label"] == "email · kept"
    filtered = _get(server, "/ui/data/wide/v/1/schema.json", columns="_099").json()
    assert [c["name"] for c in filtered["columns"]] == [f"feature_{i:04d}" for i in range(990, 999)]

    r = _get(server, "/ui/data/wide/v/1/schema.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="wide-v1-schema.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["column"] for row in rows] == list(frame.columns)
    category = rows[3]  # feature_0003
    counts = frame["feature_0003"].value_counts()
    assert category["top_categories"].startswith(f"{counts.index[0]} ({counts.iloc[0]})")
    assert rows[-1]["top_categories"] == "(hidden)" and rows[-1]["min"] == "(hidden)"
    assert not [e for e in set(EMAILS) if e in r.text]


def test_bad_schema_requests_are_clear_4xx(server, tmp_path: Path) -> None:
    long = "x" * (MAX_FILTER + 1)
    page = _get(server, "/ui/data/wide/v/1", columns=long)
    assert page.status_code == 400
    assert f"columns filter must be at most {MAX_FILTER} characters" in page.text
    assert 'id="schema-error"' in page.text
    for path, params, status, says in [
        ("/ui/data/wide/v/1/schema.json", {"columns": long}, 400, "columns filter"),
        ("/ui/data/wide/v/1/schema.csv", {"columns": long}, 400, "columns filter"),
        ("/ui/data/wide/v/9/schema.json", {}, 404, "has no version v9"),
        ("/ui/data/nope/v/1/schema.csv", {}, 404, "no dataset named 'nope'"),
        ("/ui/data/wide/v/0/schema.json", {}, 400, "start at v1"),
        ("/ui/data/images/v/1/schema.json", {}, 400, "only tables have a schema"),
    ]:
        r = _get(server, path, **params)
        assert r.status_code == status and says in r.json()["message"], (path, r.text)
