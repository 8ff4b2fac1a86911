"""The ``shipyard`` command line (Typer + Rich). Errors are mapped to one line + exit code here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from shipyard.core.clock import format_ms
from shipyard.core.errors import ArtifactCorruptedError, ShipyardError
from shipyard.interfaces.cli.common import JSON_OPT, require_project
from shipyard.interfaces.cli.common import console as _console
from shipyard.interfaces.cli.common import services as _services
from shipyard.interfaces.cli.common import table as _table
from shipyard.interfaces.cli.lazy import lazy_group

# Every command, in the order `shipyard --help` lists them: "module:attribute" (imported
# when the command runs) or None (defined below).
COMMANDS = {
    "gate": "models_cmds:gate",
    "approve": "models_cmds:approve",
    "reject": "models_cmds:reject",
    "reproduce": "pipeline_cmds:reproduce",
    "retrain": "retrain_cmds:retrain",
    "rollback": "deploy_cmds:rollback",
    "serve": "serve_cmds:serve",
    "doctor": "doctor_cmds:doctor",
    "gc": "upkeep_cmds:gc",
    "backup": "upkeep_cmds:backup",
    "restore": "upkeep_cmds:restore",
    "init": None,
    "server": None,
    "demo": None,
    "experiments": None,
    "runs": "runs_cmds:runs_app",
    "users": "users_cmds:users_app",
    "db": None,
    "data": "data_cmds:data_app",
    "pipeline": "pipeline_cmds:pipeline_app",
    "audit": "audit_cmds:audit_app",
    "models": "models_cmds:models_app",
    "deploy": "deploy_cmds:deploy_app",
    "deployments": "deploy_cmds:deployments_app",
    "jobs": "jobs_cmds:jobs_app",
    "monitor": "monitor_cmds:monitor_app",
    "ci": "ci_cmds:ci_app",
}

app = typer.Typer(
    help="Shipyard: continuous delivery for machine learning.",
    no_args_is_help=True,
    cls=lazy_group(COMMANDS, "shipyard.interfaces.cli"),
)
experiments_app = typer.Typer(help="List experiments.", no_args_is_help=True)
db_app = typer.Typer(help="Metadata database maintenance.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
app.add_typer(db_app, name="db")


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


@app.command()
def demo(
    path: Path = typer.Option(Path("shipyard-demo"), help="Folder of the sample project."),
    serve: bool = typer.Option(True, help="Start the server afterwards."),
    port: int = typer.Option(5005, help="Server port."),
) -> None:
    """Create a sample project with tracked runs and open it in the server."""
    from shipyard.interfaces.cli.demo import seed_demo

    seed_demo(path)
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


EXIT_CORRUPTED = 3  # stored bytes no longer match their digest (2 is bad input, 1 the rest)


def exit_code(error: ShipyardError) -> int:
    """The exit status of a command that failed with ``error``."""
    if isinstance(error, ArtifactCorruptedError):
        return EXIT_CORRUPTED
    return 2 if error.http_status < 500 else 1


def run() -> None:
    """Entry point: one clear line and a non-zero exit code on any Shipyard error."""
    try:
        code = app(standalone_mode=False)  # typer.Exit(n) comes back as n here
    except ShipyardError as e:
        print(f"error: {e.message}", file=sys.stderr)
        sys.exit(exit_code(e))
    except typer.Abort:
        sys.exit(130)
    except Exception as e:  # usage errors: the help or one line, exit 2
        if isinstance(e, _usage_errors()):
            e.show()  # type: ignore[attr-defined]
            sys.exit(e.exit_code)  # type: ignore[attr-defined]
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
