"""The audit page in real headless Chromium: the verify banner (intact, then red naming the
entry an SQL edit broke), entries newest first with links to their objects, the object
filter, and a 400 page for a bad filter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.core.entities import Role
from shipyard.interfaces.presenters.audit import compact_value, evidence_pairs
from shipyard.interfaces.web.audit_routes import object_href, payload_details
from shipyard.stores.ports import NewEntry
from shipyard.stores.sql.audit_repo import AuditRepo
from tests.interfaces.conftest import _serve
from tests.interfaces.test_api_audit import Audited, seed_audit, tamper
from tests.interfaces.test_web_run_pages import _clean, _console

ENTRIES = 9  # admin added and given a token, the local admin, then what seed_audit does


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    for server in _serve(tmp_path_factory.mktemp("audit-web"), "local"):
        yield seed_audit(server)


LONG_RUN = "8fe4c2d1a9b34e0f9c7d6b5a4f3e2d1c"
GATES = {
    "passed": True,
    "holdout": "diabetes-holdout@v1",
    "figures": {"roc_auc": 0.868123456, "rows": 12345, "per_group": {"1": 0.5, "2": 0.4}},
    "gates": [
        {"gate": f"metric:{name}", "value": 0.1234567 * i, "passed": True}
        for i, name in enumerate(
            ("roc_auc", "accuracy", "f1", "precision", "recall", "brier", "ll")
        )
    ],
}
GOVERNED = [  # appended after seed_audit's 9: seq 10..14
    ("carol", "model.gate", "model", "diabetes-progression", GATES),
    ("shipyard-retrain", "retrain.awaiting_approval", "retraining", "1",
     {"model": "diabetes-progression", "pipeline_run_id": LONG_RUN, "trigger_detail":
      {"rule": "drift_share > 0.15", "figures": {"drift_share": 0.3012, "drift.age": 1.7834}}}),
    ("monitor", "alert.opened", "alert", "1", {"rule": "drift_share > 0.15", "window": 17650000}),
    ("dave", "deployment.deploy", "deployment",
     "production/diabetes-progression-with-a-rather-long-model-name", {"traffic": 20}),
    ("ada", "run.status", "run", LONG_RUN, {"from": "RUNNING", "to": "FINISHED"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    """seed_audit's trail, then a gate with nested evidence, the loop's approval wait, an
    alert, a deployment of a long-named model and a run's status: long ids, wide evidence."""
    for server in _serve(tmp_path_factory.mktemp("audit-governed"), "local"):
        audited = seed_audit(server)
        svc = server.services
        entries = [NewEntry(a, act, t, i, "", p) for a, act, t, i, p in GOVERNED]
        with svc.db.write() as conn:  # type: ignore[attr-defined]
            AuditRepo().append(conn, entries, 1_765_000_000_000)
        yield audited


@pytest.fixture
def page(browser) -> Iterator[object]:
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    p.errors = []  # type: ignore[attr-defined]
    p.on("console", lambda m: _console(p, m))
    p.on("pageerror", lambda e: p.errors.append(str(e)))  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        p.close()


def _open(page, url: str, status: int = 200) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == status, resp and resp.text()


def _seqs(page) -> list[int]:
    rows = page.locator("#audit-entries tr.audit-row")
    return [int(s) for s in rows.evaluate_all("els => els.map(e => e.dataset.seq)")]


def test_object_links_and_details() -> None:
    assert object_href("run", "ab12") == "/ui/runs/ab12"
    assert object_href("dataset", "loans") == "/ui/data/loans"
    assert object_href("pipeline", "ab12") == "/ui/pipelines/ab12"
    assert object_href("experiment", "7") == "/ui/experiments/7"
    assert object_href("user", "carol") is None
    assert object_href("dataset", "a/b") == "/ui/data/a%2Fb"
    assert payload_details({"from": "RUNNING", "to": "FINISHED", "parent": None}) == [
        ("from", "RUNNING"),
        ("to", "FINISHED"),
    ]
    assert payload_details({"figures": {"auc": 0.91234, "n": 7}}) == [
        ("figures", "{auc: 0.9123, n: 7}")
    ]
    assert payload_details("{oops") == [("payload", "{oops")]
    assert payload_details({}) == []


@pytest.mark.browser
def test_the_page_shows_the_entries_and_an_intact_banner(page, audited) -> None:
    url = audited.server.url
    _open(page, f"{url}/ui/experiments")
    page.click("header a[href='/ui/audit']")
    page.wait_for_url("**/ui/audit")
    banner = page.locator("#audit-banner")
    assert banner.get_attribute("data-ok") == "true" and "audit-ok" in banner.get_attribute("class")
    assert f"intact: {ENTRIES} entries verified" in banner.inner_text()
    assert _seqs(page) == list(range(ENTRIES, 0, -1))
    assert page.inner_text("#audit-entry-count") == str(ENTRIES)

    newest = page.locator(f"#audit-{ENTRIES}")
    assert newest.locator(".audit-actor").inner_text() == "admin"
    assert newest.locator(".audit-action").inner_text() == "token.issue"
    assert newest.locator(".audit-object-link").count() == 0  # users have no page
    assert "token_name: default" in newest.locator(".audit-details").inner_text()
    full = audited.server.services.audit.log(limit=1)[0].hash  # type: ignore[attr-defined]
    short = newest.locator(".audit-hash")
    assert short.inner_text() == full[:12] and short.get_attribute("title") == full

    status = page.locator("tr.audit-row[data-action='run.status']")
    assert status.locator(".audit-actor").inner_text() == "ada"
    details = status.locator(".audit-details").inner_text()
    assert "from: RUNNING" in details and "to: FINISHED" in details
    run_link = status.locator("a.audit-object-link")
    assert run_link.get_attribute("href") == f"/ui/runs/{audited.run_id}"
    alias = page.locator("tr.audit-row[data-action='dataset.alias']")
    assert alias.locator("a.audit-object-link").get_attribute("href") == "/ui/data/loans"
    assert alias.locator(".audit-actor").inner_text() == "bob"

    run_link.click()
    page.wait_for_url(f"**/ui/runs/{audited.run_id}")
    page.go_back()
    alias.locator("a.audit-object-link").click()
    page.wait_for_url("**/ui/data/loans")
    assert "loans" in page.inner_text("h1")


@pytest.mark.browser
def test_filter_by_object_and_limit(page, audited) -> None:
    _open(page, f"{audited.server.url}/ui/audit")
    page.fill("#audit-object", "dataset:loans")
    page.click("#audit-filter-go")
    page.wait_for_url("**/ui/audit?object=dataset%3Aloans*")
    assert _seqs(page) == [7, 6]
    assert {
        r
        for r in page.locator("tr.audit-row").evaluate_all("els => els.map(e => e.dataset.object)")
    } == {"dataset:loans"}
    assert "of dataset:loans" in page.inner_text("main")

    page.fill("#audit-object", "")
    page.fill("#audit-limit", "3")
    page.click("#audit-filter-go")
    page.wait_for_url("**/ui/audit?*limit=3*")
    assert _seqs(page) == [ENTRIES, ENTRIES - 1, ENTRIES - 2]
    assert f"showing 1-3 of {ENTRIES} entries" in page.inner_text("#audit-pager")
    page.click("#audit-next")
    page.wait_for_url("**/ui/audit?*cursor=*")
    assert _seqs(page) == [ENTRIES - 3, ENTRIES - 4, ENTRIES - 5]
    assert f"showing 4-6 of {ENTRIES} entries" in page.inner_text("#audit-pager")
    page.click("#audit-first")
    page.wait_for_url("**/ui/audit?limit=3")
    assert _seqs(page)[0] == ENTRIES

    page.locator("tr.audit-row").first.locator("a.audit-trail-link").click()
    page.wait_for_url("**/ui/audit?object=user%3Avera")
    assert _seqs(page) == [ENTRIES, ENTRIES - 1]
    page.click("#audit-filter-clear")
    page.wait_for_url("**/ui/audit")
    assert len(_seqs(page)) == ENTRIES

    _open(page, f"{audited.server.url}/ui/audit?object=dataset:nothing")
    assert _seqs(page) == [] and "No audit entry of dataset:nothing" in page.inner_text(
        "#no-audit-entries"
    )


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("object=nothing:x", "object type 'nothing' is unknown"),
        ("limit=0", "limit must be 1..100000"),
        ("limit=many", "limit must be a whole number"),
        ("cursor=garbage", "cursor 'garbage' is not valid"),
        ("start=x", "start must be a whole number"),
        ("kind=gates", "kind must be one of governance, bookkeeping or all, got 'gates'"),
    ],
)
def test_a_bad_filter_is_a_400_page(page, audited, query, text) -> None:
    _open(page, f"{audited.server.url}/ui/audit?{query}", status=400)
    assert text in page.inner_text("#audit-error")
    assert page.locator("#audit-entries").count() == 0
    assert page.locator("#audit-banner").get_attribute("data-ok") == "true"


@pytest.mark.browser
def test_after_tampering_the_banner_is_red_naming_the_entry(page, local_server, tmp_path) -> None:
    seed_audit(local_server)
    _open(page, f"{local_server.url}/ui/audit")
    assert page.locator("#audit-banner").get_attribute("data-ok") == "true"
    tamper(tmp_path)  # before the checkpoint the last view left: a view does not re-walk it
    _open(page, f"{local_server.url}/ui/audit")
    assert page.locator("#audit-banner").get_attribute("data-ok") == "true"
    page.click("#audit-verify-full")
    page.wait_for_url("**/ui/audit?full=1")
    banner = page.locator("#audit-banner")
    assert banner.get_attribute("data-ok") == "false"
    assert "audit-broken" in banner.get_attribute("class")
    assert banner.get_attribute("data-broken-seq") == "1"
    text = banner.inner_text()
    assert "broken at entry 1:" in text and "it was edited" in text
    row = page.locator("#audit-1")
    assert "audit-row-broken" in row.get_attribute("class")
    assert row.locator(".audit-actor").inner_text() == "mallory"
    colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(254, 226, 226)"


@pytest.mark.browser
def test_the_search_box_finds_actor_action_or_id(page, audited) -> None:
    _open(page, f"{audited.server.url}/ui/audit")
    page.fill("#audit-q", "alias")
    page.click("#audit-filter-go")
    page.wait_for_url("**/ui/audit?*q=alias*")
    assert _seqs(page) == [7]
    assert "showing 1-1 of 1 entries" in page.inner_text("#audit-pager")
    _open(page, f"{audited.server.url}/ui/audit?q=nobody-at-all")
    assert "No audit entry matches nobody-at-all" in page.inner_text("#no-audit-entries")


@pytest.mark.browser
def test_an_edit_after_the_checkpoint_turns_the_next_view_red(page, local_server, tmp_path) -> None:
    seed_audit(local_server)
    _open(page, f"{local_server.url}/ui/audit")  # checkpoint at the head
    local_server.services.access.add_user("late", Role.VIEWER, actor="admin")  # type: ignore[attr-defined]
    _open(page, f"{local_server.url}/ui/audit")
    banner = page.locator("#audit-banner")
    assert banner.get_attribute("data-ok") == "true" and int(banner.get_attribute("data-since")) > 0
    tamper(tmp_path, f"UPDATE audit_ledger SET actor='mallory' WHERE seq={ENTRIES + 1}")
    _open(page, f"{local_server.url}/ui/audit")
    assert page.locator("#audit-banner").get_attribute("data-broken-seq") == str(ENTRIES + 1)


def test_evidence_reads_as_key_value_text() -> None:
    assert compact_value({"a": 1, "b": {"c": [0.123456, True, None]}}) == (
        "{a: 1, b: {c: [0.1235, true, —]}}"
    )
    assert compact_value(1765000000000) == "1765000000000" and compact_value(2.5e-7) == "2.5e-07"
    assert compact_value({"x": {"y": {"z": 1}}}) == "{x: {y: {…1 key}}}"
    assert compact_value({"x": {"y": {"z": 1, "w": 2}}}) == "{x: {y: {…2 keys}}}"
    assert compact_value(list(range(9))) == "[0, 1, 2, 3, 4, 5, … 3 more]"
    (key, text, whole) = evidence_pairs({"gates": GATES})[0]
    assert key == "gates" and text.startswith("{passed: true, holdout: diabetes-holdout@v1,")
    assert "'" not in text and len(text) <= 200 and whole.startswith('{"passed": true')


@pytest.mark.browser
def test_the_table_fits_1280_px_with_readable_evidence(page, governed) -> None:
    _open(page, f"{governed.server.url}/ui/audit")
    _clean(page)
    gate = page.locator("#audit-10")
    evidence = gate.locator(".audit-details").inner_text()
    assert "passed: true" in evidence and "holdout: diabetes-holdout@v1" in evidence
    # stored as canonical JSON: keys sorted
    assert "figures: {per_group: {1: 0.5, 2: 0.4}, roc_auc: 0.8681, rows: 12345}" in evidence
    assert "{'" not in page.inner_text("#audit-entries") and "True" not in evidence
    gates = gate.locator(".audit-detail").filter(has_text="gates:")
    assert '"gate": "metric:roc_auc"' in gates.get_attribute("title")
    run = page.locator("#audit-14 .audit-object-link")
    assert run.inner_text() == f"run:{LONG_RUN[:12]}…"
    assert run.get_attribute("title") == f"run:{LONG_RUN}"
    assert run.get_attribute("href") == f"/ui/runs/{LONG_RUN}"
    model = page.locator("#audit-13 .audit-object-text")
    assert model.get_attribute("title").endswith("with-a-rather-long-model-name")
    for cell in ("#audit-10 .audit-details", "#audit-11 .audit-details"):
        box = page.locator(cell).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280, (cell, box)
    spilled = page.locator("#audit-entries td").evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth).map(c => c.outerHTML)"
    )
    assert spilled == []  # nothing sticks out of its cell
    lines = page.locator("#audit-entries .audit-hash, #audit-entries .audit-seq").evaluate_all(
        "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length; })"
    )
    assert lines and set(lines) == {1}  # numbers and short hashes stay on one line


@pytest.mark.browser
def test_the_kind_filter_composes_with_the_object_and_the_pager(page, governed) -> None:
    url = governed.server.url
    _open(page, f"{url}/ui/audit")
    page.select_option("#audit-kind", "governance")
    page.click("#audit-filter-go")
    page.wait_for_url("**/ui/audit?*kind=governance*")
    _clean(page)
    # deploy, retrain, gate, then seed_audit's users, tokens and alias
    assert _seqs(page) == [13, 11, 10, 9, 8, 7, 3, 2, 1]
    assert page.inner_text("#audit-kind-shown") == "governance"
    assert page.locator("#audit-kind").input_value() == "governance"

    _open(page, f"{url}/ui/audit?kind=bookkeeping&limit=2")
    assert _seqs(page) == [14, 12]
    assert "showing 1-2 of 5 entries" in page.inner_text("#audit-pager")
    page.click("#audit-next")
    page.wait_for_url("**/ui/audit?*cursor=*")
    assert _seqs(page) == [6, 5]  # the cursor keeps the kind: not the governance 13..7
    assert page.locator("#audit-kind").input_value() == "bookkeeping"

    _open(page, f"{url}/ui/audit?kind=governance&object=model:diabetes-progression")
    assert _seqs(page) == [10]
    _open(page, f"{url}/ui/audit?kind=bookkeeping&object=user:vera")
    assert _seqs(page) == []
