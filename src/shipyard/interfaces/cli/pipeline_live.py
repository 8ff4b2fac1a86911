"""The Rich live view of a running pipeline, and the DAG printed as a tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.interfaces.cli.common import console

__all__ = ["LiveView", "print_dag"]

_STYLE = {
    "pending": "dim",
    "running": "yellow",
    "finished": "green",
    "cached": "cyan",
    "failed": "bold red",
    "skipped": "dim",
}


@dataclass
class _Row:
    status: str = "pending"
    done: int = 0
    total: int = 1
    cached: int = 0
    seconds: float = 0.0
    error: str = ""


class LiveView:
    """Steps with status, cache hits, progress of fan-outs and durations, updated live."""

    def __init__(self, graph: Any, enabled: bool = True) -> None:
        self.graph = graph
        self.rows = {n: _Row() for n in graph.order}
        self.enabled = enabled
        self._live: Any = None

    def __enter__(self) -> LiveView:
        if self.enabled:
            from rich.live import Live

            self._live = Live(self._render(), console=console(), refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def update(self, event: Any) -> None:
        row = self.rows.get(event.node)
        if row is None:
            return
        row.total = max(event.total, 1)
        if event.duration_ms:
            row.seconds += event.duration_ms / 1000
        if event.status == "running":
            row.status = "running"
        elif event.status in {"finished", "cached"}:
            row.done = max(row.done, event.done)
            if event.index is not None:
                row.cached += event.status == "cached"
            if event.index is None and row.done >= row.total:
                row.status = event.status
        elif event.status in {"failed", "skipped"}:
            row.status = event.status
            lines = (event.error or "").strip().splitlines()
            row.error = lines[-1] if lines else ""
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        out = Table(title=f"pipeline {escape(self.graph.name)}", title_justify="left")
        for column in ("step", "status", "progress", "cache", "time", "note"):
            out.add_column(column)
        for node, row in self.rows.items():
            progress = f"{row.done}/{row.total}" if row.total > 1 else ""
            cache = f"{row.cached} hit" if row.cached else ""
            if row.status == "cached":
                cache = "hit" if row.total == 1 else f"{row.total} hit"
            out.add_row(
                escape(node),
                f"[{_STYLE[row.status]}]{row.status}[/]",
                progress,
                cache,
                f"{row.seconds:.2f}s" if row.seconds else "",
                escape(row.error[:80]),
            )
        return out

    def print_summary(self) -> None:
        console().print(self._render())


def print_dag(graph: Any) -> None:
    """Each step with what it needs, in execution order."""
    from rich.tree import Tree

    tree = Tree(f"[bold]{graph.name}[/] ({len(graph.nodes)} steps)")
    for node_id in graph.order:
        node = graph.nodes[node_id]
        kind = {"sweep": " [magenta]sweep[/]"}.get(node.kind, "")
        if node.map_over:
            kind = f" [magenta]map over {node.map_over}[/]"
        needs = ", ".join(sorted(graph.deps[node_id])) or "—"
        tree.add(f"[bold]{node_id}[/]{kind}  [dim]needs: {needs}[/]")
    console().print(tree)
