"""``sy.monitor`` reads through a Shipyard server: the windows ``monitor run`` computed, from
``GET /api/v1/monitoring/windows`` (the same pages, newest first, as the local store gives)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.services.paging import Page

__all__ = ["RemoteMonitoring"]


def _window(d: Mapping[str, Any]) -> MonitorWindow:
    return MonitorWindow(
        window_id=int(d["id"]),
        model=str(d["model"]),
        env=str(d["environment"]),
        version=d.get("version"),
        start=int(d["start"]),
        end=int(d["end"]),
        status=WindowStatus(d["status"]),
        rows=int(d["rows"]),
        figures=dict(d.get("figures") or {}),
        computed=int(d["computed"]),
        verdicts=dict(d.get("verdicts") or {}),
    )


class RemoteMonitoring:
    """The monitoring reads of the SDK over a server (``call`` is the client's API call)."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self._call = call

    def windows(
        self,
        *,
        model: str | None = None,
        env: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Computed windows newest first, one page (as ``AlertService.windows``)."""
        wanted = {"model": model, "env": env, "cursor": cursor, "limit": limit}
        params = {k: v for k, v in wanted.items() if v is not None}
        body = self._call("GET", "/monitoring/windows", params=params)
        items = [_window(w) for w in body["windows"]]
        return Page(items, body.get("next_cursor"), int(body.get("total", len(items))))
