"""``shipyard runs ls|show|compare``: tracked runs as readable tables (short ids, lower-case
statuses, six significant digits) or ``--json``."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import JSON_OPT, number, services, table

__all__ = ["runs_app"]

runs_app = typer.Typer(help="List, show and compare runs.", no_args_is_help=True)

_METRIC_NAMES = re.compile(r"\bmetrics\.(`[^`]+`|\"[^\"]+\"|[A-Za-z0-9_.\-/]+)")
SHORT_ID = 12


@runs_app.command("ls")
def runs_ls(
    experiment: str = typer.Option(None, "--experiment", "-e", help="Experiment name."),
    filter_: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.auc > 0.8 and params.model = 'rf'\""
    ),
    order_by: list[str] = typer.Option([], "--order-by", "-o", help="e.g. 'metrics.auc DESC'"),
    max_results: int = typer.Option(50, "--max", help="Most runs to show."),
    as_json: bool = JSON_OPT,
) -> None:
    """Search runs with the filter language (all experiments unless -e names one)."""
    t = services().tracking
    ids = [t.get_experiment_by_name(experiment).experiment_id] if experiment else []
    runs = t.search_runs(ids, filter_, order_by, max_results).runs
    if not runs and filter_:
        _hint_unknown_metrics(t, ids, filter_)
    if as_json:
        from shipyard.interfaces.presenters.records import run_json

        print(json.dumps([run_json(r) for r in runs], indent=2))
        return
    keys = sorted({k for r in runs for k in r.metrics})[:6]
    names = {} if experiment else _experiment_names(t)
    head = ["run", "name"] + ([] if experiment else ["experiment"]) + ["parent", "status"]
    rows = [
        [r.run_id[:SHORT_ID], r.info.run_name]
        + ([] if experiment else [names.get(r.info.experiment_id, r.info.experiment_id)])
        + [(r.info.parent_run_id or "")[:SHORT_ID], r.info.status.value.lower()]
        + [format_ms(r.info.start_time)]
        + [number(r.metrics[k].value) if k in r.metrics else "-" for k in keys]
        for r in runs
    ]
    table("Runs", [*head, "started", *keys], rows)


def _experiment_names(t: Any) -> dict[str, str]:
    found, _ = t.search_experiments()
    return {e.experiment_id: e.name for e in found}


def _hint_unknown_metrics(t: Any, ids: list[str], filter_: str) -> None:
    """A filter on a metric no run has matches nothing: say which metric names exist."""
    asked = {m.strip('`"') for m in _METRIC_NAMES.findall(filter_)}
    if not asked:
        return
    known = sorted({k for r in t.search_runs(ids, None, None, 1000).runs for k in r.metrics})
    missing = sorted(asked - set(known))
    if missing:
        print(
            f"note: no run has the metric {', '.join(map(repr, missing))}; metrics logged: "
            f"{', '.join(known) or 'none'}",
            file=sys.stderr,
        )


def resolve_run(t: Any, ref: str) -> Any:
    """A run by its id or a unique prefix of it."""
    from shipyard.core.errors import NotFoundError, ValidationError

    if not ref or not re.fullmatch(r"[0-9a-fA-F]{1,32}", ref):
        raise ValidationError(f"{ref!r} is not a run id (hex digits, or a prefix)", field="run")
    if len(ref) == 32:
        try:
            return t.get_run(ref)
        except NotFoundError:
            raise NotFoundError(
                f"run {ref} not found; list runs with `shipyard runs ls`", field="run"
            ) from None
    matches = t.search_runs([], f"run_id LIKE '{ref.lower()}%'", max_results=3).runs
    if not matches:
        raise NotFoundError(
            f"no run id starts with {ref!r}; list runs with `shipyard runs ls`", field="run"
        )
    if len(matches) > 1:
        shown = ", ".join(m.run_id[:SHORT_ID] for m in matches[:2])
        raise NotFoundError(
            f"several runs start with {ref!r} ({shown}…); give more of the run id", field="run"
        )
    return matches[0]


@runs_app.command("show")
def runs_show(
    run: str = typer.Argument(None, help="Run id (or a unique prefix)."), as_json: bool = JSON_OPT
) -> None:
    """Show one run: info, params, latest metrics, tags and artifacts."""
    from shipyard.core.errors import ValidationError

    if run is None:
        raise ValidationError(
            "runs show needs a run id (or a unique prefix of one); list runs with "
            "`shipyard runs ls`",
            field="run",
        )
    t = services().tracking
    r = resolve_run(t, run)
    files = t.list_artifacts(r.run_id)
    if as_json:
        from shipyard.interfaces.presenters.records import file_json, run_json

        print(json.dumps({**run_json(r), "artifacts": [file_json(f) for f in files]}, indent=2))
        return
    i = r.info
    info = [
        ["name", i.run_name],
        ["experiment", _experiment_names(t).get(i.experiment_id, i.experiment_id)],
        ["parent", i.parent_run_id or ""],
        ["status", i.status.value.lower()],
        ["user", i.user],
        ["started", format_ms(i.start_time)],
        ["ended", format_ms(i.end_time)],
    ]
    table(f"Run {i.run_id}", ["field", "value"], info)
    table("Params", ["key", "value"], [[k, number(v)] for k, v in sorted(r.params.items())])
    table(
        "Metrics (latest)",
        ["key", "value", "step"],
        [[k, number(m.value), m.step] for k, m in sorted(r.metrics.items())],
    )
    table("Tags", ["key", "value"], [[k, v] for k, v in sorted(r.tags.items())])
    table(
        "Artifacts",
        ["path", "size"],
        [[f.path + ("/" if f.is_dir else ""), _size(f.size)] for f in files],
    )


def _size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


@runs_app.command("compare")
def runs_compare(
    runs: list[str] = typer.Argument(..., help="Two or more run ids."), as_json: bool = JSON_OPT
) -> None:
    """Params and metrics of 2+ runs side by side."""
    from shipyard.core.errors import ValidationError

    if len(runs) < 2:
        raise ValidationError("compare needs at least two runs", field="runs")
    t = services().tracking
    found = [resolve_run(t, ref) for ref in runs]
    params = sorted({k for r in found for k in r.params})
    metrics = sorted({k for r in found for k in r.metrics})
    if as_json:
        print(
            json.dumps(
                {r.run_id: {"params": r.params, "metrics": r.metric_values} for r in found},
                indent=2,
            )
        )
        return
    rows = [[f"params.{k}", *[number(r.params.get(k, "-")) for r in found]] for k in params]
    rows += [
        [f"metrics.{k}", *[number(r.metrics[k].value) if k in r.metrics else "-" for r in found]]
        for k in metrics
    ]
    table("Compare", ["", *[r.info.run_name for r in found]], rows)
