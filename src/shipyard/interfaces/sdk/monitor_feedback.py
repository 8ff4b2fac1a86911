"""Ground truth from the SDK: ``feedback(services, model, labels)`` and
``realized(services, model, …)``, on the local services or over a Shipyard server (when the
settings name one: ``POST /api/v1/feedback``, ``GET /api/v1/monitoring/realized``).

>>> feedback(services, "churn", {"a1b2c3d4-18c5f3e2a10-1f": 1})
>>> feedback(services, "churn", frame)   # prediction_id, label [, row, time]
>>> realized(services, "churn", start="7d").to_frame()
>>> export(services, "churn", since="7d", labelled=True)    # 'churn-feedback@v3'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.feedback import FeedbackReceipt
from shipyard.interfaces.presenters.monitoring_feedback import parse_time
from shipyard.services.monitoring.realized import RealizedMetrics, VersionRealized

__all__ = ["export", "feedback", "realized"]


def feedback(services: Any, model: str, labels: Any) -> FeedbackReceipt:
    """Record true labels of ``model``'s logged predictions: ``{prediction_id: label}``,
    ``{(prediction_id, row): label}``, a DataFrame with ``prediction_id`` and ``label``
    (optional ``row``, ``time``) or a list of such records; at most 10,000 a call."""
    local = getattr(services, "feedback", None)
    if local is not None:
        return local.record(model, labels, user=str(services.settings.actor))
    body = {"model": model, "labels": _records(labels)}
    got = services.tracking._call("POST", "/feedback", json=body)
    return FeedbackReceipt(**{**got, "unknown_ids": tuple(got.get("unknown_ids", ()))})


def realized(
    services: Any,
    model: str,
    *,
    version: int | None = None,
    env: str | None = None,
    start: str | int | None = None,
    end: str | int | None = None,
) -> RealizedMetrics:
    """Realized metrics per version on the labelled predictions made in ``[start, end)``
    (epoch ms, ISO times, or durations back from now like ``"1h"``); ``.to_frame()``."""
    now = now_ms()
    start_ms, end_ms = parse_time(start, "start", now), parse_time(end, "end", now)
    local = getattr(services, "realized", None)
    if local is not None:
        window = {"start_ms": start_ms, "end_ms": end_ms}
        return local.realized(model, version=version, env=env, **window)  # type: ignore[no-any-return]
    query = {"model": model, "version": version, "env": env, "start": start_ms, "end": end_ms}
    params = {k: v for k, v in query.items() if v is not None}
    got = services.tracking._call("GET", "/monitoring/realized", params=params)
    versions = tuple(VersionRealized(**v) for v in got["versions"])
    return RealizedMetrics(got["model"], got["env"], got["start_ms"], got["end_ms"], versions)


def export(
    services: Any,
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
    """Register ``model``'s predictions of ``[since, until)`` with their true labels as a
    new dataset version (``POST /api/v1/monitoring/export`` through a server); its ref."""
    options = {"env": env, "name": name, "mix_with": mix_with, "target": target}
    local = getattr(services, "export", None)
    if local is not None:
        now = now_ms()
        return local.export(  # type: ignore[no-any-return]
            model,
            since_ms=parse_time(since, "since", now),
            until_ms=parse_time(until, "until", now),
            labelled=labelled,
            user=str(services.settings.actor),
            **options,
        )
    body = {"model": model, "since": since, "until": until, "labelled": labelled, **options}
    sent = {k: v for k, v in body.items() if v is not None}
    got = services.tracking._call("POST", "/monitoring/export", json=sent)
    return str(got["ref"])


def _plain(value: Any) -> Any:
    if value is None or value != value:  # NaN, NaT: missing
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str) else value


def _records(labels: Any) -> Any:
    """The labels as the JSON records the REST API takes (checked by the server)."""
    if hasattr(labels, "columns") and hasattr(labels, "to_dict"):
        rows = labels.to_dict("records")
    elif isinstance(labels, Mapping):
        rows = [
            {"prediction_id": k[0], "row": k[1], "label": v}
            if isinstance(k, tuple) and len(k) == 2
            else {"prediction_id": k, "label": v}
            for k, v in labels.items()
        ]
    else:
        rows = labels
    if not isinstance(rows, list | tuple):
        return rows  # the server names what is wrong
    return [{k: _plain(v) for k, v in r.items()} if isinstance(r, Mapping) else r for r in rows]
