"""The report as text: the environment header, a table per model and size, the open-loop
table, the targets, and what each server recorded, noted or got wrong."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
from pathlib import Path
from typing import Any

from .common import CLIENT_LAG_WARN_S, IDLE_CPU_WARN_PCT, MODEL_KEYS, MODEL_LABELS, pkg_version

MODEL_HEADERS = [
    "Server",
    "workers",
    "req/s",
    "runs min-max",
    "rows/s",
    "p50",
    "p99",
    "startup",
    "RSS MB",
    "vs MLflow",
    "vs BentoML",
    "vs FastAPI",
]
FIXED_RATE_HEADERS = [
    "Server",
    "offered",
    "achieved",
    "p50",
    "p99",
    "p99 from send",
    "max",
    "errors",
    "client lag p99",
    "note",
]


# ---------------------------------------------------------------------------- environment
def source_fingerprint() -> str:
    """A short hash of the Shipyard sources measured (they change under a working tree)."""
    spec = importlib.util.find_spec("shipyard")
    h = hashlib.sha256()
    for location in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(location).rglob("*.py")):
            h.update(path.relative_to(location).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def environment(wrk: str) -> dict[str, str]:
    return {
        "shipyard_source": source_fingerprint(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "mlflow": pkg_version("mlflow"),
        "scikit-learn": pkg_version("scikit-learn"),
        "fastapi": pkg_version("fastapi"),
        "uvicorn": pkg_version("uvicorn"),
        "wrk": wrk,
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ---------------------------------------------------------------------------- formatting
def ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _spread(summary: dict[str, Any]) -> str:
    if len(summary.get("runs", [])) < 2 or summary.get("rps_min") is None:
        return ""
    return f"{summary['rps_min']:,.0f}-{summary['rps_max']:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:,.2f}x"


def table(title: str, headers: list[str], cells: list[list[str]], left: set[int]) -> None:
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i in left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print(line(c))


def figure(model: dict[str, Any], key: str, rows: int, endpoint: str | None = None) -> Any:
    """The summary of server ``key`` (its first endpoint unless named) at ``rows``."""
    entry = model.get(key)
    if not entry or not entry["endpoints"]:
        return None
    name = endpoint or next(iter(entry["endpoints"]))
    return entry["endpoints"].get(name, {}).get(str(rows))


def rps(model: dict[str, Any], key: str, rows: int, endpoint: str | None = None) -> Any:
    found = figure(model, key, rows, endpoint)
    return found.get("rps") if found else None


# ---------------------------------------------------------------------------- tables
def _model_cells(model: dict[str, Any], rows: int) -> list[list[str]]:
    """One line per server and endpoint at ``rows`` rows a request."""
    cells = []
    mlflow, bento = rps(model, "mlflow", rows), rps(model, "bentoml", rows)
    for skey, entry in model.items():
        if entry.get("error"):
            cells.append([f"{skey}: failed (see below)", *[""] * 11])
            continue
        memory = entry.get("memory") or entry.get("memory_idle") or {}
        fastapi = rps(model, f"fastapi-{entry['workers']}", rows)
        startup = f"{entry['startup_s']:.1f} s" if entry.get("startup_s") else "—"
        for endpoint in entry["endpoints"].values():
            s = endpoint.get(str(rows))
            if s is None:
                continue
            cells.append(
                [
                    f"{entry['label']} {endpoint['label']}",
                    str(entry["workers"]),
                    num(s.get("rps")),
                    _spread(s),
                    num(s.get("rows_per_s")),
                    ms(s.get("p50_s")),
                    ms(s.get("p99_s")),
                    startup,
                    num(memory.get("rss_mb")),
                    _ratio(s.get("rps"), mlflow),
                    _ratio(s.get("rps"), bento),
                    _ratio(s.get("rps"), fastapi),
                ]
            )
    return cells


def render_model(key: str, model: dict[str, Any], sizes: list[int], opts: Any) -> None:
    for rows in sizes:
        cells = _model_cells(model, rows)
        if not cells:
            continue
        table(
            f"{MODEL_LABELS[key]}, {rows} row{'s' if rows > 1 else ''} per request — wrk, "
            f"{opts.connections} connections, {opts.threads} thread, {opts.duration:g} s x "
            f"{opts.repeats} (median), loopback",
            MODEL_HEADERS,
            cells,
            {0},
        )
    print(
        "  vs MLflow: the model logged with a signature; vs BentoML: the plain service (no "
        "batching); vs FastAPI: the bare app with as many workers.\n  RSS: summed over the "
        "process tree after the runs. Startup: process start to the first 200 on a predict."
    )
    if any(entry.get("native") for entry in model.values()):
        print(
            "  Shipyard (sklearn path, batching): `shipyard serve --no-onnx`, the native "
            "scikit-learn model with adaptive micro-batching instead of the ONNX twin."
        )


def _fixed_rate_cells(entry: dict[str, Any], fr: dict[str, Any]) -> list[str]:
    name = f"{entry['label']} ({entry['workers']} worker{'s' if entry['workers'] > 1 else ''})"
    if "skipped" in fr:
        return [name, *[""] * 8, f"skipped: {fr['skipped']}"]
    lagged = (fr["send_lag_p99_s"] or 0) > CLIENT_LAG_WARN_S
    return [
        name,
        num(fr["offered_rps"]),
        num(fr["achieved_rps"]),
        ms(fr["p50_s"]),
        ms(fr["p99_s"]),
        ms(fr.get("p99_from_send_s")),
        ms(fr["max_s"]),
        str(sum(fr["errors"].values())),
        ms(fr["send_lag_p99_s"]),
        "the client lagged: busy machine?" if lagged else "",
    ]


def render_fixed_rate(model: dict[str, Any], opts: Any) -> None:
    cells = [
        _fixed_rate_cells(entry, entry["fixed_rate"])
        for entry in model.values()
        if entry.get("fixed_rate") is not None
    ]
    if cells:
        table(
            f"{MODEL_LABELS['lr']}, 1 row per request at a fixed {opts.rate:,.0f} req/s "
            f"(open loop, asyncio + aiohttp, {opts.rate_duration:g} s, latency from the "
            "scheduled send time)",
            FIXED_RATE_HEADERS,
            cells,
            {0, 9},
        )


# ---------------------------------------------------------------------------- the report
def render(report: dict[str, Any]) -> None:
    env, opts = report["env"], argparse.Namespace(**report["options"])
    print(
        f"Shipyard serving benchmark ({'quick' if report['quick'] else 'full'}) — source "
        f"{env['shipyard_source']}, Python {env['python']}, {env['cpu_count']} CPUs, load "
        f"average {env['load_average_at_start']}, {env['wrk']}, scikit-learn "
        f"{env['scikit-learn']}"
    )
    for system, reason in report["not_measured"].items():
        print(f"{system}: not measured: {reason}")
    for note in report["notes"]:
        print(f"note: {note}")
    for key in MODEL_KEYS:
        if key in report["models"]:
            render_model(key, report["models"][key], opts.sizes, opts)
    if "lr" in report["models"]:
        render_fixed_rate(report["models"]["lr"], opts)
    table(
        "Targets (Shipyard: /invocations, MLflow's body; 1 worker unless said)",
        ["Target", "Shipyard", "Reference", "Figure", "Result"],
        report["targets"],
        {0, 1, 2},
    )
    _render_details(report)
    print(
        f"\nTotal {report['total_s']:.0f} s; load average at the end {env['load_average_at_end']}."
    )


def _recorded(rec: dict[str, Any], answered: dict[str, int]) -> str:
    """What a Shipyard server wrote (serving figures, prediction-log rows) next to what the
    clients got answered."""
    parts = [f"answered {answered['requests']:,} requests, {answered['rows']:,} rows"]
    if "figures_error" in rec:
        parts.append(f"figures unreadable ({rec['figures_error']})")
    elif rec.get("figures"):
        figures = rec["figures"]
        total = sum(figures.values())
        split = ", ".join(f"{k} {v:,} ({v / total:.0%})" for k, v in figures.items())
        parts.append(f"figures count {total:,} requests ({split})")
    else:
        parts.append("no serving figures recorded (metrics off?)")
    if "logged_rows_error" in rec:
        parts.append(f"prediction log unreadable ({rec['logged_rows_error']})")
    else:
        parts.append(
            f"prediction log has {rec.get('logged_rows', 0):,} rows "
            f"({rec.get('log_files', 0)} Parquet files)"
        )
    if "prediction_logs_dropped_total" in rec:
        parts.append(
            f"/metrics of one worker: {rec['prediction_logs_dropped_total']:,.0f} log rows dropped"
        )
    return "; ".join(parts)


def _entry_details(key: str, skey: str, entry: dict[str, Any], no_pause: bool) -> None:
    """What a server recorded, its notes, and its idle CPU if that is high."""
    if entry.get("recorded") is not None:
        answered = entry.get("answered") or {"requests": 0, "rows": 0}
        print(f"{key} {skey}: {_recorded(entry['recorded'], answered)}")
    for note in entry.get("notes", []):
        print(f"{key} {skey}: {note}")
    idle = entry.get("idle_cpu_pct")
    if idle is not None and idle > IDLE_CPU_WARN_PCT:
        print(
            f"{key} {skey}: uses {idle:.1f} % of a CPU while idle"
            + (" (it ran next to the others)" if no_pause else "")
        )


def _entry_anomalies(key: str, skey: str, entry: dict[str, Any]) -> None:
    if entry.get("error"):
        print(f"ANOMALY: {key} {skey} failed: {entry['error']}")
    for a in entry.get("anomalies", []):
        print(f"ANOMALY: {key} {skey}: {a}")
    for ename, endpoint in entry.get("endpoints", {}).items():
        for rows, s in endpoint.items():
            if isinstance(s, dict) and s.get("error"):
                print(f"ANOMALY: {key} {skey} {ename} {rows} rows: {s['error']}")


def _render_details(report: dict[str, Any]) -> None:
    print()
    for key, model in report["models"].items():
        for skey, entry in model.items():
            _entry_details(key, skey, entry, report["options"]["no_pause"])
    for key, model in report["models"].items():
        for skey, entry in model.items():
            _entry_anomalies(key, skey, entry)
