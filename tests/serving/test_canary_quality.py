"""The canary watcher of a real ``shipyard serve`` judges model quality: answers over HTTP, their
prediction ids labelled through feedback, the realized AUC of candidate and live compared by
``rollback_if``. A candidate much worse than live is rolled back with the figures as evidence;
a good one is advanced step by step by ``promote_after`` and goes live."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.serving.conftest import Project, Server

QUALITY = "roc_auc < live_roc_auc - 0.1"


def _policy(project: Project, **extra: str) -> Any:
    keys = "".join(f", {k} = {v}" for k, v in extra.items())
    (project.path / "shipyard.toml").write_text(
        "[release.bc]\ngates = []\n"
        f'deploy = {{ strategy = "canary", steps = [25, 50, 100], rollback_if = "{QUALITY}", '
        f"min_requests = 5, min_labels = 20{keys} }}\n"
    )
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    return build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(project.path)}))


def _rollout(project: Project, services: Any, *, flipped: bool) -> None:
    """v1 (good) live in staging, v2 (trained on flipped labels when ``flipped``) a canary."""
    fit = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    live = project.log(fit.fit(project.frame, project.labels))
    other = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1))
    target = 1 - project.labels if flipped else project.labels
    candidate = project.log(other.fit(project.frame, target))
    services.deployments.deploy("bc", live.version, "staging", project.admin)
    services.deployments.deploy("bc", candidate.version, "staging", project.admin)
    assert services.deployments.get("staging").traffic == 25


def _answer_and_label(project: Project, services: Any, server: Server, rows: range) -> None:
    """Ask for ``rows`` one request each (the canary takes its share) and label the answers."""
    frame, truth = project.frame, project.labels.to_numpy()
    columns = list(frame.columns)

    def one(index: int) -> dict[str, Any]:
        data = np.asarray(frame.iloc[[index]]).tolist()
        body = {"dataframe_split": {"columns": columns, "data": data}, "params": {"proba": True}}
        answer = server.post("/invocations", body)
        assert answer.status_code == 200, answer.text
        return {"prediction_id": answer.json()["prediction_id"], "row": 0,
                "label": int(truth[index])}  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        labels = list(pool.map(one, rows))
    services.feedback.record("bc", labels, user=project.admin.name)


def _until(services: Any, done: Any, step: Any, timeout: float = 120) -> None:
    # generous: the watcher's first quality reading loads the version's model to learn its
    # classes (scikit-learn's import alone takes seconds on a busy 2-core machine)
    deadline = time.monotonic() + timeout
    while not done(services.deployments.get("staging")):
        assert time.monotonic() < deadline, services.deployments.history("staging")
        step()
        time.sleep(0.3)


def test_a_canary_with_a_much_worse_realized_auc_is_rolled_back(
    project: Project, serve: Any
) -> None:
    services = _policy(project)
    _rollout(project, services, flipped=True)
    server = serve()
    batches = iter(range(k, k + 60) for k in range(0, 540, 60))
    _until(
        services,
        lambda d: d.candidate_version is None,
        lambda: _answer_and_label(project, services, server, next(batches)),
    )
    current = services.deployments.get("staging")
    assert (current.live_version, current.candidate_version) == (1, None)
    event = services.deployments.history("staging", limit=1)[0]
    assert (event.action, event.actor) == ("auto_rollback", "shipyard-watcher")
    [breach] = event.evidence["breached"]
    assert breach["condition"] == QUALITY
    assert breach["figures"]["roc_auc"] < 0.2 and breach["figures"]["live_roc_auc"] > 0.9
    quality = event.evidence["quality"]
    assert quality["candidate"]["source"] == quality["live"]["source"] == "realized"
    assert quality["candidate"]["labelled"] >= 20 and quality["live"]["labelled"] >= 20
    assert services.audit.log("deployment:staging/bc", limit=1)[0].action == (
        "deployment.auto_rollback"
    )
    services.close()


def test_a_good_canary_is_promoted_step_by_step_while_the_rule_holds(
    project: Project, serve: Any
) -> None:
    services = _policy(project, promote_after="15")
    _rollout(project, services, flipped=False)
    server = serve()
    batches = iter(range(k, k + 40) for k in range(0, 560, 40))
    _until(
        services,
        lambda d: d.candidate_version is None,
        lambda: _answer_and_label(project, services, server, next(batches)),
    )
    assert services.deployments.get("staging").live_version == 2
    events = services.deployments.history("staging", limit=3)
    assert [(e.action, e.traffic) for e in events] == [
        ("auto_promote", 100), ("auto_promote", 50), ("deploy", 25),
    ]  # fmt: skip
    for e in events[:2]:
        assert e.evidence["quality"]["candidate"]["source"] == "realized"
        assert e.evidence["candidate"]["requests"] >= 15
    services.close()
