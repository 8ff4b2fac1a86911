"""Cross-site writes are refused: a page on another origin cannot act as the local admin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.interfaces.conftest import LiveServer

EVIL_PAGE = """<!doctype html><html><body>
<form id="f" method="post" enctype="text/plain" action="{target}/api/2.0/mlflow/experiments/create">
<input name='{{"name": "pwned-form", "x": "' value='"}}'></form>
<script>
async function attack() {{
  const api = "{target}/api/2.0/mlflow/experiments/create";
  for (const [name, type] of [["pwned-fetch-text", "text/plain"],
                              ["pwned-fetch-form", "application/x-www-form-urlencoded"]]) {{
    try {{
      await fetch(api, {{method: "POST", mode: "no-cors", credentials: "include",
                         headers: {{"Content-Type": type}},
                         body: JSON.stringify({{name}})}});
    }} catch (e) {{}}
  }}
  document.title = "sent";
}}
</script></body></html>"""


@pytest.fixture
def evil_origin(local_server: LiveServer) -> Iterator[str]:
    """A page served from another origin (another host name and port than the server)."""
    page = EVIL_PAGE.format(target=local_server.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _experiments(server: LiveServer) -> set[str]:
    found, _ = server.services.tracking.search_experiments()  # type: ignore[attr-defined]
    return {e.name for e in found}


def test_a_page_on_another_origin_cannot_write_through_the_browser(
    browser, local_server: LiveServer, evil_origin: str
) -> None:
    page = browser.new_page()
    try:
        page.goto(evil_origin + "/")
        page.evaluate("attack()")
        page.wait_for_function("document.title === 'sent'")
        with page.expect_navigation():
            page.evaluate("document.getElementById('f').submit()")
        assert "CROSS_SITE_REQUEST" in page.content()
    finally:
        page.close()
    assert not {n for n in _experiments(local_server) if n.startswith("pwned")}
    # the same request from an API client (no Origin, a JSON body) still works
    r = httpx.post(
        local_server.url + "/api/2.0/mlflow/experiments/create", json={"name": "fine"}, timeout=10
    )
    assert r.status_code == 200, r.text
    assert "fine" in _experiments(local_server)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Origin": "http://evil.example"}, 403, "CROSS_SITE_REQUEST"),
        ({"Origin": "null"}, 403, "CROSS_SITE_REQUEST"),
        ({"Sec-Fetch-Site": "cross-site"}, 403, "CROSS_SITE_REQUEST"),
        ({"Sec-Fetch-Site": "same-site"}, 403, "CROSS_SITE_REQUEST"),
        ({"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_forged_writes_are_refused_naming_why(
    local_server: LiveServer, headers: dict[str, str], status: int, code: str
) -> None:
    for path in ("/api/2.0/mlflow/experiments/create", "/api/v1/experiments"):
        r = httpx.post(
            local_server.url + path,
            content=b'{"name": "pwned"}',
            headers={"Content-Type": "application/json", **headers},
            timeout=10,
        )
        assert r.status_code == status, (path, r.text)
        assert r.json()["error_code"] == code
    assert "pwned" not in _experiments(local_server)


def test_same_origin_writes_and_reads_from_anywhere_pass(local_server: LiveServer) -> None:
    host = local_server.url.removeprefix("http://")
    r = httpx.post(
        local_server.url + "/api/2.0/mlflow/experiments/create",
        json={"name": "from-the-ui"},
        headers={"Origin": local_server.url, "Sec-Fetch-Site": "same-origin", "Host": host},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    r = httpx.get(
        local_server.url + "/api/2.0/mlflow/experiments/search?max_results=10",
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        timeout=10,
    )
    assert r.status_code == 200  # reads are not state changes (and CORS keeps them unreadable)


def test_a_rebound_host_name_gets_no_local_admin(local_server: LiveServer) -> None:
    """DNS rebinding: a page of evil.example re-resolved to 127.0.0.1 sends its own Host and
    Origin (same origin as far as the browser knows): it must not act as the local admin."""
    rebound = {"Host": "evil.example:5005", "Origin": "http://evil.example:5005"}
    r = httpx.post(
        local_server.url + "/api/2.0/mlflow/experiments/create",
        json={"name": "rebound"},
        headers={**rebound, "Sec-Fetch-Site": "same-origin"},
        timeout=10,
    )
    assert r.status_code == 401, r.text
    r = httpx.get(local_server.url + "/api/v1/experiments", headers=rebound, timeout=10)
    assert r.status_code == 401  # nor read anything
    assert "rebound" not in _experiments(local_server)
    for host in ("localhost", "127.0.0.1", "[::1]"):
        port = local_server.url.rsplit(":", 1)[1]
        r = httpx.get(local_server.url + "/api/v1/experiments", headers={"Host": f"{host}:{port}"})
        assert r.status_code == 200, (host, r.text)
