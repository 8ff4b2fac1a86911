"""Webhook deliveries against a real receiver on loopback: the HMAC-SHA256 signature, a
receiver answering 500 or timing out, retries with backoff until success, giving up after
``max_attempts`` (the delivery stays listed), a missing secret named."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from shipyard.core.alerts import DeliveryStatus, backoff_ms
from shipyard.services.monitoring.webhooks import sign
from tests.services.monitoring.conftest import Receiver, World, open_services, policy

AGED = [60.0, 70.0, 55.0, 65.0, 80.0]
EMAILS = ["a@x", "b@x", "c@x", "d@x", "e@x"]
HOURS_LATER = 10 * 3_600_000


def _fired(make: Callable[[dict], World], url: str) -> World:
    """A world whose rule fires in hour 0 (nothing computed or sent yet)."""
    w = make(policy(url, rules=["mean.age > 50"]))
    w.log(0, AGED, EMAILS)
    return w


def test_sign_is_hmac_sha256_of_the_body() -> None:
    body = b'{"event": "alert.opened"}'
    assert sign(body, "k") == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign(body, "k") != sign(body + b" ", "k")


def test_a_500_is_retried_with_backoff_until_it_succeeds(
    world_factory: Callable[[dict], World], receiver: Receiver
) -> None:
    receiver.modes = ["500"]
    w = _fired(world_factory, receiver.url)
    now = w.at(1)
    first = w.svc.monitor_runner.run(now=now)
    (alert_id,) = {e.alert_id for e in first.events}
    assert (first.deliveries.delivered, first.deliveries.retrying) == (0, 1)
    (d,) = w.svc.alerts.deliveries(alert_id)
    assert (d.status, d.attempt, d.response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert d.next_retry == now + backoff_ms(1) and "HTTP 500" in (d.error or "")
    early = w.svc.monitor_runner.run(now=now + backoff_ms(1) - 1)  # not due yet: not sent
    assert early.deliveries.delivered + early.deliveries.retrying == 0
    later = w.svc.monitor_runner.run(now=now + backoff_ms(1))
    assert later.deliveries.delivered == 1
    (d,) = w.svc.alerts.deliveries(alert_id)
    assert (d.status, d.attempt, d.response_code, d.error) == (
        DeliveryStatus.DELIVERED, 2, 204, None,
    )  # fmt: skip
    assert len(receiver.received) == 1 and receiver.bad_signatures == 0
    assert w.svc.monitor_runner.run(now=now + HOURS_LATER).deliveries.delivered == 0


def test_a_receiver_that_times_out_loses_nothing(
    world_factory: Callable[[dict], World], receiver: Receiver
) -> None:
    receiver.modes = ["slow"]  # sleeps past the policy's 1 s timeout
    w = _fired(world_factory, receiver.url)
    now = w.at(1)
    report = w.svc.monitor_runner.run(now=now)
    (alert_id,) = {e.alert_id for e in report.events}
    (d,) = w.svc.alerts.deliveries(alert_id)
    assert (d.status, d.attempt, d.response_code) == (DeliveryStatus.PENDING, 1, None)
    assert d.error == "timed out after 1 s"
    assert w.svc.monitor_runner.run(now=now + backoff_ms(1)).deliveries.delivered == 1
    assert [r["body"]["alert"]["id"] for r in receiver.received] == [alert_id]


def test_giving_up_after_max_attempts_keeps_the_delivery_listed(
    world_factory: Callable[[dict], World], receiver: Receiver
) -> None:
    receiver.modes = ["500", "500", "500", "500"]
    w = _fired(world_factory, receiver.url)
    now = w.at(1)
    runs = [w.svc.monitor_runner.run(now=now)]
    (alert_id,) = {e.alert_id for e in runs[0].events}
    now += backoff_ms(1)
    runs.append(w.svc.monitor_runner.run(now=now))
    now += backoff_ms(2)
    runs.append(w.svc.monitor_runner.run(now=now))
    assert [r.deliveries.failed for r in runs] == [0, 0, 1]  # max_attempts = 3
    (d,) = w.svc.alerts.deliveries(alert_id)
    assert (d.status, d.attempt, d.next_retry) == (DeliveryStatus.FAILED, 3, None)
    assert w.svc.monitor_runner.run(now=now + HOURS_LATER).deliveries.failed == 0
    assert receiver.modes == ["500"] and receiver.received == []


def test_a_missing_secret_is_named_and_retried(
    world_factory: Callable[[dict], World], receiver: Receiver, tmp_path, db_url: str
) -> None:
    w = world_factory(policy(receiver.url, rules=["mean.age > 50"]))
    w.log(0, AGED, EMAILS)
    no_secret = open_services(tmp_path, db_url, policy(receiver.url, rules=["mean.age > 50"]))
    try:
        no_secret.monitor_runner.webhooks.secrets = {}
        report = no_secret.monitor_runner.run(now=w.at(1))
    finally:
        no_secret.close()
    (alert_id,) = {e.alert_id for e in report.events}
    (d,) = w.svc.alerts.deliveries(alert_id)
    assert d.status is DeliveryStatus.PENDING
    assert d.error == "environment variable HOOK_SECRET (secret_env) is not set"
    assert receiver.received == []
    assert w.svc.monitor_runner.run(now=w.at(1) + backoff_ms(1)).deliveries.delivered == 1
