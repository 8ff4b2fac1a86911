"""Model packages: which flavor, safe bytes, the signature, and loading them back.

scikit-learn models are stored with skops (loading trusts only classes of scikit-learn,
NumPy and SciPy); XGBoost and LightGBM models in their libraries' own formats (``boosting``).
Anything else is a Python-function model stored with pickle, which is written and read only
with ``allow_pickle=True``.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.models import Signature
from shipyard.services.formats.skops_archive import dump_estimator, load_estimator

__all__ = ["FLAVORS", "dump_model", "infer_signature", "load_model"]

FLAVORS = ("sklearn", "xgboost", "lightgbm", "python-pickle")


def _is_sklearn(model: Any) -> bool:
    if "sklearn" not in sys.modules:
        return False
    from sklearn.base import BaseEstimator

    return isinstance(model, BaseEstimator)


def dump_model(model: Any, *, allow_pickle: bool) -> tuple[str, bytes]:
    """(flavor, bytes) for ``model``."""
    from shipyard.services.registry.boosting import boosting_flavor, dump_boosted

    boosted = boosting_flavor(model)
    if boosted is not None:
        return boosted, dump_boosted(boosted, model)
    if _is_sklearn(model):
        try:
            return "sklearn", dump_estimator(model)
        except ValueError as e:
            if not allow_pickle:
                raise ValidationError(
                    f"this scikit-learn model cannot be stored safely: {e}; pass "
                    "allow_pickle=True to store it with pickle",
                    field="model",
                ) from None
    if not allow_pickle:
        raise ValidationError(
            f"a {type(model).__module__}.{type(model).__qualname__} is not a scikit-learn "
            "model; store it as a Python-function model with allow_pickle=True (pickle can run "
            "code when loaded: only load such models from sources you trust)",
            field="model",
        )
    if not callable(getattr(model, "predict", None)):
        raise ValidationError("a Python-function model needs a predict(X) method", field="model")
    return "python-pickle", pickle.dumps(model, protocol=5)


def load_model(flavor: str, data: bytes, digest: str, *, allow_pickle: bool) -> Any:
    if flavor == "sklearn":
        return load_estimator(data, digest)
    if flavor in ("xgboost", "lightgbm"):
        from shipyard.services.registry.boosting import load_boosted

        return load_boosted(flavor, data)
    if flavor == "python-pickle":
        if not allow_pickle:
            raise ValidationError(
                "this model is stored with pickle, which can run code when loaded; load it "
                "with allow_pickle=True only if you trust who registered it",
                field="allow_pickle",
            )
        return pickle.loads(data)
    raise ValidationError(f"unknown model flavor {flavor!r}", field="flavor")


def infer_signature(model: Any, example: Any) -> Signature:
    """Column names and dtypes of a DataFrame example, and the dtype of the prediction."""
    import pandas as pd

    if not isinstance(example, pd.DataFrame) or example.empty:
        raise ValidationError(
            "input_example must be a non-empty pandas DataFrame of model inputs",
            field="input_example",
        )
    inputs = tuple((str(c), str(t)) for c, t in example.dtypes.items())
    try:
        prediction = model.predict(example.head(5))
    except Exception as e:
        raise ValidationError(
            f"the model cannot predict on input_example: {type(e).__name__}: {e}",
            field="input_example",
        ) from None
    output = str(getattr(prediction, "dtype", type(prediction).__name__))
    return Signature(inputs, output)


def check_example(signature: Signature, example: Any) -> None:
    """A declared signature must match the example's columns and dtypes."""
    import pandas as pd

    if example is None:
        return
    if not isinstance(example, pd.DataFrame):
        raise ValidationError("input_example must be a pandas DataFrame", field="input_example")
    have = [(str(c), str(t)) for c, t in example.dtypes.items()]
    want = list(signature.inputs)
    if have != want:
        missing = [c for c, _ in want if c not in dict(have)]
        extra = [c for c, _ in have if c not in dict(want)]
        typed = [
            f"{c}: {dict(have)[c]} (signature: {t})"
            for c, t in want
            if c in dict(have) and dict(have)[c] != t
        ]
        raise ValidationError(
            "input_example does not match the signature: "
            + "; ".join(
                part
                for part in (
                    f"missing columns {missing}" if missing else "",
                    f"extra columns {extra}" if extra else "",
                    f"dtypes differ: {', '.join(typed)}" if typed else "",
                )
                if part
            )
            or "column order differs",
            field="signature",
        )
