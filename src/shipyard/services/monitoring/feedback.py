"""Ground truth: true labels for logged predictions, joined to them by prediction id.

``FeedbackService.record(model, labels)`` checks a batch (at most ``MAX_FEEDBACK_BATCH``
labels), finds its predictions in the model's prediction logs, checks each label against
what the answering version predicts (its class set, or a number for a regression), and
upserts the labels with one audit entry, all in one transaction. A repeated (id, row)
updates its label, never adds a row; repeats inside one batch with the same label are
collapsed, with different labels refused.

Finding the predictions reads only the logs of a bounded time range: prediction ids carry
their time (``formats.predictions.prediction_time``), so a batch reads the days its
predictions were made; ids without a time are looked up in the last ``lookback_days``. Ids
not found there are *accepted and marked unmatched*: counted and listed in the receipt,
stored with ``matched = False`` (the logs are written every few seconds, so a label may
arrive before its prediction's row), and used by realized metrics as soon as the logs hold
their rows. Their labels are checked against the model's latest version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ValidationError
from shipyard.core.feedback import FeedbackLabel, FeedbackReceipt
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.formats.predictions import DAY_MS, prediction_time
from shipyard.services.monitoring.feedback_input import LabelItem, read_items
from shipyard.services.monitoring.targets import Target, Targets
from shipyard.stores.ports import AuditLog, FeedbackStore, NewEntry, Transactions

__all__ = ["FeedbackService", "check_label"]


_BEFORE_MS = 60_000  # a prediction's logged time is after the time in its id…
_AFTER_MS = 600_000  # …by its latency (and a slow batch), never by ten minutes
UNKNOWN_LISTED = 100


class FeedbackService:
    def __init__(
        self,
        db: Transactions,
        reader: PredictionLogReader,
        targets: Targets,
        *,
        repo: FeedbackStore,
        audit: AuditLog,
        clock: Callable[[], int] = now_ms,
        lookback_days: int = 7,
    ) -> None:
        self.db = db
        self.reader = reader
        self.targets = targets
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.lookback_ms = lookback_days * DAY_MS

    def record(self, model: str, labels: Any, *, user: str) -> FeedbackReceipt:
        """Store the true labels of ``model``'s predictions (see the module's docstring)."""
        latest = self.targets.latest(model)
        items = read_items(labels)
        items, duplicates = _collapse(items)
        found = self._find(model, items)
        now = self.clock()
        stored = []
        for item in items:
            version, logged_at = found.get(item.key, (None, None))
            answering = version if version is not None else latest.version
            target = self.targets.of(model, answering)
            label = check_label(item.label, target, item.where, f"{model}@v{answering}")
            stored.append(
                FeedbackLabel(
                    model=model,
                    prediction_id=item.prediction_id,
                    row=item.row,
                    label=label,
                    label_time=item.time_ms if item.time_ms is not None else now,
                    prediction_time=(
                        logged_at if logged_at is not None else prediction_time(item.prediction_id)
                    ),
                    version=version,
                    matched=version is not None,
                )
            )
        return self._write(model, stored, duplicates, user, now)

    def _write(
        self, model: str, stored: list[FeedbackLabel], duplicates: int, user: str, now: int
    ) -> FeedbackReceipt:
        unknown = [x.prediction_id for x in stored if not x.matched]
        delays = [x.delay_ms for x in stored if x.delay_ms is not None]
        with self.db.write() as conn:
            existing = self.repo.existing(conn, model, [(x.prediction_id, x.row) for x in stored])
            self.repo.upsert(conn, stored, now, user)
            receipt = FeedbackReceipt(
                model=model,
                received=len(stored) + duplicates,
                inserted=len(stored) - len(existing),
                updated=len(existing),
                duplicates=duplicates,
                unknown=len(unknown),
                unknown_ids=tuple(dict.fromkeys(unknown))[:UNKNOWN_LISTED],
                mean_delay_ms=sum(delays) / len(delays) if delays else None,
            )
            payload = {k: v for k, v in receipt.to_dict().items() if k not in ("unknown_ids",)}
            entry = NewEntry(user, "feedback.record", "model", model, "", payload)
            self.audit.append(conn, [entry], now)
        return receipt

    def _find(self, model: str, items: list[LabelItem]) -> dict[tuple[str, int], Any]:
        """(version, logged time) of each item's prediction row found in the logs."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.array(sorted({x.prediction_id for x in items}), pa.string())
        wanted = {x.key for x in items}
        found: dict[tuple[str, int], tuple[int, int, bool]] = {}
        columns = ["_id", "_row", "_time", "_version", "_role"]
        for start, end in self._windows(x.prediction_id for x in items):
            for batch in self.reader.batches(model, start_ms=start, end_ms=end, columns=columns):
                hits = batch.filter(pc.is_in(batch.column("_id"), value_set=ids))
                if hits.num_rows:
                    _collect(hits, wanted, found)
        return {k: (v[0], v[1]) for k, v in found.items()}

    def _windows(self, pids: Iterable[str]) -> list[tuple[int, int]]:
        """The time ranges whose logs can hold the predictions (merged when they overlap)."""
        now = self.clock()
        times = [prediction_time(p) for p in pids]
        ranges = [(t - _BEFORE_MS, t + _AFTER_MS) for t in sorted({t for t in times if t})]
        if any(t is None for t in times):
            ranges.append((now - self.lookback_ms, now + _BEFORE_MS))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def _collect(
    hits: Any, wanted: set[tuple[str, int]], found: dict[tuple[str, int], tuple[int, int, bool]]
) -> None:
    """Keep each wanted row's version and time; the live answer wins over a shadow's."""
    import pyarrow as pa

    ids = hits.column("_id").to_pylist()
    rows = hits.column("_row").to_pylist()
    times = hits.column("_time").cast(pa.int64()).to_pylist()
    versions = hits.column("_version").to_pylist()
    roles = hits.column("_role").to_pylist()
    for pid, row, time_ms, version, role in zip(ids, rows, times, versions, roles, strict=True):
        key = (pid, int(row))
        if key not in wanted:
            continue
        shadow = role == "shadow"
        seen = found.get(key)
        if seen is None or (seen[2] and not shadow):
            found[key] = (int(version), int(time_ms), shadow)


def _collapse(items: list[LabelItem]) -> tuple[list[LabelItem], int]:
    """One item per (id, row): equal repeats collapse (counted); conflicting ones are refused."""
    first: dict[tuple[str, int], LabelItem] = {}
    for item in items:
        seen = first.get(item.key)
        if seen is None:
            first[item.key] = item
        elif seen.label != item.label or type(seen.label) is not type(item.label):
            raise ValidationError(
                f"{item.where} repeats prediction {item.prediction_id!r} (row {item.row}) of "
                f"{seen.where} with another label ({item.label!r} vs {seen.label!r}); send "
                "one label per prediction",
                field=f"{item.where}.prediction_id",
            )
    return list(first.values()), len(items) - len(first)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def check_label(value: Any, target: Target, where: str, ref: str) -> Any:
    """``value`` as ``target`` labels are (an integral 1.0 is the class 1), or a
    ``ValidationError`` naming ``where`` and what ``ref`` predicts."""
    field = f"{where}.label"
    if target.task == "regression":
        if _kind(value) != "number":
            raise ValidationError(
                f"{field} {value!r} is a {_kind(value)}; {ref} is a regression: send a number",
                field=field,
            )
        return float(value)
    if target.task != "classification" or not target.classes:
        return value
    classes = target.classes
    if _kind(value) != _kind(classes[0]):
        raise ValidationError(
            f"{field} {value!r} is a {_kind(value)}; {ref}'s classes are "
            f"{_kind(classes[0])}s: {', '.join(map(repr, classes[:20]))}",
            field=field,
        )
    if isinstance(value, float) and value.is_integer() and isinstance(classes[0], int):
        value = int(value)
    if value not in classes:
        raise ValidationError(
            f"{field} {value!r} is not one of {ref}'s classes "
            f"({', '.join(map(repr, classes[:20]))})",
            field=field,
        )
    return value
