"""The fleet benchmark's figures as a plain-text table."""

from __future__ import annotations

from typing import Any


def _f(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _serve_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    m, r, c, h = s["memory"], s["random"], s["cold"], s["hot"]
    logs = s["logs"]
    return [
        ("serve", f"{s['fleet']['models']} models in one environment, --max-models {s['cap']}"),
        ("  log + deploy per model", f"{_f(s['fleet']['per_model_ms'])} ms"),
        ("  startup (warm-up to the cap)", f"{_f(m['startup_s'])} s"),
        ("  RSS base / per model", f"{_f(m['base_mb'])} MB / {_f(m['per_model_mb'], 2)} MB"),
        ("  RSS budget (base + cap x per model)", f"{_f(m['budget_mb'])} MB"),
        ("  RSS with every model loaded (est.)", f"{_f(m['all_loaded_mb'])} MB"),
        ("  RSS max under random traffic", f"{_f(r['rss_max_mb'])} MB"),
        ("  RSS half-way / after it", f"{_f(r['rss_half_mb'])} / {_f(r['rss_end_mb'])} MB"),
        ("  within budget (+20 %)", _f(m["within_budget"])),
        ("  random traffic over all models", f"{r['requests']} requests, {s['threads']} threads"),
        ("    failed", _f(r["failed"])),
        ("    req/s", _f(r["req_s"])),
        ("    p50, p99", f"{_f(r['p50_ms'])} ms, {_f(r['p99_ms'])} ms"),
        ("    loads, evictions", f"{_f(r['loads'])}, {_f(r['evictions'])}"),
        ("    loaded after", _f(r["loaded_after"])),
        ("  cold misses (sequential)", f"{c['requests']} requests, {_f(c['failed'])} failed"),
        ("    loads", _f(c["loads"])),
        ("    p50, p99, max", f"{_f(c['p50_ms'])}, {_f(c['p99_ms'])}, {_f(c['max_ms'])} ms"),
        ("    mean load time (server)", f"{_f(c['load_mean_ms'])} ms"),
        (f"  warm hot set of {h['models']}", f"{h['requests']} requests, {_f(h['failed'])} failed"),
        ("    loads", _f(h["loads"])),
        ("    p50, p99", f"{_f(h['p50_ms'])} ms, {_f(h['p99_ms'])} ms (target p99 < 50 ms)"),
        ("  /metrics per scrape", f"{_f(s['metrics']['bytes'])} bytes"),
        ("  prediction-log files", f"{_f(logs['files'])} for {_f(logs['requests'])} requests"),
        ("  serving_stats rows", _f(logs["serving_stats_rows"])),
    ]


def _log_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    w = results.get("writer")
    if w:
        rows.append(("writer", f"{w['req_s']} req/s over {w['models']} models, {w['seconds']} s"))
        for label, key in (
            ("  a file per model per flush", "per_flush"),
            ("  buffered", "buffered"),
        ):
            x = w[key]
            rows.append((label, f"{_f(x['files'])} files, {_f(x['rows_per_file'])} rows each"))
    d = results.get("day")
    if d:
        rows.append(("logs", f"one model's day at {d['models']} models"))
        for label, key in (
            ("  not compacted", "before"),
            ("  12:30, closed hours compacted", "midday"),
            ("  next day, the day compacted", "after"),
        ):
            x = d[key]
            rows.append((label, f"{_f(x['files'])} files, {_f(x['read_s'], 3)} s to read"))
            if "compact_s" in x:
                rows.append(("    compaction run (whole store)", f"{_f(x['compact_s'], 2)} s"))
            again = d.get("midday_again") if key == "midday" else None
            if again:
                skipped, of = again["skipped"], again["partitions"]
                what = "" if skipped is None else f", {_f(skipped)} of {_f(of)} skipped"
                rows.append(
                    ("    12:35 again, nothing new", f"{_f(again['compact_s'], 2)} s{what}")
                )
    return rows


def table(results: dict[str, Any]) -> str:
    rows = (_serve_rows(results["serve"]) if results.get("serve") else []) + _log_rows(results)
    width = max((len(k) for k, _ in rows), default=10)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("(wall time on a shared 2-core machine: other jobs ran meanwhile)")
    return "\n".join(lines)
