"""Loaded model versions and the fastest safe way to call each one.

- the ONNX twin (kept by the registry only if it predicts what the model does) through ONNX
  Runtime, on a float32 matrix;
- a scikit-learn model on a plain matrix in signature order, once a check at load time shows
  it predicts the same as on a DataFrame (column transformers that select by name do not);
- otherwise the model on a DataFrame with the signature's columns.

A binary classifier with ``predict_proba`` (scikit-learn, XGBoost, LightGBM, or an ONNX twin
whose second output is the probabilities) answers ``Scored`` rows: its labels (what
``predict`` gives, unchanged) and the positive class's probability (``classes_[1]``),
computed in the same batched call — one ONNX run gives both; a Python model whose predict is
the argmax of its probabilities (forests, XGBoost, LightGBM) calls ``predict_proba`` once, any
other calls ``predict`` and ``predict_proba`` on the same batch. Models without
``predict_proba`` pay nothing extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.core.models import ModelVersion
from shipyard.services.ports import ServedVersions
from shipyard.services.serving.inputs import InputSpec

__all__ = ["LoadedModel", "Scored", "load_version"]


@dataclass
class LoadedModel:
    version: ModelVersion
    spec: InputSpec
    predict: Callable[[Any], Any]  # a matrix or a DataFrame in → a 1-d array out
    path: str  # onnx | matrix | frame
    cost_ms: float  # one single-row predict, measured at load
    output_dtype: str = "float64"
    scores: bool = False  # predict gives ``Scored`` (labels and positive-class probabilities)

    @property
    def key(self) -> tuple[str, int]:
        return (self.version.name, self.version.version)


class Scored:
    """A batch's labels and each row's positive-class probability; sliced like an array
    (the micro-batcher splits one batch's answer back into its requests). A slotted class,
    not a dataclass: it is made once per request on the hot path."""

    __slots__ = ("labels", "proba")

    def __init__(self, labels: Any, proba: Any) -> None:
        self.labels = labels  # 1-d array, what ``predict`` gives
        self.proba = proba  # 1-d float64 array

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, rows: slice) -> Scored:
        return Scored(self.labels[rows], self.proba[rows])


def _onnx_predict(data: bytes, spec: InputSpec) -> tuple[Callable[[Any], Any], bool]:
    """The twin's predict, and whether it also gives binary probabilities (one run)."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = session.get_outputs()
    label = outputs[0].name

    def predict(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            x = x.to_numpy()
        out = session.run([label], {name: x.astype(np.float32, copy=False)})[0]
        # a copy: ONNX Runtime's arrays keep its memory alive, and answers outlive the
        # session (a prediction log buffers them after the version is evicted)
        return np.array(out.ravel())

    if len(outputs) < 2 or not str(outputs[1].type).startswith("tensor"):
        return predict, False
    both = [label, outputs[1].name]
    try:  # binary when the probabilities of one row have two columns
        probe = session.run(both, {name: np.zeros((1, len(spec.columns)), np.float32)})[1]
    except Exception:
        return predict, False
    if np.shape(probe) != (1, 2):
        return predict, False

    def scored(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            x = x.to_numpy()
        labels, proba = session.run(both, {name: x.astype(np.float32, copy=False)})
        return Scored(np.array(labels.ravel()), proba[:, 1].astype(np.float64))  # copies

    return scored, True


def _binary_classifier(model: Any) -> bool:
    """Whether ``model`` gives the probabilities of exactly two classes."""
    classes = getattr(model, "classes_", None)
    try:
        return classes is not None and len(classes) == 2 and hasattr(model, "predict_proba")
    except Exception:  # e.g. a ``classes_`` property of an unfitted step
        return False


# Classifiers whose ``predict`` is ``classes_[argmax(predict_proba)]`` in their own code (ties
# included): one predict_proba call gives both. Others (e.g. LogisticRegression or
# HistGradientBoosting, whose predict thresholds a raw score) call predict and predict_proba.
_ARGMAX_PREDICT = frozenset(
    {
        "ExtraTreesClassifier",
        "LGBMClassifier",
        "LightGBMModel",
        "RandomForestClassifier",
        "XGBClassifier",
    }
)


def _final(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _with_proba(
    model: Any, predict: Callable[[Any], Any], framed: list[str] | None
) -> Callable[[Any], Any]:
    """``predict`` plus the positive-class probability of the same batch (``framed``: the
    columns of the DataFrame the model needs instead of a matrix)."""
    import numpy as np

    classes = np.asarray(model.classes_)
    argmax = type(_final(model)).__name__ in _ARGMAX_PREDICT

    def scored(x: Any) -> Any:
        inputs = x
        if framed is not None and isinstance(x, np.ndarray):
            import pandas as pd

            inputs = pd.DataFrame(x, columns=framed)
        proba = np.asarray(model.predict_proba(inputs), dtype=np.float64)
        labels = classes[proba.argmax(axis=1)] if argmax else np.asarray(predict(x)).ravel()
        return Scored(labels, proba[:, 1].copy())

    return scored


def _strip_feature_names(model: Any) -> list[tuple[Any, Any]]:
    """Drop the fitted column names (a matrix has none); what was dropped, to put back."""
    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else model
    stripped = []
    for target in (model, first):
        if "feature_names_in_" in getattr(target, "__dict__", {}):
            stripped.append((target, target.__dict__.pop("feature_names_in_")))
    return stripped


def _matrix_predict(model: Any, spec: InputSpec) -> Callable[[Any], Any] | None:
    """``model.predict`` on a matrix, when that gives what the DataFrame gives."""
    import numpy as np
    import pandas as pd

    probe = np.vstack([np.zeros(len(spec.columns)), np.ones(len(spec.columns))])
    proba = _binary_classifier(model)
    stripped: list[tuple[Any, Any]] = []
    try:
        frame = pd.DataFrame(probe, columns=list(spec.columns))
        expected = model.predict(frame)
        expected_proba = model.predict_proba(frame) if proba else None
        stripped = _strip_feature_names(model)
        got = model.predict(probe)
        got_proba = model.predict_proba(probe) if proba else None
        same = np.array_equal(np.asarray(expected), np.asarray(got)) and (
            not proba or np.allclose(np.asarray(expected_proba), np.asarray(got_proba))
        )
    except Exception:
        same = False
    if not same:  # the frame path: the model keeps its column names
        for target, names in stripped:
            target.__dict__["feature_names_in_"] = names
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


def _python_predict(
    registry: ServedVersions, version: ModelVersion, spec: InputSpec, allow_pickle: bool
) -> tuple[Callable[[Any], Any], str, bool]:
    model = registry.load(version.ref, user="shipyard-serve", allow_pickle=allow_pickle)
    predict: Callable[[Any], Any] | None = None
    path = "frame"
    if spec.numeric and version.flavor in ("sklearn", "xgboost", "lightgbm"):
        predict = _matrix_predict(model, spec)
        path = "matrix"
    if predict is None:
        predict, path = _frame_predict(model, spec), "frame"
    if _binary_classifier(model):
        framed = list(spec.columns) if path == "frame" else None
        return _with_proba(model, predict, framed), path, True
    return predict, path, False


def load_version(
    registry: ServedVersions, version: ModelVersion, *, allow_pickle: bool, onnx: bool = True
) -> LoadedModel:
    """Load ``version`` (content verified) and pick its predict path; times one row."""
    spec = InputSpec.of(version.signature)
    twin = version.package.get("onnx")
    predict: Callable[[Any], Any] | None = None
    path, scores = "frame", False
    if onnx and spec.numeric and isinstance(twin, dict) and twin.get("kept"):
        try:
            predict, scores = _onnx_predict(registry.load_onnx(version.ref), spec)
            path = "onnx"
        except ImportError:
            predict = None
    if predict is None:
        predict, path, scores = _python_predict(registry, version, spec, allow_pickle)
    import numpy as np

    row = np.zeros((1, len(spec.columns))) if spec.numeric else None
    cost = 0.0
    if row is not None:
        try:
            predict(row)  # warm up
            start = time.perf_counter()
            out = predict(row)
            cost = (time.perf_counter() - start) * 1000
            dtype = str(np.asarray(out.labels if scores else out).dtype)
        except Exception:
            dtype = version.signature.output or "float64"
    else:
        dtype = version.signature.output or "object"
    return LoadedModel(version, spec, predict, path, cost, dtype, scores)
