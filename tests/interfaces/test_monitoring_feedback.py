"""Ground truth through every surface: ``POST /api/v1/feedback`` and
``GET /api/v1/monitoring/realized`` over real HTTP (roles, 413, errors naming the row), the
SDK functions on local services and through the server, and ``shipyard monitor feedback`` /
``monitor realized`` in a real process (CSV and Parquet, one-line errors, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.sdk.monitor_feedback import feedback, realized
from shipyard.interfaces.sdk.remote import RemoteServices
from shipyard.settings import Settings, load_settings
from tests.cli import run_cli
from tests.interfaces.conftest import LiveServer
from tests.services.monitoring.logs import COLUMNS, SIG, T0, data, log_predictions


def _seed(svc: Any, n: int = 40) -> tuple[list[str], Any, Any, Any]:
    """A classifier ``bc`` with ``n`` logged predictions; (ids, truth, predicted, proba)."""
    x, y = data(200)
    model = LogisticRegression().fit(pd.DataFrame(x, columns=COLUMNS), y)
    svc.registry.log_model(model, "bc", user="ada", signature=SIG)
    xs, truth = data(n, seed=9)
    ids = log_predictions(svc, model, "bc", xs)
    frame = pd.DataFrame(xs, columns=COLUMNS)
    return ids, truth, model.predict(frame), model.predict_proba(frame)[:, 1]


def _post(server: LiveServer, token: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(server.url + "/api/v1/feedback", json=body, headers=headers, timeout=60)


def _get(server: LiveServer, token: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    url = server.url + "/api/v1/monitoring/realized"
    return httpx.get(url, params=params, headers=headers, timeout=60)


def test_rest_feedback_and_realized(live_server: LiveServer) -> None:
    svc: Any = live_server.services
    ids, truth, predicted, proba = _seed(svc)
    svc.access.add_user("cora", Role.CONTRIBUTOR, actor="admin")
    svc.access.add_user("vera", Role.VIEWER, actor="admin")
    contributor = svc.access.issue_token("cora", actor="admin")
    viewer = svc.access.issue_token("vera", actor="admin")
    labels = [{"prediction_id": p, "label": int(t)} for p, t in zip(ids, truth, strict=True)]

    assert _post(live_server, viewer, {"model": "bc", "labels": labels}).status_code == 403
    r = _post(live_server, contributor, {"model": "bc", "labels": labels})
    assert r.status_code == 200, r.text
    assert r.json() | {"mean_delay_ms": None} == {
        "model": "bc",
        "received": 40,
        "inserted": 40,
        "updated": 0,
        "duplicates": 0,
        "unknown": 0,
        "unknown_ids": [],
        "mean_delay_ms": None,
    }
    again = _post(live_server, contributor, {"model": "bc", "labels": labels[:3]}).json()
    assert again["updated"] == 3 and again["inserted"] == 0
    assert svc.audit.log("model:bc")[0].actor == "cora"

    got = _get(live_server, viewer, model="bc", start=str(T0), end=str(T0 + 3_600_000))
    assert got.status_code == 200, got.text
    version = got.json()["versions"][0]
    assert version["version"] == 1 and version["labelled"] == 40 and version["predictions"] == 40
    assert version["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(truth, proba))
    assert version["metrics"]["f1"] == pytest.approx(skm.f1_score(truth, predicted))
    empty = _get(live_server, viewer, model="bc", start="2020-01-01T00:00:00", end="2020-01-02")
    assert empty.status_code == 200 and empty.json()["versions"] == []


def test_rest_errors_name_the_field(live_server: LiveServer) -> None:
    svc: Any = live_server.services
    ids, *_ = _seed(svc, n=3)
    token = live_server.admin_token
    cases = [
        ({"model": "bc", "labels": [{"prediction_id": ids[0], "label": 1},
                                    {"prediction_id": ids[1], "label": "cat"}]},
         400, "labels[1].label"),
        ({"model": "bc", "labels": [{"prediction_id": ids[0], "label": 1, "extra": 1}]},
         400, "labels[0].extra"),
        ({"model": "bc", "labels": [{"label": 1}]}, 400, "labels[0].prediction_id"),
        ({"model": "bc", "labels": "nope"}, 400, "labels"),
        ({"labels": []}, 400, "model"),
        ({"model": "nope", "labels": [{"prediction_id": ids[0], "label": 1}]}, 404, "model"),
    ]  # fmt: skip
    for body, status, field in cases:
        r = _post(live_server, token, body)
        assert (r.status_code, r.json().get("field")) == (status, field), r.text
    many = [{"prediction_id": f"id-{i}", "label": 1} for i in range(10_001)]
    r = _post(live_server, token, {"model": "bc", "labels": many})
    assert r.status_code == 413 and r.json()["field"] == "labels"
    assert "10,000" in r.json()["message"]
    bad = [
        ({"model": "bc", "start": "yesterday"}, 400, "start"),
        ({"model": "bc", "version": 7}, 404, "version"),
        ({"model": "nope"}, 404, "model"),
        ({"model": "bc", "start": "100", "end": "50"}, 400, "end"),
    ]
    for params, status, field in bad:
        r = _get(live_server, token, **params)
        assert (r.status_code, r.json().get("field")) == (status, field), r.text


def test_sdk_functions_local_and_through_the_server(
    live_server: LiveServer, tmp_path: Path
) -> None:
    svc: Any = live_server.services
    ids, truth, predicted, _ = _seed(svc)
    remote = RemoteServices.connect(
        Settings(
            project_dir=tmp_path / "client",
            db_url=f"sqlite:///{tmp_path / 'client.db'}",
            artifacts_url=str(tmp_path / "client-objects"),
            tracking_uri=live_server.url,
            token=live_server.admin_token,
        )
    )
    try:
        frame = pd.DataFrame({"prediction_id": ids[:20], "label": truth[:20]})
        frame["time"] = pd.Timestamp("2024-06-11T00:00:00Z")
        receipt = feedback(remote, "bc", frame)
        assert (receipt.inserted, receipt.unknown) == (20, 0)
        assert receipt.mean_delay_ms is not None and receipt.mean_delay_ms > 0
        local = feedback(svc, "bc", dict(zip(ids[20:], truth[20:].tolist(), strict=True)))
        assert local.inserted == 20
        with pytest.raises(ValidationError) as e:
            feedback(remote, "bc", {ids[0]: "cat"})
        assert e.value.field == "labels[0].label"
        with pytest.raises(NotFoundError):
            realized(remote, "nope")
        over_http = realized(remote, "bc", start=T0, end="2024-06-11")
        in_process = realized(svc, "bc", start=T0, end="2024-06-11")
        assert over_http == in_process
        table = over_http.to_frame()
        accuracy = table[table.metric == "accuracy"].value.iloc[0]
        assert accuracy == pytest.approx(skm.accuracy_score(truth, predicted))
    finally:
        remote.close()


def test_cli_feedback_and_realized(tmp_path: Path) -> None:
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        ids, truth, predicted, proba = _seed(svc)
    finally:
        svc.close()
    pd.DataFrame({"prediction_id": ids[:25], "label": truth[:25]}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    pd.DataFrame({"prediction_id": ids[25:], "label": truth[25:]}).to_parquet(
        tmp_path / "labels.parquet"
    )
    done = run_cli(tmp_path, "monitor", "feedback", "bc", str(tmp_path / "labels.csv"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inserted"] == 25
    text = run_cli(tmp_path, "monitor", "feedback", "bc", str(tmp_path / "labels.parquet"))
    assert text.returncode == 0 and "15 labels for bc: 15 new, 0 updated" in text.stdout

    shown = run_cli(tmp_path, "monitor", "realized", "bc", "--json")
    assert shown.returncode == 0, shown.stderr
    metrics = json.loads(shown.stdout)["versions"][0]["metrics"]
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(truth, proba))
    assert metrics["recall"] == pytest.approx(skm.recall_score(truth, predicted))
    table = run_cli(tmp_path, "monitor", "realized", "bc", "--version", "1", "--since", "1h")
    assert table.returncode == 0 and "showing 0 of 0 versions" in table.stdout  # logs of 2024

    (tmp_path / "bad.csv").write_text(f"prediction_id,label\n{ids[0]},maybe\n")
    (tmp_path / "labels.txt").write_text("x")
    errors = [
        (("monitor", "feedback", "bc", str(tmp_path / "bad.csv")), "labels[0].label"),
        (("monitor", "feedback", "bc", str(tmp_path / "missing.csv")), "no file"),
        (("monitor", "feedback", "bc", str(tmp_path / "labels.txt")), "not a .csv or .parquet"),
        (("monitor", "feedback", "nope", str(tmp_path / "labels.csv")), "nope"),
        (("monitor", "realized", "bc", "--since", "soon"), "since 'soon' is not a time"),
        (("monitor", "realized", "bc", "--version", "4"), "bc"),
    ]
    for args, words in errors:
        failed = run_cli(tmp_path, *args)
        assert failed.returncode == 2, (args, failed.stdout, failed.stderr)
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
