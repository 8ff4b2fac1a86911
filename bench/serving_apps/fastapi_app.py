"""A bare FastAPI app for bench/serving.py: the model from a joblib file, predict, nothing else.

No validation, no logging, no metrics: JSON in (MLflow's ``dataframe_split``, columns in the
training order), ``model.predict`` on a float64 matrix, JSON out. Run with uvicorn::

    BENCH_MODEL_PATH=model.joblib uvicorn --app-dir bench/serving_apps fastapi_app:app
"""

from __future__ import annotations

import json
import os
import warnings

import joblib
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response

# The model was fitted on a DataFrame; a matrix in the same column order predicts the same.
warnings.filterwarnings("ignore", message="X does not have valid feature names")

model = joblib.load(os.environ["BENCH_MODEL_PATH"])
app = FastAPI()


@app.get("/health")
async def health() -> Response:
    return Response("ok")


@app.post("/invocations")
async def invocations(request: Request) -> Response:
    payload = json.loads(await request.body())
    x = np.asarray(payload["dataframe_split"]["data"], dtype=np.float64)
    body = json.dumps({"predictions": model.predict(x).tolist()})
    return Response(body, media_type="application/json")
