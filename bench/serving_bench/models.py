"""The two models every server gets, the request bodies, and how answers are checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import MODEL_NAMES


@dataclass
class ModelCase:
    key: str
    name: str
    model: Any
    frame: Any  # the training features (a DataFrame)
    path: Path  # the same fitted model, joblib (BentoML, FastAPI)
    expected: dict[int, list[int]]  # rows -> predictions of the first rows


def train(key: str, folder: Path, sizes: list[int]) -> ModelCase:
    """``lr``: a LogisticRegression; ``rf``: a 100-tree RandomForest; on ``load_breast_cancer``."""
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    if key == "lr":
        model = LogisticRegression(max_iter=10_000).fit(x, y)
    else:
        model = RandomForestClassifier(n_estimators=100, random_state=0).fit(x, y)
    path = folder / f"{key}.joblib"
    joblib.dump(model, path)
    expected = {n: [int(v) for v in model.predict(x.head(n))] for n in sizes}
    return ModelCase(key, MODEL_NAMES[key], model, x, path, expected)


def _rows(case: ModelCase, n: int) -> list[list[float]]:
    return [[float(v) for v in row] for row in case.frame.head(n).to_numpy()]


def body_split(case: ModelCase, n: int) -> bytes:
    """MLflow's ``dataframe_split`` (MLflow, Shipyard /invocations, BentoML plain, FastAPI)."""
    split = {"columns": list(case.frame.columns), "data": _rows(case, n)}
    return json.dumps({"dataframe_split": split}).encode()


def body_oip(case: ModelCase, n: int) -> bytes:
    """Open Inference Protocol: one FP64 tensor per column."""
    head = case.frame.head(n)
    inputs = [
        {"name": c, "shape": [n], "datatype": "FP64", "data": [float(v) for v in head[c]]}
        for c in case.frame.columns
    ]
    return json.dumps({"inputs": inputs}).encode()


def body_bento_batched(case: ModelCase, n: int) -> bytes:
    """BentoML's batchable ndarray input: rows in the training column order."""
    return json.dumps({"input": _rows(case, n)}).encode()


def predictions(payload: Any) -> list[Any] | None:
    """The predictions of a response, whichever shape the server uses."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        if isinstance(payload.get("predictions"), list):
            return payload["predictions"]
        outputs = payload.get("outputs")
        if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict):
            return outputs[0].get("data")
    return None


def same(got: list[Any] | None, expected: list[int]) -> bool:
    if got is None or len(got) != len(expected):
        return False
    try:
        return all(int(float(g)) == e for g, e in zip(got, expected, strict=True))
    except (TypeError, ValueError):
        return False
