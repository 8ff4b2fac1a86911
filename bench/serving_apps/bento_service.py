"""BentoML 1.4 services for bench/serving.py: the model from a joblib file, one worker.

``Plain`` takes the same body as MLflow (``{"dataframe_split": {"columns": …, "data": …}}``
at ``POST /invocations``); ``Batched`` is the adaptive-batching variant
(``@bentoml.api(batchable=True)``), which needs a batchable input type, so it takes
``{"input": [[…], …]}`` (rows in the training column order) at ``POST /predict``. Run from
the BentoML venv (never Shipyard's: its pins clash)::

    BENCH_MODEL_PATH=model.joblib bentoml serve bento_service:Plain --working-dir bench/serving_apps
"""

from __future__ import annotations

import os
import warnings

import bentoml
import joblib
import numpy as np

warnings.filterwarnings("ignore", message="X does not have valid feature names")

MODEL_PATH = os.environ.get("BENCH_MODEL_PATH", "")
MAX_BATCH = int(os.environ.get("BENCH_MAX_BATCH", "1024"))


@bentoml.service(workers=1)
class Plain:
    def __init__(self) -> None:
        self.model = joblib.load(MODEL_PATH)

    @bentoml.api
    def invocations(self, dataframe_split: dict) -> dict:
        x = np.asarray(dataframe_split["data"], dtype=np.float64)
        return {"predictions": self.model.predict(x).tolist()}


@bentoml.service(workers=1)
class Batched:
    def __init__(self) -> None:
        self.model = joblib.load(MODEL_PATH)

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH)
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)
