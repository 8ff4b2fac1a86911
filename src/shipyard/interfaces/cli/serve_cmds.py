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
    max_models: int = typer.Option(
        None,
        min=1,
        help="Model versions kept loaded, deployed or not: the least recently used goes first "
        "and a request for another loads it on demand [32].",
    ),
    pin: list[str] = typer.Option(
        None,
        "--pin",
        help="A model whose deployed versions stay loaded whatever the traffic (repeat for "
        "more; counts towards --max-models). [serving] pinned = [...] in shipyard.toml.",
    ),
    onnx: bool = typer.Option(
        True, "--onnx/--no-onnx", help="Predict through verified ONNX twins where they exist."
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Also serve pickle-based model versions (trusted sources only).",
    ),
    auth: str = typer.Option(
        None,
        "--auth",
        help="'token': every endpoint but /v2/health/* needs 'Authorization: Bearer <token>' "
        "(any project user's token; `shipyard users token NAME`). [default: none]",
    ),
    rate_limit: str = typer.Option(
        None,
        "--rate-limit",
        help="Requests per client key, e.g. 20/s or 600/min (the token with --auth token, "
        "else the client address); over it: 429 with Retry-After. Per worker process.",
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
        "SHIPYARD_SERVE_PINNED": ",".join(pin) if pin else None,
        "SHIPYARD_SERVE_ALLOW_PICKLE": "1" if allow_pickle else None,
        "SHIPYARD_SERVE_ONNX": None if onnx else "0",
        "SHIPYARD_SERVE_AUTH": auth,
        "SHIPYARD_SERVE_RATE_LIMIT": rate_limit,
    }
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)  # read again by every worker process
    # a bad --auth, --rate-limit or --pin is refused here, naming it
    settings = require_project(load_settings())
    os.environ.setdefault("SHIPYARD_PROJECT_DIR", str(settings.project_dir))
    access = settings.serving.auth + (
        f", rate limit {settings.serving.rate_limit}" if settings.serving.rate_limit else ""
    )
    console(stderr=True).print(
        f"Serving [bold]{env}[/] on http://{host}:{port} ({workers} worker(s), auth: {access}); "
        f"V2: /v2/models/<name>/infer · MLflow: /invocations · /metrics"
    )
    if settings.serving.auth == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        console(stderr=True).print(
            f"[yellow]warning:[/] {host} is reachable beyond this machine and anybody there "
            "may predict; add --auth token (and --rate-limit) for such deployments"
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
