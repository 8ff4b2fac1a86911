"""Shipyard: continuous delivery for machine learning.

``import shipyard as sy`` stays light: the SDK facade is loaded on first attribute access.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "__version__",
    "active_run",
    "data",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "log_artifact",
    "log_dict",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

__version__ = "0.1.0"

_FACADE = {
    "active_run": "active_run",
    "data": "data",
    "end_run": "end_run",
    "flush": "flush",
    "get_metric_history": "metric_history",
    "get_run": "get_run",
    "log_artifact": "log_artifact",
    "log_dict": "log_dict",
    "log_input": "log_input",
    "log_metric": "log_metric",
    "log_metrics": "log_metrics",
    "log_param": "log_param",
    "log_params": "log_params",
    "search_runs": "search_runs",
    "set_tag": "set_tag",
    "set_tags": "set_tags",
    "start_run": "start_run",
}
_session: Any = None


def _get_session() -> Any:
    """The process's SDK session, created on first use (settings read then, not at import)."""
    global _session
    if _session is None:
        from shipyard.interfaces.sdk.fluent import Session

        _session = Session()
    return _session


def __getattr__(name: str) -> Any:
    if name in _FACADE:
        return getattr(_get_session(), _FACADE[name])
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
