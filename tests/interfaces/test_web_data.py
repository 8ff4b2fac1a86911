"""The data catalog pages in real headless Chromium: list and search, dataset page (schema,
profile, PII badges, masked sample, validation), version diff, lineage, folders, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

EMAILS = [
    "alice.smith@example.com",
    "bob.jones@example.org",
    "carol.white@example.net",
    "dan.brown@example.com",
    "erin.green@example.org",
    "frank.black@example.net",
]
CARDS = [
    "4111111111111111",
    "5500000000000004",
    "4012888888881881",
    "5555555555554444",
    "4111111111111111",
    "5105105105105100",
]
RAW = EMAILS + CARDS + ["@example."]


def _loans(extra: int = 0):
    import pandas as pd

    n = len(EMAILS)
    df = pd.DataFrame(
        {
            "loan_id": list(range(1, n + 1)),
            "age": [30, 41, 25, 52, 38, 61],
            "income": [10.5, 20.0, 30.1, 40.2, 25.0, 33.3],
            "email": EMAILS,
            "card": CARDS,
            "segment": ["a", "b", "a", "c", "b", "a"],
        }
    )
    if extra:
        more = df.head(extra).assign(loan_id=lambda d: d.loan_id + n, income=lambda d: d.income * 4)
        df = pd.concat([df, more], ignore_index=True)
        df["score"] = [0.1 * i for i in range(len(df))]
    return df


@pytest.fixture
def catalog_server(local_server, tmp_path: Path):
    """Three datasets: loans (2 table versions with PII, v2 validated and read by a run),
    weather (1 table version) and images (2 folder versions)."""
    import pandas as pd

    services = local_server.services
    catalog = services.catalog
    pii = {"email": "tokenize", "card": "mask"}
    common = {"description": "Loan book", "owner": "risk-team", "tags": {"domain": "credit"}}
    catalog.register("loans", _loans(), pii=pii, user="alice", **common)
    catalog.register("loans", _loans(extra=3), pii=pii, user="bob")
    catalog.set_alias("loans@v2", "training", "alice")
    record = catalog.validate(
        "loans@v2", {"columns": {"age": {"type": "int", "min": 200}}}, "alice"
    )
    assert not record.passed
    weather = pd.DataFrame({"temperature_c": [12.5, 14.0, 9.5], "station": ["x", "y", "z"]})
    catalog.register(
        "weather", weather, description="Daily readings", owner="ops", tags={"domain": "climate"}
    )
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first")
    (folder / "sub" / "b.txt").write_text("bee")
    catalog.register("images", folder, owner="vision", tags={"modality": "pictures"})
    (folder / "a.txt").write_text("first, edited")
    (folder / "c.txt").write_text("sea")
    (folder / "sub" / "b.txt").unlink()
    catalog.register("images", folder, owner="vision")

    tracking = services.tracking
    eid = tracking.create_experiment("credit-model")
    run_id = tracking.create_run(eid, run_name="train-loans").run_id
    catalog.record_input(run_id, "loans@v2")
    return local_server, run_id


def _names(page) -> list[str]:
    return page.locator("tr.dataset-row td:first-child").all_inner_texts()


def _no_raw_pii(page) -> None:
    html = page.content()
    leaked = [value for value in RAW if value in html]
    assert not leaked, f"raw personal data in {page.url}: {leaked}"


@pytest.mark.browser
def test_catalog_list_and_search(browser, catalog_server) -> None:
    server, _ = catalog_server
    page = browser.new_page()
    try:
        page.goto(server.url + "/ui/experiments")
        page.click("header >> text=Data")
        page.wait_for_url("**/ui/data")
        assert sorted(_names(page)) == ["images", "loans", "weather"]
        loans = page.locator("tr.dataset-row[data-name='loans']")
        assert "v2" in loans.inner_text() and "risk-team" in loans.inner_text()
        assert "domain=credit" in loans.inner_text() and "Loan book" in loans.inner_text()
        _no_raw_pii(page)

        for query, expected in [
            ("segment", ["loans"]),  # a column name (of both versions)
            ("score", ["loans"]),  # a column only v2 has
            ("TEMPERATURE", ["weather"]),  # column names, any case
            ("climate", ["weather"]),  # a tag value
            ("modality", ["images"]),  # a tag key
            ("risk-team", ["loans"]),  # the owner
        ]:
            page.fill("#data-search", query)
            page.click("#data-search-go")
            page.wait_for_url(f"**/ui/data?q={query}")
            assert _names(page) == expected, query
            assert page.inner_text("#dataset-count") == str(len(expected))
        page.fill("#data-search", "no-such-thing")
        page.click("#data-search-go")
        page.wait_for_selector("#no-datasets")
        assert page.inner_text("#dataset-count") == "0"
        page.click("#data-search-clear")
        page.wait_for_url("**/ui/data")
        page.fill("#data-search", "segment")
        page.click("#data-search-go")
        page.click("tr.dataset-row >> text=loans")
        page.wait_for_url("**/ui/data/loans")
        assert page.inner_text("#dataset-name") == "loans"
    finally:
        page.close()


@pytest.mark.browser
def test_catalog_list_pages(browser, catalog_server) -> None:
    server, _ = catalog_server
    page = browser.new_page()
    try:
        page.goto(server.url + "/ui/data?limit=2")
        assert _names(page) == ["images", "loans"]
        assert "showing 1-2 of 3 datasets" in page.inner_text("#datasets-pager")
        page.click("#datasets-next")
        page.wait_for_url("**/ui/data?limit=2&cursor=*")
        assert _names(page) == ["weather"] and page.locator("#datasets-next").count() == 0
        page.click("#datasets-first")
        page.wait_for_url("**/ui/data?limit=2")
        assert _names(page) == ["images", "loans"]
        resp = page.goto(server.url + "/ui/data?cursor=garbage")
        assert resp is not None and resp.status == 400
        assert "cursor 'garbage' is not valid" in page.inner_text("#data-search-error")
    finally:
        page.close()


@pytest.mark.browser
def test_dataset_page_schema_pii_sample_validation_diff_lineage(browser, catalog_server) -> None:
    server, run_id = catalog_server
    page = browser.new_page()
    try:
        resp = page.goto(server.url + "/ui/data/loans")
        assert resp is not None and resp.status == 200
        assert page.inner_text("#dataset-description") == "Loan book"
        assert page.inner_text("#dataset-owner") == "risk-team"
        assert page.inner_text("#version-rows") == "9"  # latest = v2
        assert page.inner_text("#version-kind") == "table"
        assert page.inner_text("#content-id").startswith("blake3:")
        assert "training" in page.inner_text("#version-aliases")
        assert page.inner_text("#version-by") == "bob"

        # schema + profile
        rows = page.locator("tr.schema-row")
        columns = rows.evaluate_all("els => els.map(e => e.dataset.column)")
        assert columns == ["loan_id", "age", "income", "email", "card", "segment", "score"]
        age = page.locator("tr.schema-row[data-column='age']").inner_text()
        assert "int64" in age and "25" in age and "61" in age  # type, min, max
        segment = page.locator("tr.schema-row[data-column='segment']").inner_text()
        assert "a (5)" in segment  # top category with its count (v2: 3 + 2)

        # PII badges: kind and policy per column, none on plain columns
        badges = page.locator("[data-testid='pii-badge']")
        assert badges.count() == 2
        email_badge = page.locator("tr.schema-row[data-column='email'] .pii-badge").inner_text()
        card_badge = page.locator("tr.schema-row[data-column='card'] .pii-badge").inner_text()
        assert email_badge == "email · tokenized"
        assert card_badge == "credit_card · masked"
        assert page.locator("tr.schema-row[data-column='age'] .pii-badge").count() == 0

        # sample rows show stored (masked / tokenized) values, never the raw ones
        assert page.locator("#sample tr.sample-row").count() == 9
        sample = page.inner_text("#sample")
        assert "************1111" in sample and "************4444" in sample
        assert sample.count("tok_") >= 6
        _no_raw_pii(page)

        # validation: failed, with column and check listed
        assert page.inner_text("#validation-status") == "failed"
        assert "validation-failed" in page.get_attribute("#validation-status", "class")
        failure = page.locator("#validation-failures tr.failure-row")
        assert failure.count() == 1
        assert failure.get_attribute("data-column") == "age"
        assert "greater_than_or_equal_to(200)" in failure.inner_text()
        assert "9" in failure.inner_text()  # every row fails

        # version history, and v1 has no validation and shows its own rows
        history = page.locator("#versions tr.version-row")
        assert history.evaluate_all("els => els.map(e => e.dataset.version)") == ["2", "1"]
        page.click("#versions >> text=loans@v1")
        page.wait_for_url("**/ui/data/loans/v/1")
        assert page.inner_text("#version-rows") == "6"
        assert page.inner_text("#validation-status") == "not validated"
        assert page.locator("tr.schema-row[data-column='score']").count() == 0
        _no_raw_pii(page)

        # diff v1 → v2 through the form
        page.goto(server.url + "/ui/data/loans")
        page.select_option("#diff-from", "v1")
        page.select_option("#diff-to", "v2")
        page.click("#diff-go")
        page.wait_for_selector("#diff-result")
        assert "diff=v1" in page.url
        assert page.inner_text("#diff-old") == "loans@v1"
        assert page.inner_text("#diff-new") == "loans@v2"
        assert page.inner_text("#diff-row-delta") == "+3"
        assert "6 → 9" in page.inner_text("#diff-rows")
        added = page.locator("#diff-schema li.diff-added")
        assert added.get_attribute("data-column") == "score"
        income = page.locator("tr.diff-column[data-column='income']")
        assert "changed" in income.get_attribute("class")
        assert "+" in income.locator("td.delta").first.inner_text()  # the mean went up
        age_row = page.locator("tr.diff-column[data-column='age']")
        assert age_row.count() == 1
        _no_raw_pii(page)
        # the diff link of the history table gives the same comparison
        page.goto(server.url + "/ui/data/loans/v/2")
        page.click("#versions a.diff-link")
        page.wait_for_selector("#diff-result")
        assert page.inner_text("#diff-row-delta") == "+3"

        # lineage: the run that read v2, and its link works
        node = page.locator(f"li.lineage-run[data-run-id='{run_id}']")
        assert "train-loans" in node.inner_text() and "as input" in node.inner_text()
        node.locator("a").first.click()
        page.wait_for_url(f"**/ui/runs/{run_id}")
        assert page.inner_text("#run-name") == "train-loans"
        page.goto(server.url + "/ui/data/loans/v/1")
        assert page.locator("#lineage-empty").count() == 1

        # an alias and a ref in the path both reach the version
        page.goto(server.url + "/ui/data/loans/v/training")
        assert page.inner_text("#version-rows") == "9"
        page.goto(server.url + "/ui/data/loans@v1")
        page.wait_for_url("**/ui/data/loans/v/1")
        assert page.inner_text("#version-rows") == "6"
    finally:
        page.close()


@pytest.mark.browser
def test_folder_dataset_files_and_diff(browser, catalog_server) -> None:
    server, _ = catalog_server
    page = browser.new_page()
    try:
        page.goto(server.url + "/ui/data")
        page.click("tr.dataset-row >> text=images")
        page.wait_for_url("**/ui/data/images")
        assert page.inner_text("#version-kind") == "files"
        assert page.inner_text("#version-files") == "2"
        paths = page.locator("#files tr.file-row").evaluate_all(
            "els => els.map(e => e.dataset.path)"
        )
        assert paths == ["a.txt", "c.txt"]
        assert page.locator("#schema").count() == 0
        page.goto(server.url + "/ui/data/images/v/1")
        paths = page.locator("#files tr.file-row").evaluate_all(
            "els => els.map(e => e.dataset.path)"
        )
        assert paths == ["a.txt", "sub/b.txt"]

        page.select_option("#diff-from", "v1")
        page.select_option("#diff-to", "v2")
        page.click("#diff-go")
        page.wait_for_selector("#diff-result")
        counts = page.inner_text("#diff-counts")
        assert "1 added" in counts and "1 removed" in counts and "1 changed" in counts
        changes = page.locator("#diff-files tr.diff-file").evaluate_all(
            "els => els.map(e => [e.dataset.change, e.dataset.path])"
        )
        assert changes == [["added", "c.txt"], ["removed", "sub/b.txt"], ["changed", "a.txt"]]
    finally:
        page.close()


@pytest.mark.browser
def test_errors_render_clear_pages(browser, catalog_server) -> None:
    server, _ = catalog_server
    page = browser.new_page()
    try:
        resp = page.goto(server.url + "/ui/data/no-such-dataset")
        assert resp is not None and resp.status == 404
        assert page.inner_text("#error-title") == "Not found"
        assert "no dataset named 'no-such-dataset'" in page.inner_text("#data-error")
        page.click("#back-to-catalog")
        page.wait_for_url("**/ui/data")

        resp = page.goto(server.url + "/ui/data/loans/v/7")
        assert resp is not None and resp.status == 404
        assert "has no version v7" in page.inner_text("#data-error")
        resp = page.goto(server.url + "/ui/data/loans/v/0")
        assert resp is not None and resp.status == 400
        assert "start at v1" in page.inner_text("#data-error")
        resp = page.goto(server.url + "/ui/data/loans/v/weather@v1")
        assert resp is not None and resp.status == 400
        assert "alias must start with a letter" in page.inner_text("#data-error")
        resp = page.goto(server.url + "/ui/data/bad%20name!")
        assert resp is not None and resp.status == 400
        assert "dataset name must be" in page.inner_text("#data-error")

        # a bad diff keeps the page and says what is wrong
        resp = page.goto(server.url + "/ui/data/loans?diff=v9")
        assert resp is not None and resp.status == 404
        assert "has no version v9" in page.inner_text("#diff-error")
        assert page.inner_text("#dataset-name") == "loans"
        resp = page.goto(server.url + "/ui/data/loans?diff=images@v1")
        assert resp is not None and resp.status == 400
        assert "cannot compare" in page.inner_text("#diff-error")
    finally:
        page.close()


@pytest.mark.browser
def test_personal_data_kept_as_is_is_hidden(browser, local_server) -> None:
    import pandas as pd

    catalog = local_server.services.catalog
    kept = ["zoe.quinn@example.com", "yan.li@example.org", "xavier.roe@example.net"]
    frame = pd.DataFrame({"contact_email": kept, "visits": [3, 5, 8]})
    catalog.register("contacts", frame, pii={"contact_email": "keep"}, user="alice")
    catalog.register("contacts", frame.iloc[:2], pii={"contact_email": "keep"}, user="alice")
    # evidence whose examples quote values (e.g. recorded without redaction): still hidden
    from shipyard.core.datasets import ValidationRecord
    from shipyard.services.catalog.validation import validate_frame

    spec = {"columns": {"contact_email": {"regex": "^nobody"}}}
    report = validate_frame(frame.iloc[:2], spec).to_dict()
    assert report["failures"][0]["example_kind"] == "values"
    record = ValidationRecord(False, report["checks_run"], 1, report, "alice", 1)
    catalog.record_validation("contacts@v2", record)
    page = browser.new_page()
    try:
        page.goto(local_server.url + "/ui/data/contacts?diff=v1")
        badge = page.locator("tr.schema-row[data-column='contact_email'] .pii-badge")
        assert badge.inner_text() == "email · kept"
        assert "(hidden)" in page.inner_text("tr.schema-row[data-column='contact_email']")
        assert page.locator("#sample tr.sample-row").count() == 2
        assert "(hidden)" in page.inner_text("#sample")
        assert "(hidden)" in page.inner_text("#validation-failures")
        # the stored profile of a kept column quotes no values, so the diff has none to show
        assert page.locator("tr.diff-column[data-column='contact_email']").count() == 1
        html = page.content()
        assert not [v for v in kept if v in html]
    finally:
        page.close()


def test_data_pages_need_a_token(live_server) -> None:
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as client:
        resp = client.get("/ui/data/loans")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=/ui/data/loans"
        client.cookies.set("shipyard_token", live_server.admin_token)
        resp = client.get("/ui/data")
        assert resp.status_code == 200 and 'id="datasets"' in resp.text
        assert client.get("/ui/data/nothing").status_code == 404
