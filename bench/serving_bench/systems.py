"""Setting up each system: a Shipyard project with the model deployed (and reading back what
its server recorded), MLflow's store with the model logged, BentoML's own venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .common import BENTOML, BENTOML_VENV, BENTOML_VERSION, ENV, SHIPYARD, pkg_version, progress
from .models import ModelCase
from .servers import Server


# ---------------------------------------------------------------------------- Shipyard
def shipyard_problem(notes: list[str]) -> str | None:
    """Why ``shipyard serve`` cannot be measured, or None (with a note if its help fails)."""
    if not SHIPYARD.exists():
        return f"{SHIPYARD} not found (install the project into the venv)"
    proc = subprocess.run([str(SHIPYARD), "serve", "--help"], capture_output=True, text=True)
    if "No such command" in proc.stdout + proc.stderr:
        return "`shipyard serve` is not there yet (the CLI has no `serve` command)"
    if proc.returncode != 0:  # the command exists; only its help failed: measure anyway
        lines = [x.strip(" │╭╮╰╯─") for x in (proc.stdout + proc.stderr).splitlines()]
        last = " ".join(x for x in lines[-3:] if x)[-200:]
        notes.append(f"`shipyard serve --help` exits {proc.returncode}: {last}")
    return None


def shipyard_project(case: ModelCase, folder: Path, canary: bool) -> tuple[Path, list[str]]:
    """A project with the model logged and deployed to staging (v2 as a 50 % canary)."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    folder.mkdir(parents=True)
    svc = build_services(load_settings({"SHIPYARD_PROJECT_DIR": str(folder)}))
    notes = []
    try:
        admin = svc.access.ensure_local_admin()
        exp = svc.tracking.get_or_create_experiment("bench-serving").experiment_id
        run = svc.tracking.create_run(exp, user=admin.name)
        versions = []
        for _ in range(2 if canary else 1):
            versions.append(
                svc.registry.log_model(
                    case.model,
                    case.name,
                    user=admin.name,
                    run_id=run.run_id,
                    input_example=case.frame.head(5),
                    reference_data=case.frame,
                )
            )
        svc.tracking.update_run(run.run_id, status="FINISHED", end_time=int(time.time() * 1000))
        svc.deployments.deploy(case.name, versions[0].version, ENV, admin)
        if canary:
            svc.deployments.deploy(
                case.name, versions[1].version, ENV, admin, strategy="canary", percent=50
            )
        onnx = versions[0].package.get("onnx")
        if isinstance(onnx, dict):
            notes.append(f"ONNX twin {'kept' if onnx.get('kept') else 'not kept'}")
    finally:
        svc.close()
    return folder, notes


def _figures(project: Path, model: str) -> dict[str, Any]:
    """Requests per version and role, from the serving figures in the project's database."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    try:
        svc = build_services(load_settings({"SHIPYARD_PROJECT_DIR": str(project)}))
        try:
            figures = svc.figures.by_version(ENV, model, 0)
            return {"figures": {f"v{v} {role}": f["requests"] for (v, role), f in figures.items()}}
        finally:
            svc.close()
    except Exception as e:  # the server's internals are young; the throughput still stands
        return {"figures_error": f"{type(e).__name__}: {e}"}


def shipyard_recorded(project: Path, model: str, metrics: str) -> dict[str, Any]:
    """What a Shipyard server recorded: serving figures per version and role (its project
    database), prediction-log rows (Parquet under the object store), and its /metrics
    counters for the log (``metrics``: one worker's exposition, scraped before it stopped)."""
    out = _figures(project, model)
    files = sorted((project / ".shipyard").rglob("predictions/**/*.parquet"))
    try:
        import pyarrow.parquet as pq

        out["logged_rows"] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    except Exception as e:  # pyarrow missing or a file half-written
        out["logged_rows_error"] = f"{type(e).__name__}: {e}"
    out["log_files"] = len(files)
    for line in metrics.splitlines():
        for name in ("prediction_logs_dropped_total", "prediction_logs_written_total"):
            if line.startswith(f"shipyard_{name}"):
                out[name] = out.get(name, 0) + float(line.rsplit(maxsplit=1)[-1])
    return out


def predict_path(server: Server, model: str) -> tuple[str | None, str]:
    """How the server predicts (``GET /v2/models/<name>``: platform, predict_path): the
    path (onnx | matrix | frame; None if unknown) and a note saying so."""
    try:
        meta = json.loads(server.get(f"/v2/models/{model}", timeout=10))
        path = (meta.get("parameters") or {}).get("predict_path")
        note = f"predicts through {path or '?'} (platform {meta.get('platform', '?')})"
        return path, note
    except (OSError, ValueError, AttributeError) as e:
        return None, f"predict path unknown ({type(e).__name__}: {e})"


def scrape(server: Server) -> str:
    """The server's /metrics exposition (one worker's), or "" if it does not answer."""
    try:
        return server.get("/metrics", timeout=5).decode(errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------------------- MLflow
def mlflow_model_uri(
    case: ModelCase, folder: Path, signature: bool = True
) -> tuple[str, dict[str, str]]:
    """``mlflow.sklearn.log_model`` into a SQLite store; (model URI, server environment).
    With an input example (so a signature, enforced by the scoring server) unless told not."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn

    warnings.filterwarnings("ignore")
    folder.mkdir(parents=True, exist_ok=True)
    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    name = f"bench-serving-{case.key}"
    found = mlflow.get_experiment_by_name(name)
    exp = (
        found.experiment_id
        if found
        else mlflow.create_experiment(name, artifact_location=(folder / "artifacts").as_uri())
    )
    pins = [f"{p}=={pkg_version(p)}" for p in ("mlflow", "scikit-learn", "numpy", "pandas")]
    # skops, MLflow's default format, refuses tree models unless their node type is trusted
    trusted = ["sklearn.tree._tree.Tree"] if case.key == "rf" else None
    with mlflow.start_run(experiment_id=exp):
        info = mlflow.sklearn.log_model(
            case.model,
            name="model",
            input_example=case.frame.head(5) if signature else None,
            pip_requirements=pins,
            skops_trusted_types=trusted,
        )
    return info.model_uri, {"MLFLOW_TRACKING_URI": tracking}


# ---------------------------------------------------------------------------- BentoML
def _bentoml_installed() -> bool:
    if not BENTOML.exists():
        return False
    proc = subprocess.run([str(BENTOML), "--version"], capture_output=True, text=True)
    return proc.returncode == 0 and proc.stdout.strip() == f"bentoml, version {BENTOML_VERSION}"


def _install_bentoml(out: Any, quiet: bool) -> None:
    """Create the venv if needed and pip install BentoML, with our scikit-learn, numpy,
    pandas and joblib pins if they fit, else without; the output into ``out``."""
    python = BENTOML_VENV / "bin" / "python"
    pins = [f"{p}=={pkg_version(p)}" for p in ("scikit-learn", "numpy", "pandas", "joblib")]
    if not python.exists():
        base = shutil.which("python3.11") or getattr(sys, "_base_executable", "")
        progress(f"  creating {BENTOML_VENV} with {base} …", quiet)
        subprocess.run([base, "-m", "venv", str(BENTOML_VENV)], check=True, stdout=out)
    progress(f"  pip install bentoml=={BENTOML_VERSION} {' '.join(pins)} …", quiet)
    pip = [str(python), "-m", "pip", "install", "-q", f"bentoml=={BENTOML_VERSION}"]
    done = subprocess.run([*pip, *pins], stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:  # our exact pins may not fit next to BentoML's
        progress("  … with our pins it failed; trying without them", quiet)
        plain = ["scikit-learn", "pandas", "joblib"]
        subprocess.run([*pip, *plain], stdout=out, stderr=subprocess.STDOUT, check=True)


def ensure_bentoml(folder: Path, quiet: bool) -> tuple[str | None, str]:
    """(BentoML version, "") from ``.bench-venvs/bentoml`` (created on first use), or
    (None, why not)."""
    if _bentoml_installed():
        return BENTOML_VERSION, ""
    log = folder / "bentoml-install.log"
    try:
        with log.open("w") as out:
            _install_bentoml(out, quiet)
    except (OSError, subprocess.CalledProcessError) as e:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        tail = "\n".join(x[:300] for x in lines[-3:])
        return None, f"could not install bentoml=={BENTOML_VERSION} ({e}):\n{tail}"
    if not _bentoml_installed():
        return None, f"{BENTOML} --version does not say 'bentoml, version {BENTOML_VERSION}'"
    return BENTOML_VERSION, ""


def bentoml_sklearn() -> str:
    """The scikit-learn version in BentoML's venv."""
    python = str(BENTOML_VENV / "bin" / "python")
    code = "import sklearn; print(sklearn.__version__)"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return proc.stdout.strip() or "?"
