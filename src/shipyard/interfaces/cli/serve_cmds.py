"""``shipyard serve``: the inference server for one environment (KServe V2, MLflow, /metrics)."""

from __future__ import annotations

import os

import typer

from shipyard.interfaces.cli.common import console, require_project

__all__ = ["serve"]


def serve(
    env: str = typer.Option(
        "production", "--env", "-e", help="Environment whose deployments to serve."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes (stateless replicas)."),
    max_batch: int = typer.Option(
        None, min=1, help="Rows predicted together from concurrent requests [1024]."
    ),
    max_wait_ms: float = typer.Option(
        None, min=0, help="Extra wait for a fuller batch [0: adaptive]."
    ),
    max_models: int = typer.Option(None, min=1, help="Model versions kept loaded (LRU) [32]."),
    onnx: bool = typer.Option(
        True, "--onnx/--no-onnx", help="Predict through verified ONNX twins where they exist."
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Also serve pickle-based model versions (trusted sources only).",
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve the models deployed to an environment; picks up deploys and rollbacks live.

    Endpoints: POST /v2/models/NAME/infer (or .../versions/N/infer), POST /invocations
    (MLflow format), GET /v2/health/ready, /v2/models/NAME, /metrics.
    """
    import uvicorn

    from shipyard.core.deployments import check_environment
    from shipyard.settings import load_settings

    check_environment(env)
    overrides = {
        "SHIPYARD_SERVE_ENV": env,
        "SHIPYARD_SERVE_MAX_BATCH": max_batch,
        "SHIPYARD_SERVE_MAX_WAIT_MS": max_wait_ms,
        "SHIPYARD_SERVE_MAX_MODELS": max_models,
        "SHIPYARD_SERVE_ALLOW_PICKLE": "1" if allow_pickle else None,
        "SHIPYARD_SERVE_ONNX": None if onnx else "0",
    }
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)  # read again by every worker process
    settings = require_project(load_settings())
    os.environ.setdefault("SHIPYARD_PROJECT_DIR", str(settings.project_dir))
    console(stderr=True).print(
        f"Serving [bold]{env}[/] on http://{host}:{port} ({workers} worker(s)); "
        f"V2: /v2/models/<name>/infer · MLflow: /invocations · /metrics"
    )
    uvicorn.run(
        "shipyard.interfaces.bootstrap:inference_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
        access_log=False,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None
