"""What each model version predicts: a classification's class set (in ``classes_`` order, so
the positive class of a binary model is the last) or a regression — read from the model once
and cached, so labels can be checked and realized metrics computed the model's way."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import NotFoundError, ShipyardError, ValidationError
from shipyard.core.models import ModelVersion
from shipyard.services.ports import MonitoredModels

__all__ = ["Target", "Targets"]

_USER = "shipyard-monitor"


@dataclass(frozen=True)
class Target:
    """``task`` is classification, regression, or unknown (a model that could not be read,
    e.g. a pickle; labels are then only checked to be plain values)."""

    task: str
    classes: tuple[Any, ...] | None = None


def _target_of(model: Any) -> Target:
    classes = getattr(model, "classes_", None)
    if classes is not None:
        import numpy as np

        return Target("classification", tuple(np.asarray(classes).tolist()))
    try:
        from sklearn.base import is_regressor

        if is_regressor(model):
            return Target("regression")
    except Exception:  # not a scikit-learn estimator
        pass
    if type(model).__name__ == "LightGBMModel":  # fitted as LGBMRegressor
        return Target("regression")
    return Target("unknown")


class Targets:
    """Targets of model versions, cached (``max_cached`` versions, least recently used out)."""

    def __init__(self, models: MonitoredModels, *, max_cached: int = 64) -> None:
        self.models = models
        self.max_cached = max_cached
        self._cache: OrderedDict[tuple[str, int], Target] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, model: str) -> ModelVersion:
        """The model's latest version; ``NotFoundError`` naming ``model`` when unknown."""
        if not isinstance(model, str) or not model:
            raise ValidationError(f"model must be a model name, got {model!r}", field="model")
        try:
            return self.models.get_version(model)
        except NotFoundError as e:
            raise NotFoundError(e.message, field="model") from None

    def version(self, model: str, version: int) -> ModelVersion:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValidationError(
                f"version must be a number >= 1, got {version!r}", field="version"
            )
        try:
            return self.models.get_version(f"{model}@v{version}")
        except NotFoundError as e:
            raise NotFoundError(e.message, field="version") from None

    def of(self, model: str, version: int) -> Target:
        key = (model, version)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        try:
            loaded = self.models.load(f"{model}@v{version}", user=_USER)
            target = _target_of(loaded)
        except ShipyardError:  # e.g. a pickle, which monitoring never unpickles
            target = Target("unknown")
        with self._lock:
            self._cache[key] = target
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return target
