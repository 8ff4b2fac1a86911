"""The ``shipyard`` command line (Typer + Rich). Errors are mapped to one line + exit code here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.core.errors import ShipyardError
from shipyard.interfaces.cli.audit_cmds import audit_app
from shipyard.interfaces.cli.common import JSON_OPT, require_project
from shipyard.interfaces.cli.common import console as _console
from shipyard.interfaces.cli.common import services as _services
from shipyard.interfaces.cli.common import table as _table
from shipyard.interfaces.cli.data_cmds import data_app
from shipyard.interfaces.cli.deploy_cmds import deploy_app, deployments_app, rollback
from shipyard.interfaces.cli.jobs_cmds import jobs_app
from shipyard.interfaces.cli.models_cmds import approve, gate, models_app, reject
from shipyard.interfaces.cli.monitor_cmds import monitor_app
from shipyard.interfaces.cli.pipeline_cmds import pipeline_app, reproduce
from shipyard.interfaces.cli.retrain_cmds import retrain
from shipyard.interfaces.cli.serve_cmds import serve
from shipyard.interfaces.cli.users_cmds import users_app

app = typer.Typer(help="Shipyard: continuous delivery for machine learning.", no_args_is_help=True)
experiments_app = typer.Typer(help="List experiments.", no_args_is_help=True)
runs_app = typer.Typer(help="List, show and compare runs.", no_args_is_help=True)
db_app = typer.Typer(help="Metadata database maintenance.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")

app.add_typer(data_app, name="data")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(audit_app, name="audit")
app.add_typer(models_app, name="models")
app.add_typer(deploy_app, name="deploy")
app.add_typer(deployments_app, name="deployments")
app.add_typer(jobs_app, name="jobs")
app.add_typer(monitor_app, name="monitor")
app.command("gate")(gate)
app.command("approve")(approve)
app.command("reject")(reject)
app.command("reproduce")(reproduce)
app.command("retrain")(retrain)
app.command("rollback")(rollback)
app.command("serve")(serve)


@app.command()
def init(path: Path = typer.Argument(Path("."), help="Project folder.")) -> None:
    """Create a project: .shipyard/ with the metadata database, object store and local admin."""
    import os

    os.environ["SHIPYARD_PROJECT_DIR"] = str(path.resolve())
    path.mkdir(parents=True, exist_ok=True)
    (path / ".shipyard").mkdir(exist_ok=True)
    toml = path / "shipyard.toml"
    if not toml.exists():
        toml.write_text(
            '[core]\n# db_url = "postgresql://user@host/db"\n# artifacts = "s3://bucket/prefix"\n'
        )
    services = _services()
    admin = services.access.ensure_local_admin()
    _console().print(
        f"[green]Initialised[/] {path.resolve()} (database {services.settings.db_url}); "
        f"local admin user: {admin.name}"
    )
    first = services.access.ensure_first_admin(services.settings.actor)
    if first is not None:
        _console().print(
            f"{first.name} is the project's first admin (adds users: shipyard users add)"
        )


@app.command()
def server(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(5005, help="Port."),
    auth: str | None = typer.Option(None, help="'local' (loopback needs no token) or 'token'."),
) -> None:
    """Run the API, the MLflow-compatible API and the web UI."""
    import uvicorn

    from shipyard.interfaces.bootstrap import build_server_app

    services = _services()
    mode = auth or services.settings.auth
    if host not in ("127.0.0.1", "localhost", "::1") and mode == "local":
        mode = "token"  # never serve tokenless outside loopback
    _console().print(f"Shipyard server on [bold]http://{host}:{port}[/] (auth: {mode})")
    uvicorn.run(
        build_server_app(services, auth_mode=mode), host=host, port=port, log_level="warning"
    )


@experiments_app.command("ls")
def experiments_ls(as_json: bool = JSON_OPT) -> None:
    """List active experiments."""
    found, _ = _services().tracking.search_experiments()
    if as_json:
        from shipyard.interfaces.presenters.records import experiment_json

        print(json.dumps([experiment_json(e) for e in found], indent=2))
        return
    _table(
        "Experiments",
        ["id", "name", "created"],
        [[e.experiment_id, e.name, format_ms(e.creation_time)] for e in found],
    )


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
    """Search runs with the filter language."""
    t = _services().tracking
    ids = [t.get_experiment_by_name(experiment).experiment_id] if experiment else []
    runs = t.search_runs(ids, filter_, order_by, max_results).runs
    if as_json:
        from shipyard.interfaces.presenters.records import run_json

        print(json.dumps([run_json(r) for r in runs], indent=2))
        return
    keys = sorted({k for r in runs for k in r.metrics})[:6]
    rows = [
        [r.run_id[:12], r.info.run_name, r.info.status.value, format_ms(r.info.start_time)]
        + [f"{r.metrics[k].value:.4g}" if k in r.metrics else "-" for k in keys]
        for r in runs
    ]
    _table("Runs", ["run", "name", "status", "started", *keys], rows)


def _resolve_run(t: Any, ref: str) -> Any:
    from shipyard.core.errors import NotFoundError

    if len(ref) == 32:
        return t.get_run(ref)
    matches = t.search_runs([], f"run_id LIKE '{ref.replace(chr(39), '')}%'", max_results=2).runs
    if len(matches) != 1:
        raise NotFoundError(f"no single run matches {ref!r}; give more of the run id", field="run")
    return matches[0]


@runs_app.command("show")
def runs_show(
    run: str = typer.Argument(..., help="Run id (or a unique prefix)."), as_json: bool = JSON_OPT
) -> None:
    """Show one run: info, params, latest metrics, tags and artifacts."""
    t = _services().tracking
    r = _resolve_run(t, run)
    files = t.list_artifacts(r.run_id)
    if as_json:
        from shipyard.interfaces.presenters.records import file_json, run_json

        print(json.dumps({**run_json(r), "artifacts": [file_json(f) for f in files]}, indent=2))
        return
    i = r.info
    _table(
        f"Run {i.run_id}",
        ["field", "value"],
        [
            ["name", i.run_name],
            ["experiment", i.experiment_id],
            ["status", i.status.value],
            ["user", i.user],
            ["started", format_ms(i.start_time)],
            ["ended", format_ms(i.end_time)],
        ],
    )
    _table("Params", ["key", "value"], [[k, v] for k, v in sorted(r.params.items())])
    _table(
        "Metrics (latest)",
        ["key", "value", "step"],
        [[k, m.value, m.step] for k, m in sorted(r.metrics.items())],
    )
    _table("Tags", ["key", "value"], [[k, v] for k, v in sorted(r.tags.items())])
    _table(
        "Artifacts",
        ["path", "size"],
        [[f.path + ("/" if f.is_dir else ""), f.size or ""] for f in files],
    )


@runs_app.command("compare")
def runs_compare(
    runs: list[str] = typer.Argument(..., help="Two or more run ids."), as_json: bool = JSON_OPT
) -> None:
    """Params and metrics of 2+ runs side by side."""
    from shipyard.core.errors import ValidationError

    if len(runs) < 2:
        raise ValidationError("compare needs at least two runs", field="runs")
    t = _services().tracking
    found = [_resolve_run(t, ref) for ref in runs]
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
    rows = [[f"params.{k}", *[r.params.get(k, "-") for r in found]] for k in params]
    rows += [
        [f"metrics.{k}", *[f"{r.metrics[k].value:.6g}" if k in r.metrics else "-" for r in found]]
        for k in metrics
    ]
    _table("Compare", ["", *[r.info.run_name for r in found]], rows)


@app.command()
def demo(
    path: Path = typer.Option(Path("shipyard-demo"), help="Folder of the sample project."),
    serve: bool = typer.Option(True, help="Start the server afterwards."),
    port: int = typer.Option(5005, help="Server port."),
) -> None:
    """Create a sample project with tracked runs and open it in the server."""
    from shipyard.interfaces.cli.demo import seed_demo

    n = seed_demo(path)
    _console().print("[green]diabetes@v1, @v2[/] registered (PII tokenized/masked, validated)")
    _console().print(f"[green]{n} runs[/] logged in {path.resolve()}")
    report = _services().audit.verify()
    state = "[green]hash chain intact[/]" if report.ok else f"[red]broken: {report.reason}[/]"
    _console().print(
        f"Audit trail: {report.checked} entries, {state} (shipyard audit log | verify)"
    )
    if serve:
        _console().print(f"Open [bold]http://127.0.0.1:{port}/ui/experiments[/] (Ctrl-C to stop)")
        _console().print(f"Data catalog: [bold]http://127.0.0.1:{port}/ui/data/diabetes[/]")
        _console().print(f"Pipelines: [bold]http://127.0.0.1:{port}/ui/pipelines[/]")
        _console().print(f"Models: [bold]http://127.0.0.1:{port}/ui/models[/]")
        _console().print(f"Environments: [bold]http://127.0.0.1:{port}/ui/environments[/]")
        _console().print(f"Audit trail: [bold]http://127.0.0.1:{port}/ui/audit[/]")
        server(host="127.0.0.1", port=port, auth=None)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations to the metadata database."""
    from shipyard.settings import load_settings
    from shipyard.stores.sql.engine import Database
    from shipyard.stores.sql.schema import upgrade

    upgrade(Database(require_project(load_settings()).db_url))
    _console().print("[green]database schema is up to date[/]")


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's exceptions, and those of the copy of click that newer Typer releases vendor."""
    import click

    found: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        pass
    else:
        found.append(ClickException)
    return tuple(found)


def run() -> None:
    """Entry point: one clear line and a non-zero exit code on any Shipyard error."""
    try:
        code = app(standalone_mode=False)  # typer.Exit(n) comes back as n here
    except ShipyardError as e:
        print(f"error: {e.message}", file=sys.stderr)
        sys.exit(2 if e.http_status < 500 else 1)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:  # usage errors: the help or one line, exit 2
        if isinstance(e, _usage_errors()):
            e.show()  # type: ignore[attr-defined]
            sys.exit(e.exit_code)  # type: ignore[attr-defined]
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
