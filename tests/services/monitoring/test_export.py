"""Production data into training data, on SQLite and PostgreSQL: real prediction logs (the
serving log writer) joined with real feedback, registered through the real catalog (PII
policy, checks, audit), the target named by the training run's lineage, mixing with the
training version, and every refusal registering nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import Settings
from tests.services.monitoring.logs import COLUMNS, HOUR, SIG, T0, data, log_predictions

WINDOW = {"since_ms": T0 - HOUR, "until_ms": T0 + HOUR}


def _services(tmp_path: Path, db_url: str, data_tables: dict[str, Any] | None = None) -> Any:
    settings = Settings(
        project_dir=tmp_path,
        db_url=db_url,
        artifacts_url=str(tmp_path / "objects"),
        data=data_tables or {},
    )
    return build_services(settings)


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Any:
    services = _services(tmp_path, db_url)
    yield services
    services.close()


def _train(svc: Services, run_id: str | None = None) -> tuple[Any, np.ndarray, np.ndarray]:
    x, y = data(300)
    model = LogisticRegression().fit(pd.DataFrame(x, columns=COLUMNS), y)
    svc.registry.log_model(model, "bc", user="ada", signature=SIG, run_id=run_id)
    return model, x, y


def _labelled_world(svc: Services, n: int = 40, labels: int = 25) -> tuple[list[str], Any]:
    model, _, _ = _train(svc)
    x, y = data(n, seed=7)
    ids = log_predictions(svc, model, "bc", x)
    if labels:
        labelled = dict(zip(ids[:labels], y[:labels].tolist(), strict=True))
        svc.feedback.record("bc", labelled, user="ada")
    return ids, (x, y)


def test_labelled_rows_with_their_labels_become_a_version(svc: Services) -> None:
    _, (x, y) = _labelled_world(svc)
    result = svc.export.run("bc", labelled=True, user="ada", **WINDOW)
    assert result.ref == "bc-feedback@v1" and result.created
    assert (result.predictions, result.labelled, result.rows) == (40, 25, 25)
    assert (result.target, result.target_from, result.versions) == ("label", "default", (1,))
    frame = svc.catalog.load_frame(result.ref)
    assert list(frame.columns) == ["a", "b", "label"]
    assert np.allclose(frame[["a", "b"]].to_numpy(), x[:25])
    assert frame["label"].tolist() == y[:25].tolist()
    version = svc.catalog.get_version(result.ref)
    assert "bc v1 predictions" in version.source and "25 of 40 labelled" in version.source
    entries = [e for e in svc.audit.log(limit=50) if e.action == "monitoring.export"]
    assert len(entries) == 1 and entries[0].object_id == "bc-feedback"
    payload = json.loads(entries[0].payload)
    assert payload["model"] == "bc" and payload["labelled"] == 25
    assert payload["start_ms"] == WINDOW["since_ms"] and payload["ref"] == "bc-feedback@v1"
    # the same export again is the same content: the version is returned, not repeated
    again = svc.export.export("bc", labelled=True, user="ada", **WINDOW)
    assert again == "bc-feedback@v1"
    everything = svc.export.run("bc", labelled=False, user="ada", name="bc-all", **WINDOW)
    assert (everything.rows, everything.labelled) == (40, 25)
    assert svc.catalog.load_frame(everything.ref)["label"].isna().sum() == 15


def test_shadow_copies_and_rows_outside_the_window_are_left_out(svc: Services) -> None:
    ids, (x, _) = _labelled_world(svc, n=10, labels=10)
    log = PredictionLog(svc.blobs.backend, "r2", ServingStats(), 100_000, env="prod")
    frame = pd.DataFrame(x[:3], columns=COLUMNS)
    shadow = LogRecord(ids[0], T0 + 5, "bc", 1, "shadow", 1.0, COLUMNS, frame, np.zeros(3))
    log.add(shadow)
    log.drain()
    result = svc.export.run("bc", labelled=True, user="ada", **WINDOW)
    assert result.rows == 10
    late = svc.export.run("bc", labelled=True, user="ada", since_ms=T0 + 5_000, until_ms=T0 + HOUR)
    assert late.rows == 5  # one request a second: ids[5:]


def test_the_target_is_named_by_lineage_and_the_training_version_mixes_in(
    svc: Services,
) -> None:
    x, y = data(50, seed=3)
    train = pd.DataFrame(x, columns=COLUMNS).assign(default=y)
    svc.catalog.register("loans", train, user="ada")
    exp = svc.tracking.get_or_create_experiment("training")
    run = svc.tracking.create_run(exp.experiment_id, user="ada")
    svc.catalog.record_input(run.run_id, "loans@v1")
    model, _, _ = _train(svc, run_id=run.run_id)
    xs, ys = data(12, seed=9)
    ids = log_predictions(svc, model, "bc", xs)
    svc.feedback.record("bc", dict(zip(ids, ys.tolist(), strict=True)), user="ada")
    result = svc.export.run("bc", labelled=True, user="ada", mix_with="loans", **WINDOW)
    assert (result.target, result.target_from) == ("default", "lineage")
    assert result.mixed_with == "loans@v1"
    assert (result.production, result.rows) == (12, 62)
    frame = svc.catalog.load_frame(result.ref)
    assert list(frame.columns) == ["a", "b", "default"]
    assert frame["default"].tolist() == [*y.tolist(), *ys.tolist()]


def test_refusals_name_the_problem_and_register_nothing(svc: Services) -> None:
    _labelled_world(svc, n=10, labels=0)
    svc.catalog.register("other", pd.DataFrame({"a": [1.0], "c": [2.0], "label": [0]}), user="ada")
    svc.catalog.register("texts", pd.DataFrame({"a": ["x"], "b": [1.0], "label": [0]}), user="ada")
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"model": "nope"}, NotFoundError, "nope"),
        ({"env": "prodd"}, NotFoundError, "its logs are from: prod"),
        ({"since_ms": T0 + 2 * HOUR, "until_ms": T0 + 3 * HOUR}, ValidationError, "no logged"),
        ({}, ValidationError, "none of the 10 predictions"),
        ({"labelled": False, "since_ms": "1h"}, ValidationError, "epoch milliseconds"),
        ({"labelled": False, "until_ms": T0 - 2 * HOUR}, ValidationError, "before it starts"),
        ({"labelled": False, "mix_with": "other"}, ValidationError, r"logs \['c'\]"),
        ({"labelled": False, "mix_with": "texts"}, ValidationError, "numbers in the logs but text"),
        ({"labelled": False, "mix_with": "ghost"}, NotFoundError, "mix-with"),
        ({"labelled": False, "target": "a"}, ValidationError, "not an input"),
        ({"labelled": False, "name": "bad name!"}, ValidationError, "name"),
    ]
    for case, error, words in cases:
        args = {"model": "bc", "labelled": True, **WINDOW, **case}
        with pytest.raises(error, match=words):
            svc.export.run(args.pop("model"), user="ada", **args)
    assert {d.name for d in svc.catalog.search(None, 100)} == {"other", "texts"}


def test_the_pii_policy_and_checks_of_the_dataset_apply(db_url: str, tmp_path: Path) -> None:
    tables = {"bc-feedback": {"pii": {"email": "drop"}, "checks": {"row_count": {"min": 100}}}}
    strict = _services(tmp_path / "a", db_url)
    ruled = _services(tmp_path / "a", db_url, tables)
    try:
        cols = ("a", "email")
        rows = pd.DataFrame({"a": [0.1, 0.2], "email": ["ann@example.com", "bob@example.org"]})
        _train(strict)
        log = PredictionLog(strict.blobs.backend, "r1", ServingStats(), 100_000, env="prod")
        log.add(LogRecord("r-1", T0, "bc", 1, "live", 1.0, cols, rows, np.array([0, 1])))
        log.drain()
        strict.feedback.record("bc", [{"prediction_id": "r-1", "row": 1, "label": 1}], user="ada")
        with pytest.raises(ValidationError, match="personal data in undeclared column"):
            strict.export.run("bc", labelled=False, user="ada", **WINDOW)
        assert strict.catalog.search(None, 100) == []
        result = ruled.export.run("bc", labelled=False, user="ada", **WINDOW)
        frame = ruled.catalog.load_frame(result.ref)
        assert list(frame.columns) == ["a", "label"] and frame["label"].tolist()[1] == 1
        assert result.validation == {"passed": False, "checks_run": 1, "failed": 1}
    finally:
        strict.close()
        ruled.close()
