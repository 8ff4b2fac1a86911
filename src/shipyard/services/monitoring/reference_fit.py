"""What a reference profile keeps of the model itself: the model's output on the reference
rows (the positive class probability of a probabilistic binary classifier, the prediction of
a regressor) and, from a labelled reference of a probabilistic binary classifier, the
estimation reference that ``estimated.<metric>`` figures need (``fit_reference``).

The output column is named like the prediction log's column that holds the same thing
(``_proba`` or ``_prediction``), so a window's logged rows are compared with it as they are.
numpy and scikit-learn load with this module, never when the services are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import ValidationError
from shipyard.core.estimation import METRICS, EstimationReference
from shipyard.core.models import ModelVersion
from shipyard.services.monitoring.estimation import fit_reference

__all__ = ["ModelOutputs", "fit_estimation", "score_reference"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class ModelOutputs:
    """The model's answers on the reference rows. ``column`` names the prediction log's
    column holding the same figure (``_proba`` for a probabilistic binary classifier,
    ``_prediction`` for a regressor); ``classes`` is a classifier's class set in
    ``classes_`` order (the positive class last)."""

    column: str
    values: Array  # float64: the output column's values
    decisions: Array | None = None  # 0/1: the model predicted the positive class
    classes: tuple[Any, ...] | None = None


def _inputs(version: ModelVersion, frame: Any) -> Any:
    columns = [c for c, _ in version.signature.inputs]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"the reference has no column(s) {missing} that {version.ref} takes; profile "
            "the data the model was trained on",
            field="reference",
        )
    return frame[columns]


def score_reference(model: Any, version: ModelVersion, frame: Any) -> ModelOutputs | None:
    """Score ``frame`` with ``model``; None when the model is neither a probabilistic binary
    classifier nor a regressor (e.g. a multi-class model: no single output to watch)."""
    classes = getattr(model, "classes_", None)
    if classes is not None:
        found = tuple(np.asarray(classes).tolist())
        if len(found) != 2 or not hasattr(model, "predict_proba"):
            return None
        x = _inputs(version, frame)
        proba = np.asarray(model.predict_proba(x), dtype=np.float64)[:, 1]
        decisions = (np.asarray(model.predict(x)) == found[1]).astype(np.float64)
        return ModelOutputs("_proba", proba, decisions, found)
    from sklearn.base import is_regressor

    if not is_regressor(model) and type(model).__name__ != "LightGBMModel":
        return None
    predicted = np.asarray(model.predict(_inputs(version, frame)), dtype=np.float64)
    return ModelOutputs("_prediction", predicted.reshape(len(frame)))


def fit_estimation(outputs: ModelOutputs, labels: Any, target: str) -> EstimationReference:
    """The estimation reference from the reference's labels (``labels``, the column
    ``target``) and the model's probabilities; rows without a label are left out."""
    if outputs.classes is None or outputs.decisions is None:
        raise ValidationError(
            "performance estimation needs a probabilistic binary classifier",
            field="target",
        )
    import pandas as pd

    series = pd.Series(labels).reset_index(drop=True)
    known = series.notna().to_numpy()
    allowed = set(outputs.classes)
    unknown = sorted({str(v) for v in series[known] if v not in allowed})[:5]
    if unknown:
        raise ValidationError(
            f"target column {target!r} holds {unknown}, not the model's classes "
            f"{list(outputs.classes)}; name the label column the model was trained on",
            field="target",
        )
    y = (series[known] == outputs.classes[1]).to_numpy(dtype=np.float64)
    if len(np.unique(y)) < 2:
        raise ValidationError(
            f"target column {target!r} holds labelled rows of one class only; estimation "
            "needs both classes in the reference",
            field="target",
        )
    return fit_reference(y, outputs.values[known], outputs.decisions[known], METRICS)
