"""Loaded model versions and the fastest safe way to call each one.

- the ONNX twin (kept by the registry only if it predicts what the model does) through ONNX
  Runtime, on a float32 matrix;
- a scikit-learn model on a plain matrix in signature order, once a check at load time shows
  it predicts the same as on a DataFrame (column transformers that select by name do not);
- otherwise the model on a DataFrame with the signature's columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.core.models import ModelVersion
from shipyard.services.ports import ServedVersions
from shipyard.services.serving.inputs import InputSpec

__all__ = ["LoadedModel", "load_version"]


@dataclass
class LoadedModel:
    version: ModelVersion
    spec: InputSpec
    predict: Callable[[Any], Any]  # a matrix or a DataFrame in → a 1-d array out
    path: str  # onnx | matrix | frame
    cost_ms: float  # one single-row predict, measured at load
    output_dtype: str = "float64"

    @property
    def key(self) -> tuple[str, int]:
        return (self.version.name, self.version.version)


def _onnx_predict(data: bytes) -> Callable[[Any], Any]:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    label = session.get_outputs()[0].name

    def predict(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            x = x.to_numpy()
        out = session.run([label], {name: x.astype(np.float32, copy=False)})[0]
        return out.ravel() if out.ndim > 1 else out

    return predict


def _strip_feature_names(model: Any) -> None:
    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else model
    for target in (model, first):
        if "feature_names_in_" in getattr(target, "__dict__", {}):
            del target.__dict__["feature_names_in_"]


def _matrix_predict(model: Any, spec: InputSpec) -> Callable[[Any], Any] | None:
    """``model.predict`` on a matrix, when that gives what the DataFrame gives."""
    import numpy as np
    import pandas as pd

    probe = np.vstack([np.zeros(len(spec.columns)), np.ones(len(spec.columns))])
    try:
        expected = model.predict(pd.DataFrame(probe, columns=list(spec.columns)))
        _strip_feature_names(model)
        got = model.predict(probe)
    except Exception:
        return None
    if not np.array_equal(np.asarray(expected), np.asarray(got)):
        return None
    return model.predict


def _frame_predict(model: Any, spec: InputSpec) -> Callable[[Any], Any]:
    import numpy as np
    import pandas as pd

    columns = list(spec.columns)

    def predict(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            x = pd.DataFrame(x, columns=columns)
        return np.asarray(model.predict(x)).ravel()

    return predict


def load_version(
    registry: ServedVersions, version: ModelVersion, *, allow_pickle: bool, onnx: bool = True
) -> LoadedModel:
    """Load ``version`` (content verified) and pick its predict path; times one row."""
    spec = InputSpec.of(version.signature)
    twin = version.package.get("onnx")
    predict: Callable[[Any], Any] | None = None
    path = "frame"
    if onnx and spec.numeric and isinstance(twin, dict) and twin.get("kept"):
        try:
            predict, path = _onnx_predict(registry.load_onnx(version.ref)), "onnx"
        except ImportError:
            predict = None
    if predict is None:
        model = registry.load(version.ref, user="shipyard-serve", allow_pickle=allow_pickle)
        if spec.numeric and version.flavor in ("sklearn", "xgboost", "lightgbm"):
            predict = _matrix_predict(model, spec)
            path = "matrix"
        if predict is None:
            predict, path = _frame_predict(model, spec), "frame"
    import numpy as np

    row = np.zeros((1, len(spec.columns))) if spec.numeric else None
    cost = 0.0
    if row is not None:
        try:
            predict(row)  # warm up
            start = time.perf_counter()
            out = predict(row)
            cost = (time.perf_counter() - start) * 1000
            dtype = str(np.asarray(out).dtype)
        except Exception:
            dtype = version.signature.output or "float64"
    else:
        dtype = version.signature.output or "object"
    return LoadedModel(version, spec, predict, path, cost, dtype)
