"""A pipeline DAG as inline SVG, rendered on the server (no JavaScript, no layout library).

Layered left to right: a node's column is the longest path to it from a source, rows keep
the order of the stored spec, so the same run always draws the same picture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["COLOURS", "dag_svg", "fmt_duration", "layers"]

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 176, 60, 56, 22, 12
MAX_LABEL = 20  # what fits the box at 13 px bold, with nothing drawn beside it
# status → (fill, stroke)
COLOURS = {
    "finished": ("#dcfce7", "#16a34a"),
    "cached": ("#ccfbf1", "#0d9488"),
    "failed": ("#fee2e2", "#dc2626"),
    "running": ("#fef3c7", "#d97706"),
    "not run": ("#f3f4f6", "#9ca3af"),
}


def fmt_duration(ms: Any) -> str:
    """``850 ms``, ``12.3 s``, ``4m 05s``, ``2h 10m``; a dash when unknown."""
    if not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
        return "\u2013"
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def layers(nodes: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Node ids by column: 0 for sources, else 1 + the deepest dependency (cycle-safe)."""
    deps = {str(n["id"]): [str(d) for d in n.get("deps") or []] for n in nodes}
    depth: dict[str, int] = {}

    def visit(node: str, seen: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        known = [d for d in deps.get(node, []) if d in deps and d not in seen]
        depth[node] = 1 + max((visit(d, seen | {node}) for d in known), default=-1)
        return depth[node]

    for node in deps:
        visit(node, frozenset())
    columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in deps:
        columns[depth[node]].append(node)
    return columns


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _positions(columns: list[list[str]]) -> dict[str, tuple[int, int]]:
    tallest = max((len(c) for c in columns), default=0)
    out: dict[str, tuple[int, int]] = {}
    for col, ids in enumerate(columns):
        offset = (tallest - len(ids)) * (BOX_H + GAP_Y) // 2
        for row, node in enumerate(ids):
            out[node] = (PAD + col * (BOX_W + GAP_X), PAD + offset + row * (BOX_H + GAP_Y))
    return out


def _lane(
    columns: list[list[str]],
    pos: dict[str, tuple[int, int]],
    span: range,
    ys: tuple[int, int],
    height: int,
) -> int:
    """A height at which an edge can cross the columns in ``span`` without crossing a box."""
    boxes = [(pos[n][1], pos[n][1] + BOX_H) for c in span for n in columns[c]]
    candidates = {PAD // 2, height - PAD // 2}
    for top, bottom in boxes:
        candidates.update((top - GAP_Y // 2, bottom + GAP_Y // 2))
    free = [y for y in candidates if not any(t - 4 <= y <= b + 4 for t, b in boxes)]
    return min(sorted(free), key=lambda y: abs(y - ys[0]) + abs(y - ys[1]))


def _edge(src: tuple[int, int], dst: tuple[int, int], lane: int | None = None) -> str:
    x1, y1 = src[0] + BOX_W, src[1] + BOX_H // 2
    x2, y2 = dst[0] - 3, dst[1] + BOX_H // 2
    if lane is None:
        bend = max(20, (x2 - x1) // 2)
        d = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    else:  # a long edge: into a lane between the boxes of the columns it skips, and out
        xa, xb, b = x1 + GAP_X - 6, x2 - GAP_X + 6, GAP_X // 2
        d = (
            f"M{x1},{y1} C{x1 + b},{y1} {xa - b},{lane} {xa},{lane} L{xb},{lane} "
            f"C{xb + b},{lane} {x2 - b},{y2} {x2},{y2}"
        )
    return (
        f'<path class="dag-edge" d="{d}" fill="none" stroke="#64748b" stroke-width="1.4" '
        'marker-end="url(#dag-arrow)"/>'
    )


def _box(step: Mapping[str, Any], x: int, y: int) -> str:
    node, status = str(step["node"]), str(step.get("status", "not run"))
    fill, stroke = COLOURS.get(status, COLOURS["not run"])
    items = int(step.get("items") or 0)
    cached = status == "cached"
    detail = fmt_duration(step.get("duration_ms")) if items else ""
    if items > 1 or step.get("fanout"):
        detail = f"{items} items · {detail}" if items else "0 items"
    dash = ' stroke-dasharray="5,3"' if cached else ""
    parts = [
        f'<g class="dag-node" data-node="{escape(node)}" data-status="{escape(status)}" '
        f'transform="translate({x},{y})">',
        f"<title>{escape(node)} ({escape(str(step.get('step', '')))}): {escape(status)}</title>",
        f'<rect class="dag-box" width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.6"{dash}/>',
        f'<text class="dag-label" x="10" y="19" font-size="13" font-weight="600" '
        f'fill="#0f172a">{escape(_short(node))}</text>',
        # a cache hit's status is its badge, on its own line: never over the label
        f'<g class="dag-cached-badge" transform="translate(10,25)"><rect width="50" height="15" '
        f'rx="7" fill="{stroke}"/><text class="dag-status" x="25" y="11" font-size="10" '
        'fill="#fff" text-anchor="middle">cached</text></g>'
        if cached
        else f'<text class="dag-status" x="10" y="36" font-size="11" fill="{stroke}">'
        f"{escape(status)}</text>",
        f'<text class="dag-duration" x="10" y="51" font-size="11" fill="#475569">'
        f"{escape(detail)}</text>",
    ]
    parts.append("</g>")
    body = "".join(parts)
    href = step.get("href")
    if href:
        return f'<a class="dag-link" href="{escape(str(href))}">{body}</a>'
    return body


def dag_svg(steps: Sequence[Mapping[str, Any]]) -> str:
    """One SVG: a box per step (``node``, ``deps``, ``status``, ``duration_ms``, ``items``,
    ``href``, ``fanout``) coloured by status, and an arrow per dependency."""
    if not steps:
        return '<p class="muted" id="dag-empty">This pipeline has no steps.</p>'
    columns = layers([{"id": s["node"], "deps": s.get("deps")} for s in steps])
    pos = _positions(columns)
    tallest = max(len(c) for c in columns)
    width = 2 * PAD + len(columns) * BOX_W + (len(columns) - 1) * GAP_X
    height = 2 * PAD + tallest * BOX_H + (tallest - 1) * GAP_Y
    col = {n: c for c, ids in enumerate(columns) for n in ids}
    edges = []
    for s in steps:
        node = str(s["node"])
        for dep in (str(d) for d in s.get("deps") or [] if str(d) in pos):
            src, dst, lane = pos[dep], pos[node], None
            if col[node] - col[dep] > 1:
                ys = (src[1] + BOX_H // 2, dst[1] + BOX_H // 2)
                lane = _lane(columns, pos, range(col[dep] + 1, col[node]), ys, height)
            edges.append(_edge(src, dst, lane))
    boxes = [_box(s, *pos[str(s["node"])]) for s in steps]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" id="dag" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="pipeline DAG, {len(steps)} steps" font-family="system-ui,sans-serif">'
        '<defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#64748b"/></marker></defs>' + "".join(edges) + "".join(boxes) + "</svg>"
    )
