"""Arguments, which systems can be measured, and ``main``: the run from start to report."""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import FULL, MODEL_KEYS, QUICK, SYSTEMS, TARGET_RATE, pkg_version, progress
from .load import wrk_available
from .measure import bench_model
from .models import train
from .procs import on_signal, stop_all
from .report import environment, render
from .specs import Context
from .systems import bentoml_sklearn, ensure_bentoml, shipyard_problem
from .targets import targets

DESCRIPTION = (
    "Inference serving: ``shipyard serve`` next to ``mlflow models serve``, BentoML and bare "
    "FastAPI."
)


def _systems(ctx: Context, quiet: bool) -> None:
    """Fill ``ctx.available`` (system -> version) and ``ctx.not_measured`` (-> why not)."""
    chosen = ctx.opts.only
    if "shipyard" in chosen:
        problem = shipyard_problem(ctx.notes)
        if problem:
            ctx.not_measured["shipyard"] = problem
        else:
            ctx.available["shipyard"] = pkg_version("shipyard")
    if "mlflow" in chosen:
        if importlib.util.find_spec("mlflow") is None:
            ctx.not_measured["mlflow"] = (
                "mlflow is not installed (`make install` installs .[bench])"
            )
        else:
            ctx.available["mlflow"] = pkg_version("mlflow")
    if "fastapi" in chosen:
        ctx.available["fastapi"] = f"fastapi {pkg_version('fastapi')}"
    if "bentoml" in chosen:
        _bentoml(ctx, quiet)


def _bentoml(ctx: Context, quiet: bool) -> None:
    found, reason = ensure_bentoml(ctx.tmp, quiet)
    if found is None:
        ctx.not_measured["bentoml"] = reason
        return
    ctx.available["bentoml"] = found
    theirs, ours = bentoml_sklearn(), pkg_version("scikit-learn")
    if theirs != ours:
        ctx.notes.append(f"BentoML's venv has scikit-learn {theirs}, ours {ours}")


def _csv(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"expected some of {','.join(choices)}, got {text!r}")
        return items

    return parse


def _ints(text: str) -> list[int]:
    try:
        values = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,100, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="short runs, 1 repeat")
    p.add_argument(
        "--only",
        type=_csv(SYSTEMS),
        default=list(SYSTEMS),
        help=f"some of {','.join(SYSTEMS)} (default: all)",
    )
    p.add_argument(
        "--models", type=_csv(MODEL_KEYS), default=list(MODEL_KEYS), help="lr, rf or lr,rf"
    )
    p.add_argument("--sizes", type=_ints, default=[1, 100], help="rows per request")
    p.add_argument("--workers", type=_ints, default=[1, 2], help="Shipyard and FastAPI workers")
    p.add_argument("--duration", type=int, help="seconds per timed wrk run (5; quick 2)")
    p.add_argument("--warmup", type=int, help="seconds of wrk before each run (1; 0: none)")
    p.add_argument("--repeats", type=int, help="timed runs per server (3; quick 1)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument(
        "--rate", type=float, default=float(TARGET_RATE), help="open-loop req/s (0: skip)"
    )
    p.add_argument("--rate-duration", type=float, help="open-loop seconds (10; quick 3)")
    p.add_argument("--no-canary", action="store_true", help="skip the Shipyard canary")
    p.add_argument(
        "--no-pause",
        action="store_true",
        help="keep idle servers running (default: SIGSTOP all but the one measured)",
    )
    p.add_argument(
        "--serve-setting",
        action="append",
        metavar="NAME=VALUE",
        help="a [serving] setting for shipyard serve (SHIPYARD_SERVE_NAME), repeatable",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _guard() -> None:
    """Every server started is stopped on exit, Ctrl-C, SIGTERM or SIGHUP."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(stop_all)


def _collect(opts: argparse.Namespace, tmp: Path) -> tuple[Context, dict[str, Any]]:
    """Every chosen model through every available system; the servers stopped after."""
    ctx = Context(opts, tmp, {}, {})
    models: dict[str, Any] = {}
    try:
        _systems(ctx, opts.json)
        for key in opts.models:
            progress(f"{key}: training, logging, deploying …", opts.json)
            case = train(key, tmp, opts.sizes)
            models[key] = bench_model(case, ctx)
    finally:
        stop_all()
        if opts.keep:
            progress(f"kept {tmp} (server logs in logs/)", opts.json)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ctx, models


def _wrk() -> str | None:
    """wrk's version, or None after saying how to install it."""
    wrk = wrk_available()
    if wrk is None:
        print(
            "wrk is not installed: the closed-loop load generator. Install it with\n"
            "    apt-get install -y wrk        (Debian/Ubuntu; as root or with sudo)\n"
            "and run this again.",
            file=sys.stderr,
        )
    return wrk


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    wrk = _wrk()
    if wrk is None:
        return 2
    _guard()
    warnings.filterwarnings("ignore")
    env = environment(wrk)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="sybench-serving-"))
    (tmp / "logs").mkdir()
    ctx, models = _collect(opts, tmp)
    env["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    env.update({f"{k}_measured": v for k, v in ctx.available.items()})
    report = {
        "quick": opts.quick,
        "options": vars(opts),
        "not_measured": ctx.not_measured,
        "notes": ctx.notes,
        "models": models,
        "targets": targets(models, opts),
        "total_s": time.perf_counter() - started,
        "env": env,
    }
    if opts.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render(report)
    broken = any(e.get("error") or e.get("anomalies") for m in models.values() for e in m.values())
    return 1 if broken else 0
