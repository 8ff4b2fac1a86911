"""Each predict path of a binary classifier gives ``Scored`` answers: the labels ``predict``
gives and the positive class's probability, batch-splittable; other models are unchanged."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.interfaces.bootstrap import build_services
from shipyard.services.serving.batching import Batcher
from shipyard.services.serving.predictors import Scored, load_version
from shipyard.settings import Settings


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root: Path = tmp_path_factory.mktemp("proba")
    services = build_services(
        Settings(project_dir=root, db_url=f"sqlite:///{root / 'db'}", artifacts_url=str(root / "o"))
    )
    yield services
    services.close()


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, Any]:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    return x, y


def _models() -> dict[str, Any]:
    import lightgbm
    import xgboost

    return {
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "rf": RandomForestClassifier(n_estimators=20, random_state=0),
        "xgb": xgboost.XGBClassifier(n_estimators=20),
        "lgbm": lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
    }


@pytest.mark.parametrize("name", ["lr", "rf", "xgb", "lgbm"])
@pytest.mark.parametrize("onnx", [True, False])
def test_classifiers_score_on_every_path(svc: Any, frame: Any, name: str, onnx: bool) -> None:
    x, y = frame
    model = _models()[name].fit(x, y)
    v = svc.registry.log_model(model, name, user="ada", input_example=x.head(5), reference_data=x)
    loaded = load_version(svc.registry, v, allow_pickle=False, onnx=onnx)
    assert loaded.scores
    out = loaded.predict(x.to_numpy())
    assert isinstance(out, Scored) and len(out) == len(x)
    assert np.array_equal(out.labels, np.asarray(model.predict(x)))
    tolerance = 1e-4 if loaded.path == "onnx" else 1e-7  # ONNX computes in float32
    assert np.allclose(out.proba, model.predict_proba(x)[:, 1], atol=tolerance, rtol=0)
    assert out.proba.dtype == np.float64
    part = out[3:7]
    assert np.array_equal(part.labels, out.labels[3:7]) and np.array_equal(
        part.proba, out.proba[3:7]
    )


def test_a_regressor_and_the_frame_path(svc: Any, frame: Any) -> None:
    x, y = frame
    reg = LinearRegression().fit(x, y.astype(float))
    v = svc.registry.log_model(reg, "reg", user="ada", input_example=x.head(5))
    loaded = load_version(svc.registry, v, allow_pickle=False, onnx=False)
    assert not loaded.scores and not isinstance(loaded.predict(x.to_numpy()[:2]), Scored)
    mixed = x.head(200).assign(grade=np.where(np.arange(200) % 2, "a", "b"))
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["grade"]), remainder="passthrough"),
        LogisticRegression(max_iter=2000),
    ).fit(mixed, y.head(200))
    v = svc.registry.log_model(pipe, "mixed", user="ada", input_example=mixed.head(5))
    loaded = load_version(svc.registry, v, allow_pickle=False)
    assert loaded.path == "frame" and loaded.scores
    out = loaded.predict(mixed.head(10))
    assert np.array_equal(out.labels, pipe.predict(mixed.head(10)))
    assert np.allclose(out.proba, pipe.predict_proba(mixed.head(10))[:, 1])


def test_the_batcher_splits_scored_answers_back(svc: Any, frame: Any) -> None:
    x, y = frame
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    v = svc.registry.log_model(model, "batched", user="ada", input_example=x.head(5))
    loaded = load_version(svc.registry, v, allow_pickle=False, onnx=False)
    batcher = Batcher(loaded.predict, cost_ms=1.0, max_batch=64, max_wait_ms=5)
    requests = [x.to_numpy()[i : i + 3] for i in range(0, 30, 3)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(batcher.submit(r) for r in requests))

    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(lambda: asyncio.run(main())).result()
    batcher.close()
    assert batcher.batches < len(requests)  # they shared batches
    want = model.predict_proba(x.head(30))[:, 1]
    for i, answer in enumerate(answers):
        assert isinstance(answer, Scored)
        assert np.allclose(answer.proba, want[3 * i : 3 * i + 3])
