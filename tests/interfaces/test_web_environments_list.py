"""The environments overview at fleet scale, over HTTP: it pages by a keyset cursor with a
"showing N-M of T" line, searches by name, shows the first models of each environment with
a link to the rest, reads the same handful of queries however many environments a page holds,
and answers bad paging input with a 400 page naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from shipyard.core.clock import now_ms
from shipyard.core.deployments import Deployment, DeploymentEvent, Strategy
from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.interfaces.web.deploy_overview import ENV_PREVIEW, ENVS_PAGE
from tests.interfaces.conftest import LiveServer, _serve

SMALL = [f"env-{i:02d}" for i in range(ENVS_PAGE + 5)]
BIG = "fleet-big"
BIG_MODELS = [f"model-{i:02d}" for i in range(ENV_PREVIEW + 3)]


def _put(svc, env: str, model: str, candidate: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """A deployment row and its event, as ``DeploymentService`` records them."""
    now = now_ms()
    strategy = Strategy.CANARY if candidate else Strategy.REPLACE
    state = Deployment(
        env, model, 1, candidate, strategy, 10 if candidate else 100, None, "ada", now, 0
    )
    event = DeploymentEvent(
        0, env, model, "deploy", None, 1, strategy.value, 100, "ada", "", now, {}
    )
    with svc.deployments.db.write() as conn:
        svc.deployments.repo.record(conn, state, event)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("envs-list")
    for server in _serve(root, "local"):
        svc = server.services
        for env in SMALL:
            _put(svc, env, "churn")
        for k, model in enumerate(BIG_MODELS):
            _put(svc, BIG, model, candidate=2 if k % 4 == 0 else None)
        buckets = [0] * (len(BOUNDS_MS) + 1)
        buckets[bucket_of(4)] = 30
        row = ("model-00", 1, "live", 30, 3, 90.0, buckets)
        svc.figures.flush(BIG, "r1", now_ms(), [row])  # type: ignore[attr-defined]
        yield server


def _get(fleet: LiveServer, path: str, status: int = 200) -> str:
    resp = httpx.get(fleet.url + path, timeout=30)
    assert resp.status_code == status, resp.text[:500]
    return resp.text


def _envs(html: str) -> list[str]:
    return re.findall(r'<section class="environment" id="env-[^"]*" data-env="([^"]+)"', html)


def _next(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" class="pager-next" id="envs-next"', html)
    return unescape(found.group(1)) if found else None


def test_a_cursor_walk_shows_every_environment_once(fleet) -> None:
    html = _get(fleet, "/ui/environments")
    everything = sorted([*SMALL, BIG])
    assert _envs(html) == everything[:ENVS_PAGE]
    assert f"showing 1-{ENVS_PAGE} of {len(everything)} environments" in re.sub(
        r"<[^>]+>", "", html
    )
    seen = _envs(html)
    path = _next(html)
    while path is not None:
        html = _get(fleet, path)
        seen += _envs(html)
        path = _next(html)
    assert seen == everything  # each once, in name order
    assert f"showing {ENVS_PAGE + 1}-{len(everything)} of {len(everything)}" in re.sub(
        r"<[^>]+>", "", html
    )
    assert 'id="envs-first"' in html  # back to the first page


def test_an_environment_shows_its_first_models_and_a_link_to_the_rest(fleet) -> None:
    html = _get(fleet, f"/ui/environments?q={BIG.upper()}")
    assert _envs(html) == [BIG]
    section = html.split(f'data-env="{BIG}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'class="deployment-row" data-model="([^"]+)"', section)
    assert rows == BIG_MODELS[:ENV_PREVIEW]
    assert f'data-models="{len(BIG_MODELS)}"' in html
    rolling = len([m for k, m in enumerate(BIG_MODELS) if k % 4 == 0])
    assert f'data-rolling-out="{rolling}"' in html
    more = len(BIG_MODELS) - ENV_PREVIEW
    assert f"and {more} more models" in section
    assert f'href="/ui/environments/{BIG}" class="env-more"' in section
    figures = section.split('data-model="model-00"', 1)[1].split("</tr></table>", 1)[0]
    assert 'data-requests="30"' in figures  # the batched figures reach the right row


def test_search_by_name_pages_too(fleet) -> None:
    html = _get(fleet, "/ui/environments?q=env-1&limit=4")
    assert _envs(html) == [f"env-1{i}" for i in range(4)]
    assert "showing 1-4 of 10 environments" in re.sub(r"<[^>]+>", "", html)
    second = _get(fleet, _next(html) or "")
    assert _envs(second) == [f"env-1{i}" for i in range(4, 8)]
    html = _get(fleet, "/ui/environments?q=nowhere")
    assert _envs(html) == [] and "No environment name contains" in html


def _statements(fleet: LiveServer, path: str) -> int:
    engine = fleet.services.db.engine  # type: ignore[attr-defined]
    count = 0

    def seen(*_: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        _get(fleet, path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return count


def test_the_queries_do_not_grow_with_the_page(fleet) -> None:
    one = _statements(fleet, "/ui/environments?limit=1")
    many = _statements(fleet, f"/ui/environments?limit={ENVS_PAGE}")
    assert many == one


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("start=-1", "start"),
    ],
)
def test_bad_paging_input_is_a_400_naming_the_parameter(fleet, query: str, field: str) -> None:
    html = _get(fleet, f"/ui/environments?{query}", 400)
    message = re.search(r'id="envs-error"[^>]*>([^<]+)<', html)
    assert message is not None and unescape(message.group(1)).startswith(field)
