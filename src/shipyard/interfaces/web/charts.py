"""Metric curves as inline SVG, rendered on the server (no JavaScript, no CDN)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from shipyard.core.entities import Metric

__all__ = ["Series", "line_chart"]

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"]
W, H, PAD = 560, 240, 40


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[Metric]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def line_chart(title: str, series: Sequence[Series]) -> str:
    """One SVG with a polyline per series (x = step, y = value), axes labelled with ranges."""
    title = escape(title)
    finite = [(m.step, m.value) for s in series for m in s.points if math.isfinite(m.value)]
    if not finite:
        return f'<p class="muted">{title}: no finite values</p>'
    xs, ys = [p[0] for p in finite], [p[1] for p in finite]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD)

    def sy(y: float) -> float:
        return H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD)

    parts = [
        f'<svg class="chart" data-metric="{title}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-label="{title}">',
        f'<text x="{PAD}" y="16" class="chart-title">{title}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<text x="2" y="{PAD + 4}" class="tick">{_fmt(y1)}</text>',
        f'<text x="2" y="{H - PAD}" class="tick">{_fmt(y0)}</text>',
        f'<text x="{PAD}" y="{H - PAD + 16}" class="tick">step {x0}</text>',
        f'<text x="{W - PAD - 40}" y="{H - PAD + 16}" class="tick">{x1}</text>',
    ]
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        pts = " ".join(
            f"{sx(m.step):.1f},{sy(m.value):.1f}" for m in s.points if math.isfinite(m.value)
        )
        parts.append(
            f'<polyline class="series" data-label="{escape(s.label)}" fill="none" stroke="{color}" '
            f'stroke-width="2" points="{pts}"/>'
        )
        if len(s.points) == 1:
            m = s.points[0]
            parts.append(
                f'<circle cx="{sx(m.step):.1f}" cy="{sy(m.value):.1f}" r="3" fill="{color}"/>'
            )
        parts.append(
            f'<text x="{W - PAD + 4 - 120}" y="{PAD + 14 * i}" fill="{color}" class="legend">'
            f"{escape(s.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
