"""An ONNX twin of a scikit-learn model, kept only if it predicts what the original does.

Needs the ``onnx`` extra (skl2onnx + onnxruntime). Every input must be numeric: the ONNX
model takes one float tensor with the signature's columns in order. The twin is checked on
the reference data: the same labels for every row, probabilities (or regression outputs)
within ``TOLERANCE``; otherwise it is dropped and the reason recorded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TOLERANCE", "export_onnx"]

TOLERANCE = 1e-4


def _outputs(session: Any, x: Any) -> tuple[Any, Any]:
    results = session.run(None, {session.get_inputs()[0].name: x})
    labels = results[0]
    scores = results[1] if len(results) > 1 else None
    if isinstance(scores, list):  # ZipMap: a list of {class: probability}
        import numpy as np

        scores = np.array([[row[k] for k in sorted(row)] for row in scores])
    return labels, scores


def export_onnx(model: Any, reference: Any) -> tuple[bytes | None, dict[str, Any]]:
    """(ONNX bytes or None, a report of what was checked or why it was not kept)."""
    try:
        import numpy as np
        import onnxruntime as ort
        from skl2onnx import to_onnx
    except ImportError:
        return None, {"kept": False, "reason": "the onnx extra is not installed"}
    if not all(dtype.kind in "biuf" for dtype in reference.dtypes):
        return None, {"kept": False, "reason": "ONNX export needs numeric inputs only"}
    x = reference.to_numpy(dtype=np.float32)
    try:
        options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
        onnx_model = to_onnx(model, x[:1], options=options, target_opset=None)
        data = onnx_model.SerializeToString()
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        labels, scores = _outputs(session, x)
    except Exception as e:  # skl2onnx does not support every estimator
        return None, {"kept": False, "reason": f"{type(e).__name__}: {str(e)[:300]}"}
    expected = model.predict(reference)
    report: dict[str, Any] = {"rows_checked": len(x)}
    if hasattr(model, "predict_proba") and scores is not None:
        same = bool(np.all(np.asarray(labels).ravel() == np.asarray(expected).ravel()))
        diff = float(np.max(np.abs(scores - model.predict_proba(reference))))
    else:
        same = True
        diff = float(np.max(np.abs(np.asarray(labels).ravel() - np.asarray(expected).ravel())))
    report.update(max_abs_diff=diff, same_labels=same)
    if not same or diff > TOLERANCE:
        return None, {**report, "kept": False, "reason": "predictions differ from the original"}
    return data, {**report, "kept": True}
