"""A model dossier (``services.registry.dossier``) as ONE self-contained HTML file.

Inline CSS, charts as inline SVG drawn here, no scripts, fonts or external references (a
Content-Security-Policy forbids fetching anything), every text escaped: it opens offline,
years later, in any browser, and prints.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from shipyard.core.clock import format_ms

__all__ = ["Bar", "bar_chart", "render_dossier"]

TEMPLATES = Path(__file__).parent / "web" / "templates"
PALETTE = ("#2563eb", "#d97706", "#16a34a", "#9333ea", "#dc2626", "#0891b2")
W, LABEL, VALUE, ROW, TOP = 700, 150, 150, 22, 34


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    err: float | None = None  # ± around the value (an error bar)
    series: int = 0  # colour index (one per metric in grouped charts)


def _num(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}"


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    kind: str,
    legend: Sequence[str] = (),
    bounds: tuple[float, float] | None = None,
) -> Markup:
    """Horizontal bars from zero (negative values to the left), optional error bars."""
    bars = [b for b in bars if math.isfinite(b.value)]
    if not bars:
        return Markup(f'<p class="muted">{escape(title)}: no values</p>')
    ends = [b.value + s * (b.err or 0.0) for b in bars for s in (-1, 1)]
    lo, hi = bounds or (min(0.0, *ends), max(0.0, *ends))
    if hi <= lo:
        hi = lo + 1.0
    left, right = LABEL, W - VALUE
    height = TOP + ROW * len(bars) + 26

    def sx(v: float) -> float:
        v = min(max(v, lo), hi)
        return round(left + (v - lo) / (hi - lo) * (right - left), 2)

    zero = sx(0.0)
    out = [
        f'<svg class="chart {escape(kind)}" viewBox="0 0 {W} {height}" width="{W}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for i, name in enumerate(legend):
        x = W - 150 * (len(legend) - i)
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="15" class="tick">{escape(name)}</text>'
        )
    for i, b in enumerate(bars):
        y = TOP + i * ROW
        x0, x1 = sorted((zero, sx(b.value)))
        colour = PALETTE[b.series % len(PALETTE)]
        shown = _num(b.value, 3) + ("" if b.err is None else f" ± {_num(b.err, 2)}")
        out.append(
            f'<text x="{left - 6}" y="{y + 12}" class="tick" text-anchor="end">'
            f"{escape(b.label)}</text>"
            f'<rect class="bar" x="{x0}" y="{y + 2}" width="{max(x1 - x0, 1.0):.2f}" '
            f'height="14" fill="{colour}" data-label="{escape(b.label)}" '
            f'data-value="{b.value!r}"><title>{escape(b.label)}: {escape(shown)}</title></rect>'
        )
        if b.err:
            e0, e1, mid = sx(b.value - b.err), sx(b.value + b.err), y + 9
            out.append(
                f'<path class="error-bar" d="M{e0} {mid}H{e1}M{e0} {mid - 4}V{mid + 4}'
                f'M{e1} {mid - 4}V{mid + 4}" stroke="#111827" fill="none"/>'
            )
        out.append(f'<text x="{right + 6}" y="{y + 12}" class="tick">{escape(shown)}</text>')
    axis = TOP + ROW * len(bars) + 2
    out.append(
        f'<line x1="{zero}" y1="{TOP - 4}" x2="{zero}" y2="{axis}" stroke="#6b7280"/>'
        f'<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="#9ca3af"/>'
        f'<text x="{left}" y="{axis + 16}" class="tick">{_num(lo)}</text>'
        f'<text x="{right}" y="{axis + 16}" class="tick" text-anchor="end">{_num(hi)}</text>'
    )
    if lo < 0 < hi and min(zero - left, right - zero) > 40:  # no overlap with the ends
        out.append(f'<text x="{zero}" y="{axis + 16}" class="tick" text-anchor="middle">0</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _importance_chart(importance: Mapping[str, Any]) -> Markup:
    bars = [Bar(f["feature"], f["mean"], f["std"]) for f in importance.get("features", [])]
    title = f"Permutation importance (drop in {importance.get('scoring', 'score')}, mean ± std)"
    return bar_chart(title, bars, kind="importance")


def _fairness_chart(gate: Mapping[str, Any]) -> Markup:
    groups: Mapping[str, Mapping[str, float]] = gate.get("groups") or {}
    metrics = sorted({m for row in groups.values() for m in row})
    bars = [
        Bar(f"{group} · {metric}", float(row[metric]), series=metrics.index(metric))
        for group, row in groups.items()
        for metric in metrics
        if isinstance(row.get(metric), int | float)
    ]
    column = (gate.get("threshold") or {}).get("sensitive", "group")
    title = f"{gate['gate']} by {column}"
    return bar_chart(title, bars, kind="fairness", legend=metrics, bounds=(0.0, 1.0))


def _value(v: Any) -> str:
    """A number, a mapping or a list as short readable text."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={_value(x)}" for k, x in v.items()) or "—"
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v) or "—"
    return str(v)


def _evidence(gate: Mapping[str, Any]) -> str:
    """What a gate found besides its value: the note, the champion, timings, checks."""
    parts = []
    if gate.get("note"):
        parts.append(str(gate["note"]))
    if gate.get("champion"):
        champ = gate["champion"]
        parts.append(
            f"champion v{champ.get('version')} = {_value(champ.get('value'))}, "
            f"drop {_value(gate.get('drop'))}"
        )
    for key in ("p50_ms", "batch_ms", "batch_rows"):
        if key in gate:
            parts.append(f"{key} {_value(gate[key])}")
    if gate.get("kind") == "data_checks" and isinstance(gate.get("value"), Mapping):
        parts += [f"{ref}: {_checked(ok)}" for ref, ok in gate["value"].items()]
    if gate.get("groups"):
        parts.append(f"{len(gate['groups'])} groups (see Fairness)")
    return "; ".join(parts)


def _checked(ok: object) -> str:
    return "checks never run" if ok is None else ("checks passed" if ok else "checks FAILED")


def _payload(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def render_dossier(dossier: Mapping[str, Any]) -> str:
    """The dossier as one HTML document (a string)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ts=format_ms, value=_value, payload=_payload, checked=_checked)
    env.globals.update(
        importance_chart=_importance_chart, fairness_chart=_fairness_chart, evidence=_evidence
    )
    return env.get_template("dossier.html").render(d=dossier)
