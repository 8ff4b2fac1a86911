"""XGBoost and LightGBM flavors, stored in each library's own model format (never pickle).

- ``xgboost``: the scikit-learn wrapper's UBJSON model (``save_model``), which carries the
  wrapper's attributes; it loads back into the same wrapper class.
- ``lightgbm``: the booster's text model; loaded into :class:`LightGBMModel`, which predicts
  like the scikit-learn wrapper did (labels from probabilities, ``predict_proba``, ``classes_``).

A package is a JSON header line (the class and the classes), then the library's bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["BOOSTING_FLAVORS", "LightGBMModel", "boosting_flavor", "dump_boosted", "load_boosted"]

BOOSTING_FLAVORS = ("xgboost", "lightgbm")
_XGB_CLASSES = {"XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor"}
_LGB_CLASSES = {"LGBMClassifier", "LGBMRegressor", "LGBMRanker", "Booster"}


def boosting_flavor(model: Any) -> str | None:
    """``xgboost`` / ``lightgbm`` for those libraries' models, else None."""
    top = type(model).__module__.split(".")[0]
    if top == "xgboost" and type(model).__name__ in _XGB_CLASSES:
        return "xgboost"
    if top == "lightgbm" and type(model).__name__ in _LGB_CLASSES:
        return "lightgbm"
    return None


def dump_boosted(flavor: str, model: Any) -> bytes:
    header: dict[str, Any] = {"class": type(model).__name__}
    if flavor == "xgboost":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.ubj")
            model.save_model(path)
            with open(path, "rb") as fh:
                body = fh.read()
    else:
        booster = model if type(model).__name__ == "Booster" else model.booster_
        classes = getattr(model, "classes_", None)
        if classes is not None:
            header["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        body = booster.model_to_string().encode()
    return json.dumps(header).encode() + b"\n" + body


def load_boosted(flavor: str, data: bytes) -> Any:
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        name = header["class"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError(
            f"this {flavor} package has no valid header", field="flavor"
        ) from None
    if flavor == "xgboost":
        import xgboost

        if name not in _XGB_CLASSES:
            raise ValidationError(f"unknown XGBoost model class {name!r}", field="flavor")
        model = getattr(xgboost, name)()
        model.load_model(bytearray(body))
        return model
    import lightgbm

    if name not in _LGB_CLASSES:
        raise ValidationError(f"unknown LightGBM model class {name!r}", field="flavor")
    booster = lightgbm.Booster(model_str=body.decode())
    return booster if name == "Booster" else LightGBMModel(booster, header.get("classes"))


class LightGBMModel:
    """A LightGBM booster that predicts like the scikit-learn wrapper it was fitted as."""

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        import numpy as np

        self.booster = booster
        self.classes_ = None if classes is None else np.asarray(classes)
        self.feature_names_in_ = np.asarray(booster.feature_name())

    def predict_proba(self, x: Any) -> Any:
        import numpy as np

        raw = np.asarray(self.booster.predict(x))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, x: Any) -> Any:
        if self.classes_ is None:
            return self.booster.predict(x)
        return self.classes_[self.predict_proba(x).argmax(axis=1)]
