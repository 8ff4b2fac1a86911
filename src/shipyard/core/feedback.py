"""Ground truth as data: one stored label and the receipt of a feedback batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_FEEDBACK_BATCH", "FeedbackLabel", "FeedbackReceipt"]

MAX_FEEDBACK_BATCH = 10_000  # labels per call; larger batches are refused (HTTP 413)


@dataclass(frozen=True)
class FeedbackLabel:
    """The true label of one logged prediction row (``prediction_id`` and ``row`` name it).

    ``prediction_time`` is the prediction's time (from the logs, else from the id) and
    ``version`` the version that answered it, both None until the prediction is found in the
    logs; ``matched`` says whether it was."""

    model: str
    prediction_id: str
    row: int
    label: Any
    label_time: int
    prediction_time: int | None = None
    version: int | None = None
    matched: bool = False

    @property
    def delay_ms(self) -> int | None:
        """Label time - prediction time (None while the prediction is unknown)."""
        if not self.matched or self.prediction_time is None:
            return None
        return self.label_time - self.prediction_time


@dataclass(frozen=True)
class FeedbackReceipt:
    """What one ``record`` call did: labels new and updated, and those whose prediction the
    logs do not (yet) hold — kept, counted and listed (the first ``unknown_ids``)."""

    model: str
    received: int
    inserted: int
    updated: int
    duplicates: int  # repeats of an id with the same label inside the batch, collapsed
    unknown: int
    unknown_ids: tuple[str, ...] = ()
    mean_delay_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "received": self.received,
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "unknown_ids": list(self.unknown_ids),
            "mean_delay_ms": self.mean_delay_ms,
        }
