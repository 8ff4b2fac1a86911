"""The follow-up of a retraining an alert triggered: once the new version is live at 100 % in
the alert's environment, the first complete window that starts after its promotion is judged
by the alert's rule. The run records ``recovered`` (the rule no longer holds; the alert
resolves itself with a note naming the run) or ``not_recovered`` (the alert stays open,
noted), with the figures of the triggering window and of the window after; a canary that was
rolled back records ``rolled_back``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.core.deployments import Deployment
from shipyard.core.errors import NotFoundError, ShipyardError
from shipyard.core.retraining import LOOP_ACTOR, RetrainRun
from shipyard.services.retraining.steps import Collaborators
from shipyard.services.retraining.store import RunBook

__all__ = ["FollowUp"]

log = logging.getLogger("shipyard.retraining")


class FollowUp:
    """Records the outcome of the model's deployed runs whose outcome is pending."""

    def __init__(self, book: RunBook, parts: Collaborators) -> None:
        self.book, self.parts = book, parts

    def check(self, model: str) -> list[RetrainRun]:
        """Look at every pending run of ``model``; the runs whose outcome got recorded."""
        with self.book.db.read() as conn:
            pending = self.book.repo.pending_outcomes(conn, model)
        done = []
        for run in pending:
            try:
                judged = self._check(run)
            except ShipyardError as e:  # e.g. the alert vanished: retried on the next tick
                log.warning("follow-up of retraining run %s: %s", run.run_id, e.message)
                continue
            if judged is not None:
                done.append(judged)
        return done

    def _check(self, run: RetrainRun) -> RetrainRun | None:
        detail = run.trigger_detail
        env = str(detail.get("env") or run.environment)
        rule = str(detail.get("rule", ""))
        try:
            d = self.parts.deployments.get(env, run.register_as)
        except NotFoundError:
            return None
        if d.candidate_version == run.version:
            return None  # still rolling out
        follow: dict[str, Any] = dict(run.follow_up or {})
        if d.live_version != run.version:
            deployed_here = (run.deployment or {}).get("environment") == env
            if not deployed_here and "promoted_at" not in follow:
                return None  # not rolled out there yet (a person may still do it)
            return self._rolled_back(run, d, env)
        promoted_at = int(follow.get("promoted_at") or d.update_time)
        if "promoted_at" not in follow:
            follow.update(promoted_at=promoted_at, environment=env)
            run = self.book.note(run, {"follow_up": follow})
        after = self._first_window(run, env, promoted_at, rule)
        if after is None:
            return None  # no complete window after the promotion yet
        return self._judged(run, follow, after, rule)

    def _first_window(
        self, run: RetrainRun, env: str, promoted_at: int, rule: str
    ) -> MonitorWindow | None:
        for w in self.parts.alerts.windows_from(run.register_as, env, promoted_at):
            if w.status is not WindowStatus.COMPUTED or w.version != run.version:
                continue
            if w.verdicts.get(rule) is not None:
                return w
        return None

    def _judged(
        self, run: RetrainRun, follow: dict[str, Any], after: MonitorWindow, rule: str
    ) -> RetrainRun:
        before = self._before(run)
        names = list(before["figures"]) or list(after.figures)
        follow.update(
            alert_id=run.trigger_detail.get("alert_id"),
            rule=rule,
            version=run.version,
            before=before,
            after={
                "window": after.start,
                "end": after.end,
                "rows": after.rows,
                "figures": {n: after.figures[n] for n in names if n in after.figures},
            },
        )
        recovered = after.verdicts.get(rule) is False
        outcome = "recovered" if recovered else "not_recovered"
        shown = _figures(before["figures"], follow["after"]["figures"])
        verb = "no longer holds" if recovered else "still holds"
        reason = (
            f"{outcome}: {rule!r} {verb} in the first window after v{run.version} went live "
            f"in {follow['environment']} (window from {after.start}; {shown})"
        )
        done = self.book.record_outcome(run, outcome, follow, reason)
        if done.outcome == outcome:
            self._tell_alert(done, f"retraining run {run.run_id}: {reason}", resolve=recovered)
        return done

    def _rolled_back(self, run: RetrainRun, d: Deployment, env: str) -> RetrainRun:
        follow = {**(run.follow_up or {}), "environment": env, "live_version": d.live_version}
        reason = (
            f"rolled_back: v{run.version} is not live in {env} (v{d.live_version} is); the "
            "alert stays open"
        )
        done = self.book.record_outcome(run, "rolled_back", follow, reason)
        if done.outcome == "rolled_back":
            self._tell_alert(done, f"retraining run {run.run_id}: {reason}", resolve=False)
        return done

    def _before(self, run: RetrainRun) -> dict[str, Any]:
        """The triggering window: as recorded with the trigger, else the alert's figures."""
        detail = run.trigger_detail
        figures, window = detail.get("figures"), detail.get("window")
        alert_id = detail.get("alert_id")
        if not isinstance(figures, Mapping) and isinstance(alert_id, int):
            alert = self.parts.alerts.get(alert_id)
            figures, window = alert.figures, alert.last_window
        return {"window": window, "figures": dict(figures) if isinstance(figures, Mapping) else {}}

    def _tell_alert(self, run: RetrainRun, note: str, *, resolve: bool) -> None:
        alert_id = run.trigger_detail.get("alert_id")
        if not isinstance(alert_id, int):
            return
        with contextlib.suppress(ShipyardError):  # the run keeps the outcome either way
            if resolve:
                self.parts.alerts.settle(alert_id, note[:2000], actor=LOOP_ACTOR)
            else:
                self.parts.alerts.annotate(alert_id, note[:2000], actor=LOOP_ACTOR)


def _figures(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    names = sorted(set(before) | set(after))
    return ", ".join(f"{n} {_num(before.get(n))} → {_num(after.get(n))}" for n in names)


def _num(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "n/a"
