"""Realized metrics: the model's logged predictions joined to their true labels by
prediction id and row, per version, over a time window.

The logs are streamed (``formats.prediction_reader``: only ``_id``, ``_row``, ``_time``,
``_version``, ``_prediction`` and ``_proba`` are read, batch by batch), each batch is cut
to the rows that have a label before anything is converted, so memory holds the labels of
the window and one batch. Classification metrics use the version's class set (positive
class ``classes_[1]``; the logged ``_proba`` is its probability); regression metrics the
logged numbers (``core.realized_metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.realized_metrics import classification_metrics, regression_metrics
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.monitoring.targets import Target, Targets
from shipyard.stores.ports import FeedbackStore, Transactions

__all__ = ["RealizedMetrics", "RealizedService", "VersionRealized"]

_SLACK_MS = 600_000  # a label's stored prediction time may precede the logged one
_COLUMNS = ["_id", "_row", "_time", "_version", "_prediction", "_proba"]


@dataclass(frozen=True)
class VersionRealized:
    """One version's realized metrics: ``metrics`` maps a name to its value (None when it
    cannot be computed on these rows, e.g. roc_auc with one class only)."""

    version: int
    task: str  # classification | regression
    predictions: int  # rows the version answered in the window
    labelled: int  # of which have a label
    mean_delay_ms: float | None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RealizedMetrics:
    """Realized metrics of ``model`` per version over ``[start_ms, end_ms)``."""

    model: str
    env: str | None
    start_ms: int | None
    end_ms: int | None
    versions: tuple[VersionRealized, ...]

    def to_frame(self) -> Any:
        """One row per (version, metric): version, metric, value, labelled, predictions."""
        import pandas as pd

        columns = ["version", "metric", "value", "labelled", "predictions"]
        rows = [
            [v.version, name, value, v.labelled, v.predictions]
            for v in self.versions
            for name, value in v.metrics.items()
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "env": self.env,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "versions": [
                {
                    "version": v.version,
                    "task": v.task,
                    "predictions": v.predictions,
                    "labelled": v.labelled,
                    "mean_delay_ms": v.mean_delay_ms,
                    "metrics": dict(v.metrics),
                }
                for v in self.versions
            ],
        }


@dataclass
class _Joined:
    """The labelled rows of one version, gathered batch by batch."""

    predictions: int = 0
    labels: list[Any] = field(default_factory=list)
    predicted: list[Any] = field(default_factory=list)
    proba: list[float | None] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)


class RealizedService:
    def __init__(
        self,
        db: Transactions,
        reader: PredictionLogReader,
        targets: Targets,
        *,
        repo: FeedbackStore,
    ) -> None:
        self.db = db
        self.reader = reader
        self.targets = targets
        self.repo = repo

    def realized(
        self,
        model: str,
        *,
        version: int | None = None,
        env: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        labelled_only: bool = False,
    ) -> RealizedMetrics:
        """Realized metrics of ``model`` (one version or all) on the predictions made in
        ``[start_ms, end_ms)`` (open where None) that have a label. ``labelled_only`` leaves
        out the versions without a label (no log is read when no label is stored near the
        window, and no model is loaded for an unlabelled version), as ``monitor run`` wants."""
        self.targets.latest(model)
        if version is not None:
            self.targets.version(model, version)
        _check_window(start_ms, end_ms)
        low = None if start_ms is None else start_ms - _SLACK_MS
        high = None if end_ms is None else end_ms + _SLACK_MS
        with self.db.read() as conn:
            labels = self.repo.labels(conn, model, low, high)
        index = {(x.prediction_id, x.row): (x.label, x.label_time) for x in labels}
        if labelled_only and not index:
            return RealizedMetrics(model, env, start_ms, end_ms, ())
        joined = self._join(model, version, env, start_ms, end_ms, index)
        if labelled_only:
            joined = {v: rows for v, rows in joined.items() if rows.labels}
        versions = tuple(self._version(model, v, joined[v]) for v in sorted(joined))
        return RealizedMetrics(model, env, start_ms, end_ms, versions)

    def labels_state(self, model: str) -> tuple[int, int]:
        """(labels stored for ``model``, latest recording time): equal states mean no label
        was added or changed in between."""
        with self.db.read() as conn:
            return self.repo.changes(conn, model)

    def _join(
        self,
        model: str,
        version: int | None,
        env: str | None,
        start_ms: int | None,
        end_ms: int | None,
        index: dict[tuple[str, int], tuple[Any, int]],
    ) -> dict[int, _Joined]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.array(sorted({pid for pid, _ in index}), pa.string())
        joined: dict[int, _Joined] = {}
        window = {"start_ms": start_ms, "end_ms": end_ms}
        batches = self.reader.batches(model, version=version, env=env, columns=_COLUMNS, **window)
        for batch in batches:
            numbers, counts = np.unique(batch.column("_version").to_numpy(), return_counts=True)
            for v, n in zip(numbers.tolist(), counts.tolist(), strict=True):
                joined.setdefault(int(v), _Joined()).predictions += int(n)
            if len(ids):
                hits = batch.filter(pc.is_in(batch.column("_id"), value_set=ids))
                if hits.num_rows:
                    _gather(hits, index, joined)
        return joined

    def _version(self, model: str, version: int, rows: _Joined) -> VersionRealized:
        target = self.targets.of(model, version)
        if target.task == "unknown":
            target = _guess(rows)
        delay = sum(rows.delays) / len(rows.delays) if rows.delays else None
        if target.task == "regression":
            metrics = regression_metrics(_numbers(rows.labels), _numbers(rows.predicted))
        else:
            classes = target.classes or ()
            proba = None
            if rows.proba and any(p is not None for p in rows.proba):
                proba = [float("nan") if p is None else p for p in rows.proba]
            metrics = classification_metrics(
                _values(rows.labels), _values(rows.predicted), proba, classes
            )
        return VersionRealized(
            version, target.task, rows.predictions, len(rows.labels), delay, metrics
        )


def _gather(
    hits: Any, index: dict[tuple[str, int], tuple[Any, int]], joined: dict[int, _Joined]
) -> None:
    import pyarrow as pa

    columns = {name: hits.column(name) for name in _COLUMNS}
    times = columns["_time"].cast(pa.int64()).to_pylist()
    probas = columns["_proba"].to_pylist()
    rows = zip(
        columns["_id"].to_pylist(),
        columns["_row"].to_pylist(),
        times,
        columns["_version"].to_pylist(),
        columns["_prediction"].to_pylist(),
        probas,
        strict=True,
    )
    for pid, row, time_ms, version, predicted, proba in rows:
        found = index.get((pid, int(row)))
        if found is None:
            continue
        label, label_time = found
        into = joined[int(version)]
        into.labels.append(label)
        into.predicted.append(predicted)
        into.proba.append(proba)
        into.delays.append(label_time - int(time_ms))


def _values(values: list[Any]) -> Any:
    import numpy as np

    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)  # 1 and 1.0 are the same class
    return np.asarray(values, dtype=object)


def _numbers(values: list[Any]) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.float64)


def _guess(rows: _Joined) -> Target:
    """The task of a model monitoring could not read: regression when every prediction is
    a number and some is not whole, else classification over the values seen."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in rows.predicted)
    if numbers and any(isinstance(v, float) and not v.is_integer() for v in rows.predicted):
        return Target("regression")
    seen = set(rows.labels) | set(rows.predicted)
    return Target("classification", tuple(sorted(seen, key=lambda v: (str(type(v)), v))))


def _check_window(start_ms: int | None, end_ms: int | None) -> None:
    for name, value in (("start", start_ms), ("end", end_ms)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(f"{name} must be epoch milliseconds, got {value!r}", field=name)
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise ValidationError(
            f"the window ends ({end_ms}) before it starts ({start_ms}); end must be after start",
            field="end",
        )
