"""XGBoost and LightGBM models: stored in their own formats, loaded without pickle, gated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipyard.core.errors import ArtifactCorruptedError
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings


@pytest.fixture
def svc(tmp_path: Path) -> Any:
    services = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    yield services
    services.close()


@pytest.fixture(scope="module")
def data() -> Any:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    return x, y


def _models() -> list[tuple[str, Any]]:
    import lightgbm
    import xgboost

    return [
        ("xgboost", xgboost.XGBClassifier(n_estimators=20, max_depth=3)),
        ("xgboost", xgboost.XGBRegressor(n_estimators=20, max_depth=3)),
        ("lightgbm", lightgbm.LGBMClassifier(n_estimators=20, verbose=-1)),
        ("lightgbm", lightgbm.LGBMRegressor(n_estimators=20, verbose=-1)),
    ]


@pytest.mark.parametrize("index", range(4))
def test_boosted_models_round_trip_without_pickle(svc: Any, data: Any, index: int) -> None:
    import numpy as np

    flavor, model = _models()[index]
    x, y = data
    model.fit(x, y)
    v = svc.registry.log_model(model, "boosted", user="ann", input_example=x.head(5))
    assert v.flavor == flavor
    stored = svc.blobs.get_bytes(v.content_id)
    assert b"\n" in stored and not stored.startswith(b"\x80")  # a header + native bytes, no pickle
    loaded = svc.registry.load(v.ref, user="ann")
    assert np.allclose(loaded.predict(x), model.predict(x))
    if hasattr(model, "predict_proba"):
        assert np.allclose(loaded.predict_proba(x), model.predict_proba(x), atol=1e-6)
        assert list(loaded.classes_) == [0, 1]


def test_a_tampered_boosted_model_is_refused_at_load(svc: Any, data: Any) -> None:
    import lightgbm

    x, y = data
    v = svc.registry.log_model(
        lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(x, y),
        "boosted",
        user="ann",
        input_example=x.head(5),
    )
    root = Path(svc.settings.artifacts_url)
    files = [p for p in root.rglob("*") if p.is_file() and p.read_bytes().startswith(b'{"class"')]
    assert files
    files[0].write_bytes(files[0].read_bytes().replace(b"LGBMClassifier", b"LGBMRegressor"))
    with pytest.raises(ArtifactCorruptedError):
        svc.registry.load(v.ref, user="ann")


def test_boosted_models_go_through_the_gates(svc: Any, data: Any) -> None:
    import xgboost

    x, y = data
    holdout = x.assign(target=y).tail(150)
    svc.catalog.register("bc-holdout", holdout, user="ann")
    v = svc.registry.log_model(
        xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(x.head(400), y.head(400)),
        "boosted",
        user="ann",
        input_example=x.head(5),
    )
    release = {
        "boosted": {
            "holdout": "bc-holdout@latest",
            "target": "target",
            "gates": [{"metric": "roc_auc", "min": 0.9}, {"latency_p99_ms": 500}],
        }
    }
    report = svc.registry.run_gates(v.ref, release, user="ann")
    assert report["passed"], report
    assert report["gates"][0]["value"] > 0.9
