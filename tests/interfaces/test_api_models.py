"""The model registry over real HTTP: list and search models, a model with its versions, one
version by number, vN, alias or latest, an alias moved by the caller (audited as them),
archiving, and every 4xx: unknown names, bad input, archived targets, forbidden transitions,
missing tokens and roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer, _serve


@dataclass
class Registered:
    server: LiveServer
    run_id: str
    viewer_token: str
    contributor_token: str


def training_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    x = pd.DataFrame({"age": rng.integers(20, 70, 60), "income": rng.normal(50, 10, 60)})
    return x, (x["income"] > 50).to_numpy(dtype=int)


def seed_models(server: LiveServer) -> Registered:
    """loans v1 (from a run, champion) and v2; churn and fraud v1 and v2; a viewer and a
    contributor."""
    svc = server.services
    registry = svc.registry  # type: ignore[attr-defined]
    x, y = training_data()
    exp = svc.tracking.get_or_create_experiment("credit").experiment_id  # type: ignore[attr-defined]
    run = svc.tracking.create_run(exp, run_name="train-loans", user="ada")  # type: ignore[attr-defined]
    model = LogisticRegression().fit(x, y)
    registry.log_model(
        model, "loans", user="ada", run_id=run.run_id, input_example=x, description="credit"
    )
    registry.log_model(LogisticRegression(C=0.1).fit(x, y), "loans", user="ada", input_example=x)
    registry.set_alias("loans@1", "champion", user="bob", reason="first")
    for name in ("churn", "churn", "fraud", "fraud"):
        registry.log_model(model, name, user="carol", input_example=x.head())
    svc.access.add_user("vera", Role.VIEWER, actor="admin")  # type: ignore[attr-defined]
    svc.access.add_user("cody", Role.CONTRIBUTOR, actor="admin")  # type: ignore[attr-defined]
    return Registered(
        server,
        run.run_id,
        svc.access.issue_token("vera", actor="admin"),  # type: ignore[attr-defined]
        svc.access.issue_token("cody", actor="admin"),  # type: ignore[attr-defined]
    )


def _client(server: LiveServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    for server in _serve(tmp_path_factory.mktemp("models-api"), "token"):
        yield seed_models(server)


@pytest.fixture
def client(registered: Registered) -> Iterator[httpx.Client]:
    with _client(registered.server) as c:
        yield c


def _ok(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()


def _error(resp: httpx.Response, status: int, field: str | None, text: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body.get("field") == field and text in body["message"], body
    return body


def test_list_and_search_models(client) -> None:
    models = _ok(client.get("/api/v1/models"))["models"]
    assert [m["name"] for m in models] == ["churn", "fraud", "loans"]
    loans = models[2]
    assert set(loans) == {
        "name",
        "description",
        "latest_version",
        "aliases",
        "tags",
        "created_by",
        "creation_time",
        "last_update_time",
    }
    assert (loans["latest_version"], loans["aliases"], loans["tags"]) == (2, {"champion": 1}, {})
    assert (loans["description"], loans["created_by"]) == ("credit", "ada")
    assert loans["last_update_time"] >= loans["creation_time"] > 0
    assert [m["name"] for m in _ok(client.get("/api/v1/models?search=LOA"))["models"]] == ["loans"]
    assert _ok(client.get("/api/v1/models", params={"search": "nothing"}))["models"] == []
    page = _ok(client.get("/api/v1/models", params={"limit": 1, "offset": 2}))["models"]
    assert [m["name"] for m in page] == ["loans"]


def test_a_model_with_its_versions(client, registered) -> None:
    body = _ok(client.get("/api/v1/models/loans"))
    assert body["model"]["name"] == "loans" and body["model"]["aliases"] == {"champion": 1}
    versions = body["versions"]
    assert [(v["version"], v["status"], v["aliases"]) for v in versions] == [
        (1, "candidate", ["champion"]),
        (2, "candidate", []),
    ]
    assert versions[0]["run_id"] == registered.run_id and versions[1]["run_id"] is None


@pytest.mark.parametrize("ref", ["1", "v1", "champion"])
def test_one_version_by_number_or_alias(client, registered, ref) -> None:
    v = _ok(client.get(f"/api/v1/models/loans/versions/{ref}"))["version"]
    assert (v["name"], v["version"], v["ref"], v["status"]) == ("loans", 1, "loans@v1", "candidate")
    assert (v["flavor"], v["run_id"], v["aliases"]) == ("sklearn", registered.run_id, ["champion"])
    assert v["content_id"].startswith(("blake3:", "sha256:"))
    assert v["signature"] == {
        "inputs": [["age", "int64"], ["income", "float64"]],
        "output": "int64",
    }
    assert v["package"]["python"] and v["package"]["libraries"]["scikit-learn"]
    assert v["package"]["file"]["digest"] == v["content_id"]
    assert (v["created_by"], v["status_reason"], v["description"]) == ("ada", "", "credit")
    assert v["creation_time"] > 0


def test_latest_is_the_highest_version(client) -> None:
    assert _ok(client.get("/api/v1/models/loans/versions/latest"))["version"]["version"] == 2


def test_moving_an_alias_is_audited_as_the_caller(registered) -> None:
    with _client(registered.server, registered.contributor_token) as c:
        resp = c.put(
            "/api/v1/models/fraud/aliases/champion", json={"version": 2, "reason": "new data"}
        )
        assert _ok(resp)["version"]["aliases"] == ["champion"]
        c.put("/api/v1/models/fraud/aliases/challenger", json={"version": 1})
        moved = _ok(c.put("/api/v1/models/fraud/aliases/champion", json={"version": 1}))
        assert moved["version"]["aliases"] == ["challenger", "champion"]
        assert _ok(c.get("/api/v1/models/fraud"))["model"]["aliases"] == {
            "challenger": 1,
            "champion": 1,
        }
        trail = _ok(c.get("/api/v1/audit", params={"object": "model:fraud"}))["entries"]
    moves = [e for e in trail if e["action"] == "model.alias"]
    assert [(e["actor"], e["reason"], e["payload"]) for e in moves] == [
        ("cody", "", {"alias": "champion", "from": 2, "to": 1}),
        ("cody", "", {"alias": "challenger", "from": None, "to": 1}),
        ("cody", "new data", {"alias": "champion", "from": None, "to": 2}),
    ]


def test_archive_then_archiving_again_is_a_409(client) -> None:
    resp = client.post("/api/v1/models/churn/versions/v1/archive", json={"reason": "stale"})
    v = _ok(resp)["version"]
    assert (v["version"], v["status"], v["status_reason"]) == (1, "archived", "stale")
    body = _error(
        client.post("/api/v1/models/churn/versions/1/archive"), 409, "status", "cannot become"
    )
    assert body["error_code"] == "INVALID_STATE"
    resp = client.put("/api/v1/models/churn/aliases/champion", json={"version": 1})
    _error(resp, 400, "version", "archived; an alias cannot point at it")
    trail = _ok(client.get("/api/v1/audit", params={"object": "model:churn"}))["entries"]
    assert (trail[0]["actor"], trail[0]["action"], trail[0]["reason"]) == (
        "admin",
        "model.status",
        "stale",
    )
    assert trail[0]["payload"] == {"version": 1, "from": "candidate", "to": "archived"}


@pytest.mark.parametrize(
    ("method", "path", "body", "text"),
    [
        ("get", "/api/v1/models/nothing", None, "no registered model named 'nothing'"),
        ("get", "/api/v1/models/nothing/versions/1", None, "no registered model named"),
        ("put", "/api/v1/models/nothing/aliases/champion", {"version": 1}, "named 'nothing'"),
        ("post", "/api/v1/models/nothing/versions/1/archive", {}, "named 'nothing'"),
    ],
)
def test_an_unknown_model_is_a_404_naming_it(client, method, path, body, text) -> None:
    resp = client.request(method.upper(), path, json=body)
    assert _error(resp, 404, "name", text)["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("method", "path", "body", "text"),
    [
        ("get", "/api/v1/models/loans/versions/9", None, "model 'loans' has no version 9"),
        ("get", "/api/v1/models/loans/versions/v9", None, "has no version 9"),
        ("get", "/api/v1/models/loans/versions/gold", None, "has no alias 'gold'"),
        ("put", "/api/v1/models/loans/aliases/champion", {"version": 9}, "has no version 9"),
        ("post", "/api/v1/models/loans/versions/9/archive", None, "has no version 9"),
        ("post", "/api/v1/models/loans/versions/gold/archive", None, "has no alias 'gold'"),
    ],
)
def test_an_unknown_version_or_alias_is_a_404_naming_it(client, method, path, body, text) -> None:
    _error(client.request(method.upper(), path, json=body), 404, "ref", text)


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "text"),
    [
        ("get", "/api/v1/models/-bad", None, "name", "model name '-bad' must be"),
        ("get", "/api/v1/models/bad name/versions/1", None, "name", "model name 'bad name'"),
        ("put", "/api/v1/models/-bad/aliases/champion", {"version": 1}, "name", "'-bad'"),
        ("post", "/api/v1/models/-bad/versions/1/archive", None, "name", "'-bad'"),
        ("get", "/api/v1/models/loans/versions/0", None, "version", "versions start at 1"),
        ("get", "/api/v1/models/loans/versions/v0", None, "version", "versions start at 1"),
        ("get", "/api/v1/models/loans/versions/Gold", None, "version", "alias 'Gold' must be"),
        ("post", "/api/v1/models/loans/versions/-1/archive", None, "version", "alias '-1'"),
        ("put", "/api/v1/models/loans/aliases/Champion", {"version": 1}, "alias", "'Champion'"),
        ("put", "/api/v1/models/loans/aliases/latest", {"version": 1}, "alias", "not 'latest'"),
        ("put", "/api/v1/models/loans/aliases/champion", None, "version", "JSON body"),
        ("put", "/api/v1/models/loans/aliases/champion", {}, "version", "Field required"),
        ("put", "/api/v1/models/loans/aliases/champion", {"version": "2"}, "version", "integer"),
        ("put", "/api/v1/models/loans/aliases/champion", {"version": 0}, "version", "than or"),
        ("put", "/api/v1/models/loans/aliases/champion", {"version": 2.5}, "version", "integer"),
        ("put", "/api/v1/models/loans/aliases/a", {"version": 1, "reason": 3}, "reason", "str"),
        ("post", "/api/v1/models/loans/versions/2/archive", {"reason": []}, "reason", "string"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, method, path, body, field, text) -> None:
    resp = client.request(method.upper(), path, json=body)
    assert _error(resp, 400, field, text)["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "eyJiZWZvcmUiOiAxfQ=="}, "cursor"),  # a cursor of another listing
    ],
)
def test_a_bad_page_is_a_400_naming_the_field(client, params, field) -> None:
    _error(client.get("/api/v1/models", params=params), 400, field, field)


def test_reading_needs_a_token_and_writing_a_contributor(registered) -> None:
    url = registered.server.url
    assert httpx.get(url + "/api/v1/models", timeout=30).status_code == 401
    put = httpx.put(url + "/api/v1/models/loans/aliases/x", json={"version": 1}, timeout=30)
    assert put.status_code == 401
    with _client(registered.server, registered.viewer_token) as c:
        assert c.get("/api/v1/models/loans/versions/champion").status_code == 200
        resp = c.put("/api/v1/models/loans/aliases/champion", json={"version": 2})
        assert resp.status_code == 403 and "contributor" in resp.json()["message"]
        assert c.post("/api/v1/models/loans/versions/2/archive").status_code == 403
        assert _ok(c.get("/api/v1/models/loans"))["model"]["aliases"]["champion"] == 1
        assert _ok(c.get("/api/v1/models/loans/versions/2"))["version"]["status"] == "candidate"


def test_models_page_with_a_cursor_and_a_total(client) -> None:
    first = _ok(client.get("/api/v1/models", params={"limit": 2}))
    assert [m["name"] for m in first["models"]] == ["churn", "fraud"] and first["total"] == 3
    rest = _ok(client.get("/api/v1/models", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [m["name"] for m in rest["models"]] == ["loans"] and rest["next_cursor"] is None
    assert _ok(client.get("/api/v1/models", params={"search": "LOA"}))["total"] == 1


def test_search_matches_a_tag_as_well_as_the_name(registered, client) -> None:
    registry = registered.server.services.registry  # type: ignore[attr-defined]
    registry.set_model_tag("fraud", "region", "emea-north", user="ada")
    try:
        found = _ok(client.get("/api/v1/models", params={"search": "EMEA"}))
        assert [m["name"] for m in found["models"]] == ["fraud"] and found["total"] == 1
        exact = _ok(client.get("/api/v1/models", params={"search": "region=emea-north"}))
        assert [m["name"] for m in exact["models"]] == ["fraud"]
        assert _ok(client.get("/api/v1/models", params={"search": "region=emea"}))["total"] == 0
    finally:
        registry.delete_model_tag("fraud", "region", user="ada")
