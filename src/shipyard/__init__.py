"""Shipyard: continuous delivery for machine learning.

``import shipyard as sy`` stays light: the SDK facade is loaded on first attribute access.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "__version__",
    "active_run",
    "choice",
    "current_step",
    "data",
    "dataset",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "integer",
    "log_artifact",
    "log_dict",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "loguniform",
    "models",
    "monitor",
    "pipeline",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "sweep",
    "uniform",
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
    "models": "models",
    "monitor": "monitor",
    "search_runs": "search_runs",
    "set_tag": "set_tag",
    "set_tags": "set_tags",
    "start_run": "start_run",
}
# Module-level SDK names (no session needed to use them): name → module.
_MODULE_FACADE = {
    name: "shipyard.interfaces.sdk.pipelines"
    for name in (
        "choice",
        "current_step",
        "dataset",
        "integer",
        "loguniform",
        "pipeline",
        "step",
        "sweep",
        "uniform",
    )
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
    if name in _MODULE_FACADE:
        import importlib

        return getattr(importlib.import_module(_MODULE_FACADE[name]), name)
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
