"""Feedback batches as callers send them, read into checked items: ``{prediction_id: label}``
(or ``{(prediction_id, row): label}``), a DataFrame with ``prediction_id`` and ``label``
(optional ``row`` and ``time``), or a list of such records (the REST body). Errors name the
item (``labels[3].label``) and say what was expected."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import PayloadTooLargeError, ValidationError
from shipyard.core.feedback import MAX_FEEDBACK_BATCH

__all__ = ["LabelItem", "read_items"]

MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class LabelItem:
    prediction_id: str
    row: int
    label: Any  # bool | int | float | str
    time_ms: int | None
    where: str  # how the caller names it in errors: labels[3]

    @property
    def key(self) -> tuple[str, int]:
        return (self.prediction_id, self.row)


def read_items(labels: Any) -> list[LabelItem]:
    """The batch's items in order; refuses an empty or too large batch (413)."""
    if hasattr(labels, "columns") and hasattr(labels, "to_dict"):
        raw = list(_frame_records(labels))
    elif isinstance(labels, Mapping):
        raw = list(_mapping_records(labels))
    elif isinstance(labels, list | tuple):
        raw = [(f"labels[{i}]", r) for i, r in enumerate(labels)]
    else:
        raise ValidationError(
            "labels must be {prediction_id: label}, a DataFrame with prediction_id and label "
            "columns, or a list of {'prediction_id', 'label'} records; got "
            f"{type(labels).__name__}",
            field="labels",
        )
    if not raw:
        raise ValidationError("labels is empty: send at least one label", field="labels")
    if len(raw) > MAX_FEEDBACK_BATCH:
        raise PayloadTooLargeError(
            f"{len(raw):,} labels in one batch; the limit is {MAX_FEEDBACK_BATCH:,}: "
            "send them in several batches",
            field="labels",
        )
    return [_item(where, record) for where, record in raw]


def _frame_records(frame: Any) -> Iterator[tuple[str, Any]]:
    missing = [c for c in ("prediction_id", "label") if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"the labels table needs the columns prediction_id and label; missing "
            f"{', '.join(missing)} (has {', '.join(map(str, frame.columns))})",
            field=missing[0],
        )
    for i, record in enumerate(frame.to_dict("records")):
        yield f"labels[{i}]", record


def _mapping_records(labels: Mapping[Any, Any]) -> Iterator[tuple[str, Any]]:
    for key, label in labels.items():
        if isinstance(key, tuple) and len(key) == 2:
            yield f"labels[{key!r}]", {"prediction_id": key[0], "row": key[1], "label": label}
        else:
            yield f"labels[{key!r}]", {"prediction_id": key, "label": label}


def _item(where: str, record: Any) -> LabelItem:
    if not isinstance(record, Mapping):
        raise ValidationError(
            f"{where} must be an object with prediction_id and label, got {record!r}",
            field=where,
        )
    unknown = set(record) - {"prediction_id", "row", "label", "time"}
    if unknown:
        raise ValidationError(
            f"{where} has unknown fields {', '.join(sorted(map(str, unknown)))}; "
            "expected prediction_id, label, row, time",
            field=f"{where}.{sorted(map(str, unknown))[0]}",
        )
    pid = _scalar(record.get("prediction_id"))
    if not isinstance(pid, str) or not pid or len(pid) > MAX_ID_LENGTH:
        raise ValidationError(
            f"{where}.prediction_id must be the id a prediction answered with (1-"
            f"{MAX_ID_LENGTH} characters), got {pid!r}",
            field=f"{where}.prediction_id",
        )
    return LabelItem(
        pid,
        _row(record.get("row"), where),
        _label(record.get("label", None), where),
        _time(record.get("time"), where),
        where,
    )


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars → Python
    return item() if callable(item) and not isinstance(value, str) else value


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NaTType", "NAType")


def _row(value: Any, where: str) -> int:
    value = _scalar(value)
    if _missing(value):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"{where}.row must be the row's number in its request (0, 1, …), got {value!r}",
            field=f"{where}.row",
        )
    return value


def _label(value: Any, where: str) -> Any:
    value = _scalar(value)
    if _missing(value):
        raise ValidationError(f"{where}.label is missing", field=f"{where}.label")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            f"{where}.label must be a finite number, got {value!r}", field=f"{where}.label"
        )
    if not isinstance(value, bool | int | float | str):
        raise ValidationError(
            f"{where}.label must be a class (a string, number or boolean) or a number, got "
            f"{type(value).__name__}",
            field=f"{where}.label",
        )
    return value


def _time(value: Any, where: str) -> int | None:
    value = _scalar(value)
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValidationError(
        f"{where}.time must be when the label was known: epoch milliseconds or an ISO time "
        "like 2026-01-31T12:00:00Z",
        field=f"{where}.time",
    )
