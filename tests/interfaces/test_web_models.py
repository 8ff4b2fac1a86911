"""The model registry pages in real headless Chromium: the list with search, a model's
versions with status chips and aliases, the click through to the run that logged a version,
a version's signature, package and audit trail, and 404/400 pages."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from shipyard.interfaces.web.model_routes import audit_rows, trail_href
from tests.interfaces.conftest import _serve
from tests.interfaces.test_api_models import Registered, seed_models


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    for server in _serve(tmp_path_factory.mktemp("models-web"), "local"):
        registered = seed_models(server)
        registry = server.services.registry  # type: ignore[attr-defined]
        registry.set_status("churn@1", "gate_passed", user="ci", reason="gates green")
        registry.archive("churn@2", user="carol", reason="leaky feature")
        yield registered


@pytest.fixture
def page(browser) -> Iterator[object]:
    p = browser.new_page()
    try:
        yield p
    finally:
        p.close()


def _open(page, url: str, status: int = 200) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == status, resp and resp.text()


def _names(page) -> list[str]:
    rows = page.locator("#models tr.model-row")
    return rows.evaluate_all("els => els.map(e => e.dataset.name)")


def test_trail_link_and_audit_rows() -> None:
    assert trail_href("loans") == "/ui/audit?object=model%3Aloans"
    entry = SimpleNamespace(
        seq=3,
        time=1,
        actor="bob",
        action="model.alias",
        object_type="model",
        object_id="loans",
        reason="why",
        payload='{"alias":"champion","from":null,"to":2}',
        payload_hash="h",
        prev_hash="p",
        hash="x",
    )
    created = SimpleNamespace(**{**entry.__dict__, "payload": '{"version":1,"flavor":"sklearn"}'})
    odd = SimpleNamespace(**{**entry.__dict__, "payload": "{oops"})
    rows = audit_rows([entry, created, odd], version=2)
    assert [(r["version"], r["current"]) for r in rows] == [(2, True), (1, False), (None, False)]
    assert rows[0]["details"] == [("alias", "champion"), ("to", "2")]
    assert rows[2]["details"] == [("payload", "{oops")]


def test_the_pages_need_a_login_when_tokens_are_required(live_server) -> None:
    for path in ("/ui/models", "/ui/models/loans", "/ui/models/loans/versions/1"):
        resp = httpx.get(live_server.url + path, follow_redirects=False, timeout=30)
        assert resp.status_code == 303 and resp.headers["location"] == f"/login?next={path}"


@pytest.mark.browser
def test_list_and_search(page, registered) -> None:
    url = registered.server.url
    _open(page, f"{url}/ui/experiments")
    page.click("header a[href='/ui/models']")
    page.wait_for_url("**/ui/models")
    assert _names(page) == ["churn", "fraud", "loans"]
    assert page.inner_text("#model-count") == "3"
    loans = page.locator("tr.model-row[data-name='loans']")
    assert loans.locator(".model-latest").inner_text() == "v2"
    assert loans.locator(".alias-chip").inner_text() == "champion → v1"

    page.fill("#model-search", "LOA")
    page.click("#model-search-go")
    page.wait_for_url("**/ui/models?q=LOA")
    assert _names(page) == ["loans"] and "matching LOA" in page.inner_text("main")
    page.click("#model-search-clear")
    page.wait_for_url("**/ui/models")
    assert len(_names(page)) == 3

    _open(page, f"{url}/ui/models?q=nothing")
    assert _names(page) == [] and "No model name or tag contains nothing" in page.inner_text(
        "#no-models"
    )


@pytest.mark.browser
def test_the_list_pages_and_searches_tags(page, registered) -> None:
    url = registered.server.url
    _open(page, f"{url}/ui/models?limit=2")
    assert _names(page) == ["churn", "fraud"]
    assert "showing 1-2 of 3 models" in page.inner_text("#models-pager")
    page.click("#models-next")
    page.wait_for_url("**/ui/models?limit=2&cursor=*")
    assert _names(page) == ["loans"] and page.locator("#models-next").count() == 0
    assert "showing 3-3 of 3 models" in page.inner_text("#models-pager")
    page.click("#models-first")
    page.wait_for_url("**/ui/models?limit=2")
    assert _names(page) == ["churn", "fraud"]

    registry = registered.server.services.registry  # type: ignore[attr-defined]
    registry.set_model_tag("churn", "team", "retention", user="ada")
    try:
        page.fill("#model-search", "retent")
        page.click("#model-search-go")
        page.wait_for_url("**/ui/models?q=retent")
        assert _names(page) == ["churn"]
        _open(page, f"{url}/ui/models?q=team%3Dretention")
        assert _names(page) == ["churn"]
    finally:
        registry.delete_model_tag("churn", "team", user="ada")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("cursor=garbage", "cursor 'garbage' is not valid"),
        ("limit=0", "limit must be 1..10000"),
        ("limit=x", "limit must be a whole number"),
    ],
)
def test_bad_paging_is_a_400_page(page, registered, query, text) -> None:
    _open(page, f"{registered.server.url}/ui/models?{query}", status=400)
    assert text in page.inner_text("#models-error")


@pytest.mark.browser
def test_the_model_page_lists_versions_and_links_to_the_run(page, registered) -> None:
    url = registered.server.url
    _open(page, f"{url}/ui/models")
    page.click("tr.model-row[data-name='loans'] a.model-link")
    page.wait_for_url("**/ui/models/loans")
    assert page.inner_text("#model-name") == "loans"
    assert page.inner_text("#model-description") == "credit"
    assert page.inner_text("#model-aliases").strip() == "champion → v1"
    rows = page.locator("#versions tr.version-row")
    assert rows.evaluate_all("els => els.map(e => e.dataset.version)") == ["2", "1"]
    v1 = page.locator("#version-1")
    assert v1.locator(".version-aliases").inner_text().strip() == "champion"
    assert v1.locator(".status-chip").inner_text() == "candidate"
    assert page.locator("#version-2 .version-aliases").inner_text().strip() == ""
    assert page.locator("#version-2 .run-link").count() == 0
    assert page.get_attribute("#model-trail-link", "href") == "/ui/audit?object=model%3Aloans"

    v1.locator("a.run-link").click()
    page.wait_for_url(f"**/ui/runs/{registered.run_id}")
    assert "train-loans" in page.inner_text("main")
    page.go_back()
    page.click("#model-trail-link")
    page.wait_for_url("**/ui/audit?object=model%3Aloans")
    actions = page.locator("tr.audit-row").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions == ["model.alias", "model.version.create", "model.version.create"]


@pytest.mark.browser
def test_status_chips_are_coloured(page, registered) -> None:
    _open(page, f"{registered.server.url}/ui/models/churn")
    chips = {
        v: page.locator(f"#version-{v} .status-chip")
        for v in (1, 2)  # gate_passed, archived
    }
    assert chips[1].inner_text() == "gate_passed" and chips[2].inner_text() == "archived"
    colours = {v: c.evaluate("e => getComputedStyle(e).backgroundColor") for v, c in chips.items()}
    assert colours == {1: "rgb(204, 251, 241)", 2: "rgb(243, 244, 246)"}
    assert chips[2].get_attribute("title") == "leaky feature"


@pytest.mark.browser
def test_the_version_page_shows_signature_package_and_audit(page, registered) -> None:
    url = registered.server.url
    _open(page, f"{url}/ui/models/loans")
    page.click("#version-1 a.version-link")
    page.wait_for_url("**/ui/models/loans/versions/1")
    assert page.inner_text("#version-title") == "v1"
    assert page.inner_text("#version-status") == "candidate"
    assert "current" in page.get_attribute("#version-1", "class")
    signature = page.locator("#signature tr.signature-row")
    assert signature.evaluate_all(
        "els => els.map(e => [e.querySelector('.sig-name').innerText,"
        " e.querySelector('.sig-type').innerText])"
    ) == [["age", "int64"], ["income", "float64"]]
    assert "int64" in page.inner_text("#signature-output")
    assert page.inner_text("#version-flavor") == "sklearn"
    assert page.inner_text("#version-aliases").strip() == "champion"
    version = registered.server.services.registry.get_version("loans@1")  # type: ignore[attr-defined]
    assert page.inner_text("#content-id") == version.content_id
    assert page.inner_text("#package-python") == version.package["python"]
    assert page.locator(".library[data-library='scikit-learn']").count() == 1
    assert page.inner_text("#version-by") == "ada"

    audit = page.locator("#model-audit tr.audit-row")
    assert audit.evaluate_all("els => els.map(e => e.dataset.action)") == [
        "model.alias",
        "model.version.create",
        "model.version.create",
    ]
    alias = page.locator("#model-audit tr.audit-row[data-action='model.alias']")
    assert "current" in alias.get_attribute("class")
    assert alias.locator(".audit-actor").inner_text() == "bob"
    assert alias.locator(".audit-reason-cell").inner_text() == "first"
    assert page.get_attribute("#version-trail-link", "href") == "/ui/audit?object=model%3Aloans"

    page.click("#version-run-link")
    page.wait_for_url(f"**/ui/runs/{registered.run_id}")


@pytest.mark.browser
@pytest.mark.parametrize(("ref", "version"), [("champion", "1"), ("v2", "2"), ("latest", "2")])
def test_a_version_by_alias_or_vn(page, registered, ref, version) -> None:
    _open(page, f"{registered.server.url}/ui/models/loans/versions/{ref}")
    assert page.inner_text("#version-title").startswith(f"v{version}")


@pytest.mark.browser
def test_an_archived_version_shows_its_reason(page, registered) -> None:
    _open(page, f"{registered.server.url}/ui/models/churn/versions/2")
    assert page.inner_text("#version-status") == "archived"
    assert page.inner_text("#status-reason") == "leaky feature"
    assert page.inner_text("#version-run-link") == "logged outside a run"


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/ui/models/nothing", 404, "no registered model named 'nothing'"),
        ("/ui/models/nothing/versions/1", 404, "no registered model named 'nothing'"),
        ("/ui/models/loans/versions/9", 404, "model 'loans' has no version 9"),
        ("/ui/models/loans/versions/gold", 404, "model 'loans' has no alias 'gold'"),
        ("/ui/models/-bad", 400, "model name '-bad' must be"),
        ("/ui/models/loans/versions/0", 400, "versions start at 1"),
        ("/ui/models/loans/versions/Gold", 400, "alias 'Gold' must be"),
    ],
)
def test_error_pages(page, registered, path, status, text) -> None:
    _open(page, registered.server.url + path, status=status)
    assert text in page.inner_text("#model-error")
    assert page.inner_text("#error-title") == (
        "Not found" if status == 404 else "Cannot show this model"
    )
    assert page.locator("#versions").count() == 0
    page.click("#back-to-models")
    page.wait_for_url("**/ui/models")
