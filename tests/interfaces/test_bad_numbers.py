"""Numbers a 64-bit database cannot hold, or digits that are not ASCII, are 400s, not 500s."""

from __future__ import annotations

import base64
import json

import httpx

from tests.interfaces.conftest import LiveServer


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": value}).encode()).decode()


def test_out_of_range_numbers_are_clear_400s(local_server: LiveServer) -> None:
    url = local_server.url
    cases = [
        ("GET", "/api/v1/models/loans/versions/99999999999999999999", None, "version"),
        ("GET", "/api/v1/models/loans/versions/\u00b2", None, "version"),
        ("GET", f"/api/v1/jobs/x/runs?cursor={_cursor(10**30)}", None, "cursor"),
        (
            "GET",
            "/api/2.0/mlflow/model-versions/get?name=loans&version=99999999999999999999",
            None,
            "version",
        ),
        (
            "POST",
            "/api/v1/deployments",
            {"model": "loans", "version": "99999999999999999999", "env": "staging"},
            "version",
        ),
    ]
    for method, path, body, field in cases:
        r = httpx.request(method, url + path, json=body, timeout=10)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert field in r.text, r.text


def test_a_chart_with_a_bad_now_is_a_400(local_server: LiveServer) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    svc = local_server.services
    x = np.random.default_rng(0).normal(size=(40, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    signature = {"inputs": [["a", "float64"], ["b", "float64"]], "output": "int64"}
    v = svc.registry.log_model(model, "loans", user="ada", signature=signature)  # type: ignore[attr-defined]
    admin = svc.access.get_user("admin")  # type: ignore[attr-defined]
    svc.deployments.deploy("loans", v.version, "staging", admin)  # type: ignore[attr-defined]
    for now in ("\u00b2", "9" * 30):
        r = httpx.get(
            local_server.url + "/ui/environments/staging/figures.json",
            params={"model": "loans", "now": now},
            timeout=10,
        )
        assert r.status_code == 400, (now, r.status_code, r.text)
