"""Production data into training data through every surface: ``POST
/api/v1/monitoring/export`` over real HTTP (roles, errors naming the field), ``sy.monitor``'s
export on local services and through the server, and ``shipyard monitor export`` in a real
process (JSON, text, one-line errors with exit 2, nothing registered on a refusal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.sdk.fluent import Session
from shipyard.interfaces.sdk.monitor_feedback import export
from shipyard.interfaces.sdk.remote import RemoteServices
from shipyard.settings import Settings, load_settings
from tests.cli import run_cli
from tests.interfaces.conftest import LiveServer
from tests.services.monitoring.logs import COLUMNS, SIG, T0, data, log_predictions

UNTIL = str(T0 + 3_600_000)


def _seed(svc: Any, n: int = 30, labels: int = 20) -> list[str]:
    """A classifier ``bc`` with ``n`` logged predictions of which ``labels`` have a label,
    and its training data ``train`` (a, b, default)."""
    x, y = data(200)
    model = LogisticRegression().fit(pd.DataFrame(x, columns=COLUMNS), y)
    svc.registry.log_model(model, "bc", user="ada", signature=SIG)
    svc.catalog.register("train", pd.DataFrame(x[:50], columns=COLUMNS).assign(default=y[:50]))
    xs, truth = data(n, seed=9)
    ids = log_predictions(svc, model, "bc", xs)
    svc.feedback.record(
        "bc", dict(zip(ids[:labels], truth[:labels].tolist(), strict=True)), user="ada"
    )
    return ids


def _post(server: LiveServer, token: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    url = server.url + "/api/v1/monitoring/export"
    return httpx.post(url, json=body, headers=headers, timeout=60)


def test_rest_export_roles_and_errors(live_server: LiveServer) -> None:
    svc: Any = live_server.services
    _seed(svc)
    svc.access.add_user("cora", Role.CONTRIBUTOR, actor="admin")
    svc.access.add_user("vera", Role.VIEWER, actor="admin")
    contributor = svc.access.issue_token("cora", actor="admin")
    viewer = svc.access.issue_token("vera", actor="admin")
    body = {"model": "bc", "since": str(T0 - 1000), "until": UNTIL, "labelled": True}
    assert _post(live_server, viewer, body).status_code == 403
    r = _post(live_server, contributor, {**body, "mix_with": "train", "name": "bc-data"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["ref"] == "bc-data@v1" and got["rows"] == 70 and got["production"] == 20
    assert (got["target"], got["target_from"], got["mixed_with"]) == (
        "default",
        "mix_with",
        "train@v1",
    )
    assert svc.audit.log("dataset:bc-data")[0].actor == "cora"
    cases = [
        ({**body, "model": "nope"}, 404, "model"),
        ({**body, "env": "staging"}, 404, "env"),
        ({**body, "since": "yesterday"}, 400, "since"),
        ({**body, "since": str(T0 + 7_200_000), "until": str(T0 + 9_000_000)}, 400, "since"),
        ({**body, "mix_with": "bc-data", "target": "label"}, 400, "mix_with"),
    ]
    for case, status, field in cases:
        r = _post(live_server, contributor, case)
        assert (r.status_code, r.json().get("field")) == (status, field), r.text
    assert [v.version for v in svc.catalog.list_versions("bc-data")] == [1]


def test_sdk_export_local_and_through_the_server(live_server: LiveServer, tmp_path: Path) -> None:
    svc: Any = live_server.services
    _seed(svc)
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
        over_http = export(remote, "bc", since=T0 - 1000, until=UNTIL, labelled=True)
        assert over_http == "bc-feedback@v1"
        in_process = export(svc, "bc", since=T0 - 1000, until=UNTIL, labelled=False)
        assert in_process == "bc-feedback@v2"
        assert len(svc.catalog.load_frame(over_http)) == 20
        assert len(svc.catalog.load_frame(in_process)) == 30
        fluent = Session(svc).monitor.export(
            "bc", since=T0 - 1000, until=UNTIL, labelled=True, name="bc-sdk", target="y"
        )
        assert fluent == "bc-sdk@v1"
        assert list(svc.catalog.load_frame(fluent).columns) == ["a", "b", "y"]
    finally:
        remote.close()


def test_cli_monitor_export(tmp_path: Path) -> None:
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        _seed(svc)
    finally:
        svc.close()
    window = ("--since", str(T0 - 1000), "--until", UNTIL)
    done = run_cli(tmp_path, "monitor", "export", "bc", *window, "--labelled", "--json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["ref"], got["rows"], got["labelled"], got["predictions"]) == (
        "bc-feedback@v1", 20, 20, 30,
    )  # fmt: skip
    args = ("monitor", "export", "bc", *window, "--mix-with", "train@v1", "--target", "default")
    text = run_cli(tmp_path, *args)
    assert text.returncode == 0, text.stderr
    assert "registered bc-feedback@v2: 30 predictions of bc (20 of 30 labelled)" in text.stdout
    assert "after 50 rows of train@v1" in text.stdout
    helped = run_cli(tmp_path, "monitor", "export", "--help")
    assert (
        helped.returncode == 0 and "--mix-with" in helped.stdout and "--labelled" in helped.stdout
    )
    errors = [
        (("bc", "--since", "soon"), "since 'soon' is not a time"),
        (("nope", *window), "nope"),
        (("bc", *window, "--env", "prodd"), "its logs are from: prod"),
        (("bc", "--since", "1h", "--labelled"), "no logged predictions"),
        (("bc", *window, "--mix-with", "train", "--target", "y"), "logs ['default']"),
        (("bc", *window, "--name", "bc-feedback", "--mix-with", "nope@v1"), "mix-with"),
    ]
    for extra, words in errors:
        failed = run_cli(tmp_path, "monitor", "export", *extra)
        assert failed.returncode == 2, (extra, failed.stdout, failed.stderr)
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    shown = run_cli(tmp_path, "data", "show", "bc-feedback", "--json")
    assert sorted(v["version"] for v in json.loads(shown.stdout)["versions"]) == [1, 2]
