"""What the pipeline run page shows of a step's result and of a sweep's trials: small JSON
outputs read back (a dict's values, a trial's objective), the parameters each trial tried, the
best trial, and the parallel-coordinates chart of the trials (drawn by ``static/charts.js``)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core.errors import ShipyardError
from shipyard.interfaces.web.run_views import fmt_param

__all__ = ["json_output", "parallel_chart", "rank_trials", "result_text", "sweep_trials"]

MAX_JSON = 64 * 1024  # larger outputs keep their one-line summary
OUTPUT_JSON = "output/value.json"


def json_output(tracking: Any, run_id: str) -> Any:
    """The step run's output when it is a small JSON value, else None."""
    try:
        files = {f.path: f for f in tracking.all_artifacts(run_id)}
        info = files.get(OUTPUT_JSON)
        if info is None or (info.size or 0) > MAX_JSON:
            return None
        _, stream = tracking.open_artifact(run_id, OUTPUT_JSON)
        with stream:
            return json.loads(stream.read(MAX_JSON + 1))
    except (ShipyardError, OSError, ValueError):
        return None


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, str) else str(value)


def result_text(value: Any) -> str | None:
    """``accuracy=0.85, auc=0.912`` for a dict of scalars; a number as itself; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _scalar(value)
    scalars = isinstance(value, dict) and all(
        isinstance(v, int | float | str | bool) or v is None for v in value.values()
    )
    if scalars and 0 < len(value) <= 12:
        return ", ".join(f"{k}={_scalar(v)}" for k, v in value.items())
    return None


def _trial_params(tracking: Any, x: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The parameters the trial tried (a cache hit's run holds none: its source's)."""
    params: dict[str, str] = {}
    for run_id in (x["run_id"], x.get("cached_from")):
        if not run_id:
            continue
        try:
            params = dict(tracking.get_run(run_id).params)
        except ShipyardError:
            continue
        if params:
            break
    return {k: params[k] for k in names if k in params} if names else params


def sweep_trials(tracking: Any, step: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep step's trials: params tried, objective value, the best one marked."""
    names = list(step.get("space") or [])
    trials = []
    for x in step["shown"]:
        value = json_output(tracking, x["run_id"])
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        trials.append(
            {
                **x,
                "params": _trial_params(tracking, x, names),
                "value": float(value) if ok and math.isfinite(value) else None,
            }
        )
    return rank_trials(trials, names, step.get("direction"))


def rank_trials(
    trials: list[dict[str, Any]], names: Sequence[str], direction: str | None
) -> dict[str, Any]:
    """Mark the best of ``trials`` (``params``, ``value``, ``map_index``): the lowest value
    to minimize, the highest to maximize, the earliest on a tie; none when the direction is
    unknown (a run recorded before it was stored)."""
    names = list(names) or sorted({k for t in trials for k in t["params"]})
    scored = [t for t in trials if t["value"] is not None]
    best = None
    if scored and direction in ("minimize", "maximize"):
        pick = min if direction == "minimize" else max
        sign = 1 if direction == "minimize" else -1  # the earliest wins a tie
        best = pick(scored, key=lambda t: (t["value"], sign * (t["map_index"] or 0)))
    for t in trials:
        t["best"] = t is best
        t["shown_params"] = {k: fmt_param(t["params"].get(k, "")) for k in names}
    return {"names": names, "trials": trials, "direction": direction, "best": best}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _scale(values: Sequence[float]) -> str:
    """``log`` for positive values spanning two decades or more (a log-uniform search)."""
    if values and min(values) > 0 and max(values) / min(values) >= 100:
        return "log"
    return "value"


def parallel_chart(title: str, sweep: Mapping[str, Any]) -> dict[str, Any]:
    """One trial per line across an axis per parameter and one for the objective."""
    names, trials = list(sweep["names"]), list(sweep["trials"])
    scored = [t for t in trials if t["value"] is not None]
    if not scored:
        return {"kind": "parallel", "title": title, "empty": "no trial has a value yet"}
    axes, columns = [], []
    for name in names:
        raw = [t["params"].get(name, "") for t in scored]
        numbers = [_number(v) for v in raw]
        if all(n is not None for n in numbers):
            axes.append({"name": name, "type": _scale([n for n in numbers if n is not None])})
            columns.append(numbers)
        else:
            axes.append({"name": name, "type": "category", "data": sorted(set(raw))})
            columns.append(raw)
    axes.append({"name": "objective", "type": "value"})
    columns.append([t["value"] for t in scored])
    rows = [[col[i] for col in columns] for i in range(len(scored))]
    best = sweep["best"]
    return {
        "kind": "parallel",
        "title": title,
        "empty": "",
        "axes": axes,
        "rows": rows,
        "trials": [t["map_index"] for t in scored],
        "best": None if best is None else scored.index(best),
        "direction": sweep["direction"],
    }
