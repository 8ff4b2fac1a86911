"""Alert deliveries to webhooks: a JSON POST signed with HMAC-SHA256, retried with backoff.

A delivery row is written in the same transaction that opens the alert, so a failing or
unreachable receiver loses nothing: every run sends the deliveries that are due, one attempt
each, and a failed attempt waits ``backoff_ms(attempt)`` before the next, until the
policy's ``max_attempts`` (then it stays listed as failed). Each attempt is claimed with a
compare-and-set first, so two runners never send the same attempt twice.

The receiver checks ``X-Shipyard-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
with the secret of the environment variable the policy names (``secret_env``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.alerts import (
    Alert,
    AlertDelivery,
    DeliveryStatus,
    MonitorWindow,
    backoff_ms,
)
from shipyard.core.clock import now_ms
from shipyard.core.monitor_policy import AlertSinks
from shipyard.stores.ports import MonitorStore, Transactions

__all__ = [
    "SIGNATURE_HEADER",
    "DeliveryReport",
    "ModelNotices",
    "WebhookDeliveries",
    "WebhookSender",
    "alert_payload",
    "sign",
]

log = logging.getLogger("shipyard.monitoring.webhooks")

SIGNATURE_HEADER = "X-Shipyard-Signature"
MAX_ERROR_CHARS = 500
BATCH = 200  # deliveries sent per run at most


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_payload(alert: Alert, event: str, window: MonitorWindow) -> dict[str, Any]:
    """The JSON a webhook receives (the same bytes on every attempt)."""
    return {
        "event": f"alert.{event}",
        "alert": {
            "id": alert.alert_id,
            "model": alert.model,
            "environment": alert.env,
            "version": alert.version,
            "rule": alert.rule,
            "status": alert.status.value,
            "first_window": alert.first_window,
            "last_window": alert.last_window,
            "fired": alert.fired,
            "figures": dict(alert.figures),
        },
        "window": {"start": window.start, "end": window.end, "rows": window.rows},
    }


class WebhookSender:
    """POSTs one body; returns (status code, error) and never raises for network trouble."""

    def __init__(self, transport: Any = None) -> None:
        self.transport = transport  # an httpx transport (tests may pass one); None: the network

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int | None, str | None]:
        import httpx

        try:
            with httpx.Client(timeout=timeout_s, transport=self.transport) as client:
                answer = client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException:
            return None, f"timed out after {timeout_s:g} s"
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"[:MAX_ERROR_CHARS]
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass over the due deliveries did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class WebhookDeliveries:
    """Queues webhook deliveries with the alert, and sends the due ones."""

    def __init__(
        self,
        db: Transactions,
        repo: MonitorStore,
        *,
        secrets: Mapping[str, str],
        sender: WebhookSender | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.repo = repo
        self.secrets = secrets  # environment variables the policies name, read by settings
        self.sender = sender or WebhookSender()
        self.clock = clock

    def enqueue(
        self,
        conn: Any,
        alert: Alert,
        event: str,
        window: MonitorWindow,
        sinks: AlertSinks,
        now: int,
    ) -> int | None:
        """Write the delivery of ``event`` in the caller's unit of work (None: no webhook)."""
        if sinks.webhook is None:
            return None
        body = json.dumps(alert_payload(alert, event, window), sort_keys=True)
        return self.repo.add_delivery(
            conn, alert.alert_id, "webhook", sinks.webhook, f"alert.{event}", body, now
        )

    def enqueue_event(
        self,
        conn: Any,
        model: str,
        event: str,
        payload: Mapping[str, Any],
        sinks: AlertSinks,
        now: int,
    ) -> int | None:
        """Queue ``event`` of ``model`` (no alert: e.g. ``retraining.awaiting_approval``) to
        the model's webhook in the caller's unit of work; None when there is no webhook."""
        if sinks.webhook is None:
            return None
        body = json.dumps({"event": event, **payload}, sort_keys=True, default=str)
        return self.repo.add_delivery(
            conn, None, "webhook", sinks.webhook, event, body, now, model=model
        )

    def send_due(
        self, sinks_for: Callable[[str], AlertSinks | None], now: int | None = None
    ) -> DeliveryReport:
        """One attempt for each pending delivery whose retry time has come."""
        now = self.clock() if now is None else now
        with self.db.read() as conn:
            due = self.repo.due_deliveries(conn, now, BATCH)
            alerts = {
                d.alert_id: self.repo.get_alert(conn, d.alert_id)
                for d, _ in due
                if d.alert_id is not None
            }
        counts = {s: 0 for s in DeliveryStatus}
        for delivery, body in due:
            alert = None if delivery.alert_id is None else alerts.get(delivery.alert_id)
            model = delivery.model if alert is None else alert.model
            sinks = sinks_for(model) if model is not None else None
            outcome = self._attempt(delivery, body, sinks or AlertSinks(), now)
            if outcome is not None:
                counts[outcome] += 1
        return DeliveryReport(
            counts[DeliveryStatus.DELIVERED],
            counts[DeliveryStatus.PENDING],
            counts[DeliveryStatus.FAILED],
        )

    def _attempt(
        self, d: AlertDelivery, body: str, sinks: AlertSinks, now: int
    ) -> DeliveryStatus | None:
        hold = sinks.timeout_ms + 60_000  # a crashed sender's attempt is retried after this
        with self.db.write() as conn:
            if not self.repo.claim_delivery(conn, d, now, hold):
                return None  # another runner took this attempt
        attempt = d.attempt + 1
        raw = body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "shipyard-alerts",
            "X-Shipyard-Event": d.event,
            "X-Shipyard-Delivery": str(d.delivery_id),
        }
        secret = self.secrets.get(sinks.secret_env) if sinks.secret_env else None
        code: int | None = None
        error: str | None = None
        if sinks.secret_env and not secret:
            error = f"environment variable {sinks.secret_env} (secret_env) is not set"
        else:
            if secret:
                headers[SIGNATURE_HEADER] = sign(raw, secret)
            code, error = self.sender.post(d.target, raw, headers, sinks.timeout_ms / 1000)
        status = _status_after(error, attempt, sinks.max_attempts)
        values = {
            "status": status.value,
            "response_code": code,
            "error": error,
            "updated": self.clock(),
            "next_retry": now + backoff_ms(attempt) if status is DeliveryStatus.PENDING else None,
        }
        with self.db.write() as conn:
            self.repo.finish_delivery(conn, d.delivery_id, values)
        if error:
            log.warning(
                "webhook delivery %s (%s), attempt %s/%s: %s",
                d.delivery_id, d.event, attempt, sinks.max_attempts, error,
            )  # fmt: skip
        return status


def _status_after(error: str | None, attempt: int, max_attempts: int) -> DeliveryStatus:
    if error is None:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.FAILED if attempt >= max_attempts else DeliveryStatus.PENDING


class ModelNotices:
    """A model's events that are no alert, queued to the sinks of its ``[monitor.<model>]``
    policy (what retraining's ``ModelNotices`` port receives from the composition root)."""

    def __init__(
        self, deliveries: WebhookDeliveries, sinks_for: Callable[[str], AlertSinks | None]
    ) -> None:
        self.deliveries = deliveries
        self.sinks_for = sinks_for

    def queue(
        self, conn: Any, model: str, event: str, payload: Mapping[str, Any], now: int
    ) -> int | None:
        sinks = self.sinks_for(model)
        if sinks is None:
            return None
        return self.deliveries.enqueue_event(conn, model, event, payload, sinks, now)

    def send_due(self) -> DeliveryReport:
        """One attempt for every due delivery now (the notice just queued among them); a
        failed one waits its backoff for the monitor's next pass."""
        return self.deliveries.send_due(self.sinks_for)
