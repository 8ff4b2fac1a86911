"""Which servers run for a model: their commands, environments and endpoints."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .common import APPS, BENTOML, ENV, SHIPYARD, VENV_BIN, clean_env
from .models import ModelCase, body_bento_batched, body_oip
from .servers import MLFLOW_ENDPOINT, Endpoint, ServerSpec
from .systems import mlflow_model_uri, shipyard_project


def _shipyard_source() -> str:
    """The folder this process imports ``shipyard`` from (a checkout, not only the venv's)."""
    import shipyard

    return str(Path(shipyard.__file__).resolve().parents[1])


@dataclass
class Context:
    opts: argparse.Namespace
    tmp: Path
    available: dict[str, str]  # system -> version
    not_measured: dict[str, str]  # system -> reason
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ShipyardRun:
    """One ``shipyard serve`` of a model: its workers, a 50 % canary, or ``--no-onnx``."""

    workers: int
    canary: bool = False
    native: bool = False

    @property
    def key(self) -> str:
        return f"shipyard-{self.workers}" + ("-canary" * self.canary) + ("-sklearn" * self.native)

    @property
    def label(self) -> str:
        if self.canary:
            return "Shipyard, canary v2 at 50 %"
        return "Shipyard (sklearn path, batching)" if self.native else "Shipyard"


def serve_env(opts: argparse.Namespace) -> dict[str, str]:
    """``--serve-setting NAME=VALUE`` as ``SHIPYARD_SERVE_NAME`` variables."""
    extra = {}
    for item in opts.serve_setting or []:
        name, _, value = item.partition("=")
        extra[f"SHIPYARD_SERVE_{name.strip().upper()}"] = value.strip()
    return extra


def build_specs(case: ModelCase, ctx: Context) -> tuple[list[ServerSpec], dict[str, str]]:
    """The servers of one model (of the systems chosen and available), and the setups that
    failed (server key -> error)."""
    specs: list[ServerSpec] = []
    failed: dict[str, str] = {}
    folder = ctx.tmp / case.key
    folder.mkdir(parents=True, exist_ok=True)
    if "mlflow" in ctx.available:
        specs += _mlflow_specs(case, ctx, folder, failed)
    if "bentoml" in ctx.available:
        specs += _bentoml_specs(case, ctx, folder)
    if "fastapi" in ctx.available:
        specs += _fastapi_specs(case, ctx, folder)
    if "shipyard" in ctx.available:
        specs += _shipyard_specs(case, ctx, folder, failed)
    return specs, failed


def _mlflow_specs(
    case: ModelCase, ctx: Context, folder: Path, failed: dict[str, str]
) -> list[ServerSpec]:
    """MLflow as logged with an input example (a signature it enforces: the fair match for
    Shipyard's checks) and without one (no schema enforcement, ~4x less work a request)."""
    specs = []
    for key, signature, label in (
        ("mlflow", True, ""),
        ("mlflow-nosig", False, ", no signature"),
    ):
        try:
            uri, env = mlflow_model_uri(case, folder / key, signature)
        except Exception as e:  # reported as the server's failure; the others still run
            failed[key] = f"mlflow.sklearn.log_model failed: {type(e).__name__}: {e}"
            continue
        cmd = [str(VENV_BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
        cmd += ["-h", "127.0.0.1", "-p", "{port}", "--workers", "1"]
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # it runs uvicorn
        specs.append(
            ServerSpec(
                key,
                "mlflow",
                f"MLflow {ctx.available['mlflow']} models serve{label}",
                1,
                cmd,
                clean_env(env),
                folder,
                [MLFLOW_ENDPOINT],
            )
        )
    return specs


def _bentoml_specs(case: ModelCase, ctx: Context, folder: Path) -> list[ServerSpec]:
    """``bench/serving_apps/bento_service.py`` from BentoML's venv: plain and batching."""
    env = {
        "BENCH_MODEL_PATH": str(case.path),
        "BENTOML_HOME": str(ctx.tmp / "bentoml-home"),
        "PATH": f"{BENTOML.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    batched = Endpoint("predict", "/predict {input}", "/predict", body_bento_batched)
    specs = []
    for key, cls, label, endpoint in (
        ("bentoml", "Plain", "", MLFLOW_ENDPOINT),
        ("bentoml-batched", "Batched", ", adaptive batching", batched),
    ):
        cmd = [str(BENTOML), "serve", f"bento_service:{cls}", "--working-dir", str(APPS)]
        cmd += ["--host", "127.0.0.1", "--port", "{port}"]
        specs.append(
            ServerSpec(
                key,
                "bentoml",
                f"BentoML {ctx.available['bentoml']}{label}",
                1,
                cmd,
                clean_env(env),
                folder,
                [endpoint],
            )
        )
    return specs


def _fastapi_specs(case: ModelCase, ctx: Context, folder: Path) -> list[ServerSpec]:
    """``bench/serving_apps/fastapi_app.py`` under uvicorn, with each number of workers."""
    specs = []
    for n in ctx.opts.workers:
        cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(APPS), "fastapi_app:app"]
        cmd += ["--host", "127.0.0.1", "--port", "{port}", "--workers", str(n)]
        cmd += ["--no-access-log", "--log-level", "warning"]
        specs.append(
            ServerSpec(
                f"fastapi-{n}",
                "fastapi",
                "bare FastAPI + uvicorn",
                n,
                cmd,
                clean_env({"BENCH_MODEL_PATH": str(case.path)}),
                folder,
                [MLFLOW_ENDPOINT],
            )
        )
    return specs


def shipyard_runs(case: ModelCase, opts: argparse.Namespace) -> list[ShipyardRun]:
    """One run per number of workers; for LR a 50 % canary (1 worker); for the RF the
    scikit-learn path with batching (``--no-onnx``, 1 worker)."""
    runs = [ShipyardRun(n) for n in opts.workers]
    if case.key == "lr" and not opts.no_canary:
        runs.append(ShipyardRun(1, canary=True))
    if case.key == "rf":
        runs.append(ShipyardRun(1, native=True))
    return runs


def _shipyard_specs(
    case: ModelCase, ctx: Context, folder: Path, failed: dict[str, str]
) -> list[ServerSpec]:
    """``shipyard serve`` over a project of its own per run, with the ``--serve-setting``s."""
    oip = Endpoint(
        "oip", f"/v2/models/{case.name}/infer", f"/v2/models/{case.name}/infer", body_oip
    )
    specs = []
    for run in shipyard_runs(case, ctx.opts):
        try:
            project, notes = shipyard_project(case, folder / run.key, run.canary)
        except Exception as e:  # reported as the server's failure; the others still run
            failed[run.key] = f"log_model/deploy failed: {type(e).__name__}: {e}"
            continue
        cmd = [str(SHIPYARD), "serve", "--env", ENV, "--host", "127.0.0.1", "--port", "{port}"]
        cmd += ["--workers", str(run.workers)] + ["--no-onnx"] * run.native
        env = clean_env({"SHIPYARD_PROJECT_DIR": str(project), **serve_env(ctx.opts)})
        env["PYTHONPATH"] = _shipyard_source()  # the sources the report fingerprints
        plain = not (run.canary or run.native)
        specs.append(
            ServerSpec(
                run.key,
                "shipyard",
                run.label,
                run.workers,
                cmd,
                env,
                project,
                [MLFLOW_ENDPOINT, oip] if plain else [MLFLOW_ENDPOINT],
                project=project,
                canary=run.canary,
                native=run.native,
                notes=notes,
            )
        )
    return specs
