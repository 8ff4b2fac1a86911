"""Reference profiles computed at registration: a version whose training run read a table
dataset version gets its profile (features, the model's output and, with the release
policy's label column, the estimation reference) from it, on a background thread; a failure
is recorded, never raised into the registration; a version without lineage is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.errors import NotFoundError
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings

FEATURES = ["age", "income"]


@pytest.fixture
def svc(tmp_path: Path, db_url: str) -> Iterator[Services]:
    services = build_services(
        Settings(
            project_dir=tmp_path,
            db_url=db_url,
            artifacts_url=str(tmp_path / "objects"),
            release={"loans": {"target": "default", "gates": []}},
        )
    )
    yield services
    services.close()


def _train(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.normal(50, 10, n)})
    frame["default"] = (frame["income"] + rng.normal(0, 4, n) > 50).astype(int)
    frame["seen"] = pd.date_range("2024-01-01", periods=n, freq="h")
    return frame


def _register(svc: Services, name: str, dataset: str, signature: list[list[str]]) -> str:
    """Train on ``dataset`` in a run that reads it, register the model; its ref."""
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    run = svc.tracking.create_run(exp, user="ada")
    svc.catalog.record_input(run.run_id, dataset)
    frame = svc.catalog.load_frame(dataset)
    model = LogisticRegression().fit(frame[FEATURES], frame["default"])
    sig = {"inputs": signature, "output": "int64"}
    return svc.registry.log_model(model, name, user="ada", run_id=run.run_id, signature=sig).ref


def test_a_version_trained_on_a_dataset_gets_its_profile(svc: Services) -> None:
    svc.catalog.register("loans", _train(), user="ada")
    ref = _register(svc, "loans", "loans@v1", [["age", "float64"], ["income", "float64"]])
    assert svc.profiler is not None
    svc.profiler.wait(60)
    profile = svc.profiles.for_model(ref)
    assert profile.source == "loans@v1"
    assert set(profile.columns) == {"age", "income", "_proba"}
    fitted = svc.profiles.estimation_for(ref)  # [release.loans] target = "default"
    assert fitted is not None and fitted.rows == 400
    status = svc.profiles.status_for(ref)
    assert status is not None and status["state"] == "computed"
    assert status["source"] == "loans@v1" and status["detail"] == svc.profiles.digest_for(ref)
    assert svc.profiler.profile(svc.registry.get_version(ref)) is None  # one is there already


def test_a_failing_profile_is_recorded_and_the_registration_stands(svc: Services) -> None:
    svc.catalog.register("loans", _train(), user="ada")
    signature = [["age", "float64"], ["income", "float64"], ["seen", "datetime64[ns]"]]
    ref = _register(svc, "loans", "loans@v1", signature)
    assert svc.profiler is not None
    svc.profiler.wait(60)
    assert svc.registry.get_version(ref).version == 1
    status = svc.profiles.status_for(ref)
    assert status is not None and status["state"] == "failed"
    assert "'seen'" in status["detail"] and status["source"] == "loans@v1"
    with pytest.raises(NotFoundError, match="no reference profile"):
        svc.profiles.digest_for(ref)


def test_lineage_without_the_signature_columns_is_skipped(svc: Services) -> None:
    svc.catalog.register("other", pd.DataFrame({"x": [1.0, 2.0]}), user="ada")
    svc.catalog.register("loans", _train(), user="ada")
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    run = svc.tracking.create_run(exp, user="ada")
    svc.catalog.record_input(run.run_id, "other@v1")
    frame = _train()
    model = LogisticRegression().fit(frame[FEATURES], frame["default"])
    ref = svc.registry.log_model(
        model, "loans", user="ada", run_id=run.run_id, input_example=frame[FEATURES].head()
    ).ref
    assert svc.profiler is not None
    svc.profiler.wait(60)
    status = svc.profiles.status_for(ref)
    assert status is not None and status["state"] == "skipped"
    assert "attach a reference on demand" in status["detail"]


def test_a_version_without_lineage_is_left_alone(svc: Services) -> None:
    frame = _train()
    model = LogisticRegression().fit(frame[FEATURES], frame["default"])
    ref = svc.registry.log_model(model, "loans", user="ada", input_example=frame[FEATURES]).ref
    assert svc.profiler is not None
    svc.profiler.wait(60)
    assert svc.profiles.status_for(ref) is None
    svc.profiles.attach(ref, frame.drop(columns="seen"), target="default")  # on demand
    assert svc.profiles.estimation_for(ref) is not None
