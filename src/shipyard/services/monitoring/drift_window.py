"""A window evaluator that adds drift against the deployed version's reference profile to
the log statistics: ``drift_share`` and ``drift.<column>`` (the column's drift value under
its method, e.g. the Wasserstein distance in reference standard deviations), and
``output_drift``: the drift value of the model's output (the logged ``_proba`` of a binary
classifier, ``_prediction`` of a regressor) against the same output on the reference, when
the profile holds it. ``drift_share`` counts the features only.

Windows of versions without a recorded profile get the base figures only, so a rule on
``drift_share`` is "not evaluable" there rather than a false alarm; so do windows where no
column has enough values to judge (rather than a false "no drift", which would resolve an
alert and count as a recovered metric). The window's rows are read
through the prediction-log reader, at most ``max_rows`` of them (a uniform-in-time prefix
would bias; the reader streams in time order, so a cap keeps memory bounded and is reported
as ``drift_rows``).

The model's ``[monitor]`` policy chooses the features watched (``features``), the method per
column or kind (``methods``) and the limits (``thresholds``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core.errors import NotFoundError
from shipyard.core.monitor_policy import MonitorPolicy, parse_monitor_policies
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.monitoring.profile_store import OUTPUT_COLUMNS, ProfileService
from shipyard.services.monitoring.runner import WindowEvaluator, WindowFigures

__all__ = ["DriftWindowEvaluator"]

MAX_ROWS = 1_000_000


class DriftWindowEvaluator:
    """``base``'s figures plus drift of the window's logged inputs against the profile."""

    def __init__(
        self,
        base: WindowEvaluator,
        reader: PredictionLogReader,
        profiles: ProfileService,
        *,
        policies: Mapping[str, object] | None = None,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.base = base
        self.reader = reader
        self.profiles = profiles
        self.raw_policies = policies or {}
        self.max_rows = max_rows
        self._parsed: dict[str, MonitorPolicy] | None = None

    def policy(self, model: str) -> MonitorPolicy | None:
        """The model's parsed ``[monitor]`` policy (the runner has refused a malformed one)."""
        if self._parsed is None:
            self._parsed = parse_monitor_policies(self.raw_policies)
        return self._parsed.get(model)

    def evaluate(
        self, model: str, env: str, version: int | None, start_ms: int, end_ms: int
    ) -> WindowFigures:
        found = self.base.evaluate(model, env, version, start_ms, end_ms)
        if version is None or found.rows == 0:
            return found
        try:
            profile = self.profiles.for_model(f"{model}@{version}")
        except NotFoundError:
            return found
        from shipyard.services.monitoring.drift import drift

        policy = self.policy(model)
        watched = policy.features if policy is not None else None
        columns = [
            c for c in profile.columns if watched is None or c in watched or c in OUTPUT_COLUMNS
        ]
        current = self._rows(model, env, version, start_ms, end_ms, columns)
        options = _drift_options(policy) if policy is not None else {}
        result = drift(profile, current, columns=columns, **options)
        figures = dict(found.figures)
        figures["drift_rows"] = float(len(current))
        share = _feature_share(result.verdicts)
        if share is not None:  # too few values of every feature: not evaluable, not "no drift"
            figures["drift_share"] = share
        for item in result.verdicts:
            value, column = item.verdict.value, item.verdict.column
            if value is None:
                continue
            name = "output_drift" if column in OUTPUT_COLUMNS else f"drift.{column}"
            figures[name] = float(value)
        return WindowFigures(found.rows, figures)

    def _rows(
        self,
        model: str,
        env: str,
        version: int,
        start_ms: int,
        end_ms: int,
        columns: list[str],
    ) -> Any:
        import pyarrow as pa

        batches = self.reader.head(
            model, self.max_rows, version=version, env=env, start_ms=start_ms, end_ms=end_ms,
            columns=columns,
        )  # fmt: skip
        table = pa.Table.from_batches(batches)
        for i, name in enumerate(table.column_names):
            if name in OUTPUT_COLUMNS:  # nulls where older files logged none: still numbers
                table = table.set_column(i, name, table.column(i).cast(pa.float64()))
        return table.to_pandas()


# The policy names methods as its rules do; the drift module by their scipy names. The
# domain classifier needs the reference's rows, which a stored profile does not hold.
_METHOD_NAMES = {"jensen_shannon": "jensenshannon", "l_infinity": "linf"}
_PER_WINDOW = ("domain_classifier", "drift_share", "p_value")


def _drift_options(policy: MonitorPolicy) -> dict[str, Any]:
    """``drift()``'s methods and thresholds from the policy."""
    methods = {
        key: _METHOD_NAMES.get(m, m) for key, m in policy.methods.items() if m not in _PER_WINDOW
    }
    thresholds = {
        _METHOD_NAMES.get(m, m): limit
        for m, limit in policy.thresholds.items()
        if m not in _PER_WINDOW
    }
    return {"methods": methods or None, "thresholds": thresholds or None}


def _feature_share(verdicts: Any) -> float | None:
    """The share of judged features (the model's output left out) that drifted; None when
    no feature had enough values to be judged."""
    from shipyard.core.drift import NOT_ENOUGH_DATA

    features = [v.verdict for v in verdicts if v.verdict.column not in OUTPUT_COLUMNS]
    judged = {v.column for v in features if v.state != NOT_ENOUGH_DATA}
    drifted = {v.column for v in features if v.drifted}
    return len(drifted) / len(judged) if judged else None
