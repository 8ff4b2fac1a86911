"""``monitor run``: compute every due window of every monitored deployment, judge the rules,
open, update and resolve alerts, and send the deliveries that are due.

For each model with a ``[monitor.<model>]`` policy and a deployment, the windows aligned to
the policy's window that ended (``delay`` ago) since its live version went live (at most a
week back) and are not yet in ``monitor_windows`` are computed, oldest first, by the injected
:class:`WindowEvaluator`. A window and the alert changes it causes are written in one
transaction, after a once-only insert of the window: a window is never computed twice, and
two runners racing on it alert once. Running again computes nothing new and sends nothing
twice. Inside ``shipyard server`` each monitored model is a job of the scheduler, run every
``schedule`` (default: the window) once across replicas.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.core.clock import now_ms
from shipyard.core.deployments import Deployment
from shipyard.core.errors import NotFoundError, ShipyardError, ValidationError
from shipyard.core.monitor_policy import (
    AlertSinks,
    MonitorPolicy,
    due_windows,
    parse_monitor_policies,
)
from shipyard.services.monitoring.alerts import AlertService
from shipyard.services.monitoring.webhooks import DeliveryReport, WebhookDeliveries
from shipyard.services.ports import DeployedModels, PeriodicJobs
from shipyard.stores.sql.monitors_repo import NewWindow

__all__ = [
    "LOOKBACK_MS",
    "MAX_WINDOWS_PER_RUN",
    "AlertEvent",
    "MonitorRunner",
    "RunReport",
    "WindowEvaluator",
    "WindowFigures",
]

log = logging.getLogger("shipyard.monitoring")

LOOKBACK_MS = 7 * 86_400_000  # windows older than this are never backfilled
MAX_WINDOWS_PER_RUN = 500  # per model and environment; the rest wait for the next run


@dataclass(frozen=True)
class WindowFigures:
    """What an evaluator found in one window: its row count and named figures
    (``drift_share``, ``drift.income``, ``estimated.roc_auc``, ``missing.email`` …)."""

    rows: int
    figures: Mapping[str, float]


class WindowEvaluator(Protocol):
    """Computes one window's figures (drift, estimated and realized metrics, …)."""

    def evaluate(
        self, model: str, env: str, version: int | None, start_ms: int, end_ms: int
    ) -> WindowFigures: ...


@dataclass(frozen=True)
class AlertEvent:
    alert_id: int
    event: str  # opened | reopened | updated | resolved
    model: str
    env: str
    rule: str
    window: int


@dataclass(frozen=True)
class RunReport:
    """What one run did: the windows it computed, the alert changes, the deliveries."""

    windows: list[MonitorWindow] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    deliveries: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)


class MonitorRunner:
    """Runs the monitors of ``policies`` (the ``[monitor]`` table) over ``deployments``."""

    def __init__(
        self,
        db: Any,
        *,
        policies: Mapping[str, object],
        deployments: DeployedModels,
        evaluator: WindowEvaluator,
        alerts: AlertService,
        webhooks: WebhookDeliveries,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.raw_policies = policies
        self.deployments = deployments
        self.evaluator = evaluator
        self.alerts = alerts
        self.webhooks = webhooks
        self.clock = clock
        self._parsed: dict[str, MonitorPolicy] | None = None
        self._stop = threading.Event()

    def policies(self) -> dict[str, MonitorPolicy]:
        """The parsed policies (a malformed one raises a ValidationError naming its key)."""
        if self._parsed is None:
            self._parsed = parse_monitor_policies(self.raw_policies)
        return self._parsed

    # ------------------------------------------------------------ running
    def run(self, model: str | None = None, once: bool = True, now: int | None = None) -> RunReport:
        """Compute every due window (of ``model``, else of every monitored model), judge the
        rules, change alerts, send due deliveries. ``once=False`` repeats every schedule
        until :meth:`stop`; the last pass's report is returned."""
        while True:
            report = self._pass(model, now)
            if once or self._stop.wait(self._pause_s(model)):
                return report

    def stop(self) -> None:
        self._stop.set()

    def _pause_s(self, model: str | None) -> float:
        chosen = [p for m, p in self.policies().items() if model is None or m == model]
        return min((p.schedule_ms for p in chosen), default=60_000) / 1000

    def _pass(self, model: str | None, now: int | None) -> RunReport:
        policies = self.policies()
        if model is not None and model not in policies:
            raise NotFoundError(
                f"model {model!r} has no [monitor.{model}] policy in shipyard.toml; monitored: "
                f"{', '.join(policies) or 'none'}",
                field="model",
            )
        now = self.clock() if now is None else now
        report = RunReport()
        for d in self.deployments.list():
            policy = policies.get(d.model)
            if policy is None or (model is not None and d.model != model):
                continue
            if policy.watches(d.environment) and d.live_version is not None:
                self._deployment(policy, d, now, report)
        sent = self.webhooks.send_due(self.sinks, now)
        return RunReport(report.windows, report.events, sent, report.errors)

    def sinks(self, model: str) -> AlertSinks | None:
        """The alert sinks of ``model``'s policy (None: not monitored, or a malformed
        policy, which ``shipyard monitor run`` names)."""
        try:
            policy = self.policies().get(model)
        except ValidationError:
            return None
        return None if policy is None else policy.alerts

    def _deployment(self, policy: MonitorPolicy, d: Deployment, now: int, out: RunReport) -> None:
        since = max(self._live_since(d), now - LOOKBACK_MS)
        candidates = due_windows(since, now, policy.window_ms, delay_ms=policy.delay_ms)
        if not candidates:
            return
        with self.db.read() as conn:
            done = self.alerts.repo.computed_windows(conn, d.model, d.environment, candidates[0][0])
        todo = [w for w in candidates if w not in done][:MAX_WINDOWS_PER_RUN]
        for start, end in todo:
            try:
                found = self.evaluator.evaluate(d.model, d.environment, d.live_version, start, end)
            except ShipyardError as e:  # e.g. a column missing from the logs: retried next run
                out.errors.append(f"{d.environment}/{d.model} window {start}: {e.message}")
                log.warning("monitor %s/%s window %s: %s", d.environment, d.model, start, e)
                return
            self._record(policy, d, start, end, found, now, out)

    def _live_since(self, d: Deployment) -> int:
        """Since when ``d``'s live version serves: its windows count from then, not from the
        deployment's last change (a canary step must not skip a window that fell due just
        before it and was not computed yet)."""
        since = self.deployments.live_since(d.environment, d.model)
        return d.update_time if since is None else min(since, d.update_time)

    def _record(
        self,
        policy: MonitorPolicy,
        d: Deployment,
        start: int,
        end: int,
        found: WindowFigures,
        now: int,
        out: RunReport,
    ) -> None:
        rows = _rows(found.rows)
        enough = rows >= policy.min_rows
        verdicts = {r.text: r.judge(found.figures) for r in policy.rules} if enough else {}
        new = NewWindow(
            d.model, d.environment, d.live_version, start, end,
            WindowStatus.COMPUTED if enough else WindowStatus.NOT_ENOUGH_DATA,
            rows, dict(found.figures), verdicts, now,
        )  # fmt: skip
        with self.db.write() as conn:
            window_id = self.alerts.repo.add_window(conn, new)
            if window_id is None:
                return  # another runner computed this window first
            window = MonitorWindow(
                window_id, new.model, new.env, new.version, start, end, new.status, rows,
                new.figures, now, verdicts,
            )  # fmt: skip
            out.windows.append(window)
            for rule in policy.rules:
                self._judged(
                    conn, policy, window, rule.text, rule.names, verdicts.get(rule.text), out
                )

    def _judged(
        self,
        conn: Any,
        policy: MonitorPolicy,
        window: MonitorWindow,
        rule: str,
        names: tuple[str, ...],
        verdict: bool | None,
        out: RunReport,
    ) -> None:
        now = window.computed
        if verdict is None:  # not enough data, or a figure it needs is missing
            return
        if verdict is False:
            resolved = self.alerts.clear(conn, window, rule, now)
            if resolved is not None:
                out.events.append(_event(resolved.alert_id, "resolved", window, rule))
            return
        figures = {n: window.figures[n] for n in names if n in window.figures}
        fired = self.alerts.fire(conn, window, rule, figures, policy.alerts.cooldown_ms, now)
        out.events.append(_event(fired.alert.alert_id, fired.event, window, rule))
        if fired.event == "opened":
            self.webhooks.enqueue(conn, fired.alert, fired.event, window, policy.alerts, now)

    # ------------------------------------------------------------ the scheduler
    def register_jobs(self, jobs: PeriodicJobs) -> list[str]:
        """One job per monitored model (``monitor:<model>``) every ``schedule``. A malformed
        policy is logged and registers nothing (``shipyard monitor run`` names the key)."""
        try:
            policies = self.policies()
        except ValidationError as e:
            log.error("monitors not scheduled: %s", e.message)
            return []
        names = []
        for model, policy in policies.items():
            name = f"monitor:{model}"
            jobs.register(name, policy.schedule_ms / 1000, _job(self, model))
            names.append(name)
        return names


def _job(runner: MonitorRunner, model: str) -> Callable[[], None]:
    def run() -> None:
        report = runner.run(model=model)
        if report.errors:
            raise RuntimeError("; ".join(report.errors[:3]))

    return run


def _event(alert_id: int, event: str, window: MonitorWindow, rule: str) -> AlertEvent:
    return AlertEvent(alert_id, event, window.model, window.env, rule, window.start)


def _rows(rows: object) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ValidationError(f"a window evaluator returned rows={rows!r}", field="rows")
    return rows
