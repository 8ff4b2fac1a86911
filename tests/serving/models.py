"""Models for serving tests, importable by the server process (pickle flavor)."""

from __future__ import annotations

from typing import Any


class Exploding:
    """Predicts 1, except that a first column below zero raises (and ``always`` always does)."""

    def __init__(self, always: bool = False) -> None:
        self.always = always

    def predict(self, x: Any) -> Any:
        import numpy as np

        values = np.asarray(x, dtype=float)
        if self.always or (values[:, 0] < 0).any():
            raise RuntimeError("boom: negative first column")
        return np.ones(len(values), dtype=np.int64)
