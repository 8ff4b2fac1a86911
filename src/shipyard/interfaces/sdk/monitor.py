"""``sy.monitor``: drift, performance without labels, ground-truth feedback and realized
metrics, and the windows ``monitor run`` computed, over the session's project (dataset refs
are read through its catalog)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import parse_duration

if TYPE_CHECKING:
    from shipyard.core.feedback import FeedbackReceipt
    from shipyard.interfaces.sdk.fluent import Session
    from shipyard.services.monitoring.drift import DriftResult
    from shipyard.services.monitoring.estimation import PerformanceEstimate
    from shipyard.services.monitoring.realized import RealizedMetrics

__all__ = ["MonitorAPI", "MonitorReport"]


@dataclass(frozen=True)
class MonitorReport:
    """The windows ``monitor run`` computed for a model: figures and rule verdicts."""

    windows: tuple[Any, ...]

    def to_frame(self) -> Any:
        """One row per window: model, env, version, start, end, status, rows, and one column
        per figure (``drift_share``, ``drift.<column>``, ``mean.<column>`` …)."""
        import pandas as pd

        rows = [
            {
                "model": w.model,
                "env": w.env,
                "version": w.version,
                "start": w.start,
                "end": w.end,
                "status": w.status.value,
                "rows": w.rows,
                **dict(w.figures),
            }
            for w in self.windows
        ]
        return pd.DataFrame.from_records(rows)


class MonitorAPI:
    def __init__(self, session: Session) -> None:
        self._session = session

    def drift(
        self,
        reference: Any,
        current: Any,
        *,
        columns: Sequence[str] | None = None,
        chunk_size: int | None = None,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
        multivariate: bool = False,
    ) -> DriftResult:
        """Drift per (chunk, column) of ``current`` against ``reference`` (DataFrames, files,
        dataset refs or a stored profile); ``.to_frame()`` one row per (chunk, column)."""
        from shipyard.interfaces.sdk.monitor_drift import drift

        return drift(
            reference,
            current,
            columns=columns,
            chunk_size=chunk_size,
            methods=methods,
            thresholds=thresholds,
            multivariate=multivariate,
            catalog=self._session.services.catalog,
        )

    def estimate_performance(
        self,
        reference: Any,
        current: Any,
        *,
        y_true: str,
        y_pred_proba: str,
        y_pred: str | None = None,
        metrics: Sequence[str] | str = ("roc_auc", "accuracy"),
        chunk_size: int | None = None,
    ) -> PerformanceEstimate:
        """Estimated (and, with labels, realized) metrics per chunk; ``.to_frame()`` one row
        per (chunk, metric) with ``estimate``, ``lower``, ``upper`` and ``alert``."""
        from shipyard.interfaces.sdk.monitor_estimate import estimate_performance

        return estimate_performance(
            reference,
            current,
            y_true=y_true,
            y_pred_proba=y_pred_proba,
            y_pred=y_pred,
            metrics=metrics,
            chunk_size=chunk_size,
            catalog=self._session.services.catalog,
        )

    def feedback(self, model: str, labels: Any) -> FeedbackReceipt:
        """Record the true labels of ``model``'s logged predictions: ``{prediction_id:
        label}``, ``{(prediction_id, row): label}`` or a DataFrame with ``prediction_id`` and
        ``label``; a repeated id updates its label; unknown ids are counted and returned."""
        from shipyard.interfaces.sdk.monitor_feedback import feedback

        return feedback(self._session.services, model, labels)

    def realized(
        self,
        model: str,
        *,
        version: int | None = None,
        env: str | None = None,
        start: str | int | None = None,
        end: str | int | None = None,
    ) -> RealizedMetrics:
        """Realized metrics per version from the labels received (``.to_frame()``)."""
        from shipyard.interfaces.sdk.monitor_feedback import realized

        return realized(
            self._session.services, model, version=version, env=env, start=start, end=end
        )

    def export(
        self,
        model: str,
        *,
        since: str | int,
        labelled: bool = False,
        until: str | int | None = None,
        env: str | None = None,
        name: str | None = None,
        mix_with: str | None = None,
        target: str | None = None,
    ) -> str:
        """Production data into training data: ``model``'s logged predictions since
        ``since`` (``"7d"``, epoch ms, ISO) with their true labels in the target column,
        registered as a new version of ``name`` (default ``<model>-feedback``), optionally
        after the rows of ``mix_with``; returns its ref, e.g. ``"loans-feedback@v3"``."""
        from shipyard.interfaces.sdk.monitor_feedback import export

        return export(
            self._session.services,
            model,
            since=since,
            labelled=labelled,
            until=until,
            env=env,
            name=name,
            mix_with=mix_with,
            target=target,
        )

    def report(self, model: str, *, env: str | None = None, window: str = "1d") -> MonitorReport:
        """The windows ``shipyard monitor run`` computed for ``model`` over the last
        ``window`` (``1h``, ``7d`` …), oldest first; from the project's stores, or through
        the server when the session's tracking URI names one."""
        import time

        since = int(time.time() * 1000) - parse_duration(window, "window")
        alerts = getattr(self._session.services, "alerts", None)
        if alerts is None:
            raise ValidationError(
                "this session reaches no monitoring store: open the project or point "
                "SHIPYARD_TRACKING_URI at a Shipyard server",
                field="tracking_uri",
            )
        found: list[Any] = []
        cursor: str | None = None
        while True:
            page = alerts.windows(model=model, env=env, cursor=cursor, limit=500)
            found.extend(w for w in page.items if w.end > since)
            if page.next_cursor is None or (page.items and page.items[-1].end <= since):
                break
            cursor = page.next_cursor
        return MonitorReport(tuple(reversed(found)))
