"""The pipeline DAG: nodes (one call of a step), references between them, and its checks.

A ``Ref`` stands for a step's output while the pipeline is built: nothing has run yet, so
it can only be passed on, indexed (``split(df)[0]``) or unpacked when the step declares
how many values it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError

if TYPE_CHECKING:
    from shipyard.core.pipelines.steps import StepDef

__all__ = ["DatasetInput", "Graph", "Node", "Ref", "iter_refs"]


@dataclass(frozen=True)
class Ref:
    """The (future) output of node ``node``, optionally an element of it (``path``)."""

    node: str
    path: tuple[str | int, ...] = ()
    arity: int | None = None

    def __getitem__(self, key: str | int) -> Ref:
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise ValidationError(
                f"the output of step {self.node!r} can be indexed by int or str, "
                f"not {type(key).__name__}",
                field="pipeline",
            )
        return Ref(self.node, (*self.path, key))

    def __iter__(self) -> Iterator[Ref]:
        if self.arity is None or self.path:
            raise ValidationError(
                f"cannot unpack the output of step {self.node!r}: declare how many values it "
                "returns with @sy.step(outputs=N) or a `-> tuple[A, B]` annotation",
                field="pipeline",
            )
        return iter([Ref(self.node, (i,)) for i in range(self.arity)])

    def __bool__(self) -> bool:
        raise ValidationError(
            f"the output of step {self.node!r} is not known while the pipeline is built; "
            "branch inside a step instead of in the pipeline function",
            field="pipeline",
        )

    @property
    def label(self) -> str:
        return self.node + "".join(f"[{p!r}]" for p in self.path)


@dataclass(frozen=True)
class DatasetInput:
    """A dataset version read by a step: ``sy.dataset("loans@training")``."""

    ref: str

    def __post_init__(self) -> None:
        if not isinstance(self.ref, str) or not self.ref.strip():
            raise ValidationError(
                f"a dataset input needs a reference like 'name@v3', got {self.ref!r}",
                field="dataset",
            )


@dataclass
class Node:
    """One call of a step inside a pipeline (or a fan-out over ``map_over``)."""

    id: str
    step: StepDef
    args: dict[str, Any]
    map_over: str | None = None  # the argument fanned out by ``step.map(items)``
    after: tuple[str, ...] = ()  # extra ordering, by node id or step name
    kind: str = "step"  # "step" | "sweep"
    extra: dict[str, Any] = field(default_factory=dict)

    def upstream(self) -> set[str]:
        return {r.node for r in iter_refs(self.args)}


def _leaves(value: Any, kind: type[Any]) -> Iterator[Any]:
    """Every instance of ``kind`` inside a literal structure (lists, tuples, dicts)."""
    if isinstance(value, kind):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item, kind)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item, kind)


def iter_refs(value: Any) -> Iterator[Ref]:
    """Every step output (``Ref``) an argument holds."""
    return _leaves(value, Ref)


def iter_datasets(value: Any) -> Iterator[DatasetInput]:
    """Every ``sy.dataset(...)`` an argument holds."""
    return _leaves(value, DatasetInput)


@dataclass
class Graph:
    """Nodes in call order; ``deps`` is filled and checked by ``validate``."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    deps: dict[str, set[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    datasets: dict[str, str] = field(default_factory=dict)  # ref as written → version read
    options: dict[str, Any] = field(default_factory=dict)  # how it was run: cache, from

    def validate(self) -> Graph:
        """Resolve ``after`` names, refuse unknown references and cycles; topological order."""
        by_step: dict[str, list[str]] = {}
        for node in self.nodes.values():
            by_step.setdefault(node.step.name, []).append(node.id)
        self.deps = {}
        for node in self.nodes.values():
            deps = node.upstream()
            for name in node.after:
                targets = [name] if name in self.nodes else by_step.get(name, [])
                if not targets:
                    raise ValidationError(
                        f"step {node.id!r} runs after {name!r}, which is not a step of "
                        f"pipeline {self.name!r}",
                        field="after",
                    )
                deps.update(targets)
            missing = deps - self.nodes.keys()
            if missing:
                raise ValidationError(
                    f"step {node.id!r} reads {sorted(missing)}, not steps of {self.name!r}",
                    field="pipeline",
                )
            self.deps[node.id] = deps
        self.order = self._topological_order()
        return self

    def _topological_order(self) -> list[str]:
        indegree = {n: len(d) for n, d in self.deps.items()}
        users: dict[str, list[str]] = {n: [] for n in self.nodes}
        for n, deps in self.deps.items():
            for d in deps:
                users[d].append(n)
        ready = [n for n in self.nodes if indegree[n] == 0]
        order: list[str] = []
        while ready:
            current = ready.pop(0)
            order.append(current)
            for user in users[current]:
                indegree[user] -= 1
                if indegree[user] == 0:
                    ready.append(user)
        if len(order) < len(self.nodes):
            raise ValidationError(
                f"pipeline {self.name!r} has a cycle: {' → '.join(self._find_cycle(order))}",
                field="pipeline",
            )
        return order

    def _find_cycle(self, done: list[str]) -> list[str]:
        left = [n for n in self.nodes if n not in set(done)]
        path: list[str] = [left[0]]
        while True:
            nxt = next(d for d in sorted(self.deps[path[-1]]) if d in left)
            if nxt in path:
                return [*path[path.index(nxt) :], nxt][::-1]
            path.append(nxt)

    def downstream(self, roots: set[str]) -> set[str]:
        """``roots`` and every node that depends on them, directly or not."""
        out = set(roots)
        for n in self.order:
            if self.deps[n] & out:
                out.add(n)
        return out

    def layers(self) -> list[list[str]]:
        """Nodes grouped by longest distance from a source: columns of a drawing."""
        depth: dict[str, int] = {}
        for n in self.order:
            depth[n] = 1 + max((depth[d] for d in self.deps[n]), default=-1)
        columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for n in self.order:
            columns[depth[n]].append(n)
        return columns

    def spec(self) -> dict[str, Any]:
        """A JSON description of the DAG (what is stored with a pipeline run)."""
        return {
            "name": self.name,
            "params": self.params,
            "datasets": self.datasets,
            "options": self.options,
            "nodes": [
                {
                    "id": n.id,
                    "step": n.step.name,
                    "kind": n.kind,
                    "map": n.map_over,
                    "deps": sorted(self.deps.get(n.id, ())),
                    **_sweep_spec(n),
                }
                for n in (self.nodes[i] for i in self.order or self.nodes)
            ],
        }


def _sweep_spec(node: Any) -> dict[str, Any]:
    """What a page needs to show a sweep's trials: the direction and the names searched."""
    if node.kind != "sweep":
        return {}
    extra = node.extra
    return {"direction": extra.get("direction"), "space": sorted(extra.get("space") or {})}
