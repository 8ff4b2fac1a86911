"""From DAG nodes to tasks: resolve arguments, fingerprint them, and drive fan-outs.

A node becomes one task (a plain step), one task per item (``step.map``) or a stream of
trials (``sy.sweep``). Drivers hand tasks to the runner and assemble the node's output.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.fingerprint import canonical_json, code_fingerprint, fingerprint
from shipyard.core.pipelines.graph import DatasetInput, Node, Ref
from shipyard.core.pipelines.steps import StepDef
from shipyard.services.pipelines.codec import (
    Stored,
    decode_value,
    encode_value,
    literal_content_id,
    make_bundle,
)
from shipyard.services.pipelines.worker import InputValue

if TYPE_CHECKING:
    from shipyard.stores.blobs import ContentStore

__all__ = ["ArgResolver", "NodeDriver", "Task", "derive_seed", "driver_for"]


def derive_seed(seed: int, node: str, index: int | None) -> int:
    """A per-task seed: stable for the same pipeline seed, node and item."""
    digest = hashlib.sha256(f"{seed}:{node}:{index}".encode()).hexdigest()
    return int(digest[:8], 16)


@dataclass
class Task:
    node: str
    step: StepDef
    index: int | None
    args: dict[str, Any]  # literals and InputValues, as the worker receives them
    arg_ids: dict[str, str]  # argument → content id (what the fingerprint sees)
    params: dict[str, Any]  # what the child run records as params
    seed: int
    fingerprint: str = ""
    deps: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.node if self.index is None else f"{self.node}[{self.index}]"

    @property
    def param_texts(self) -> dict[str, str]:
        """The params as the child run records them."""
        return {k: param_text(v) for k, v in self.params.items()}


MAX_PARAM_CHARS = 6000


def param_text(value: Any) -> str:
    """A param value as recorded: str as is, anything else as JSON (cut to the limit)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:MAX_PARAM_CHARS]


class ArgResolver:
    """Turns node arguments into worker arguments plus content ids, using finished outputs."""

    def __init__(
        self, store: ContentStore, outputs: dict[str, Stored], datasets: dict[str, Stored]
    ) -> None:
        self.store = store
        self.outputs = outputs
        self.datasets = datasets

    def resolve(self, value: Any, owner: str) -> tuple[Any, str]:
        if isinstance(value, Ref):
            stored = self.outputs[value.node]
            cid = stored.content_id
            if value.path:
                cid = _hash(canonical_json([cid, list(value.path)]))
            return InputValue(stored.to_dict(), value.path), cid
        if isinstance(value, DatasetInput):
            stored = self.datasets[value.ref]
            return InputValue(stored.to_dict()), stored.content_id
        literal = literal_content_id(_typed(value), self.store.algorithm) if _plain(value) else None
        if literal is not None:
            return value, literal
        if isinstance(value, list | tuple) and not isinstance(value, str):
            pairs = [self.resolve(v, owner) for v in value]
            items = [p[0] for p in pairs]
            return (items if isinstance(value, list) else tuple(items)), _hash(
                canonical_json([type(value).__name__, [p[1] for p in pairs]])
            )
        if isinstance(value, dict):
            resolved = {k: self.resolve(v, owner) for k, v in value.items()}
            return {k: p[0] for k, p in resolved.items()}, _hash(
                canonical_json({f"{type(k).__name__}:{k}": p[1] for k, p in resolved.items()})
            )
        stored = encode_value(value, self.store, owner=owner)
        return InputValue(stored.to_dict()), stored.content_id

    def value_of(self, ref: Ref) -> Any:
        """The decoded value of a finished output (for items to fan out over)."""
        return decode_value(self.outputs[ref.node], self.store, path=ref.path)


def _plain(value: Any) -> bool:
    from shipyard.core.pipelines.graph import iter_datasets, iter_refs

    return not any(True for _ in iter_refs(value)) and not any(True for _ in iter_datasets(value))


def _typed(value: Any) -> Any:
    """A literal with the types JSON would blur marked: (1, 2) is not [1, 2], np.int64(1)
    is not 1 — two arguments that a step could tell apart never share a cache entry."""
    if isinstance(value, tuple):
        return {"__tuple__": [_typed(v) for v in value]}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if type(value).__module__ == "numpy":
        return {"__numpy__": str(getattr(value, "dtype", type(value).__name__)), "v": value}
    return value


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _loggable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def make_task(
    node: Node,
    step: StepDef,
    args: dict[str, Any],
    index: int | None,
    resolver: ArgResolver,
    seed: int,
    deps: dict[str, str],
    extra_params: dict[str, Any] | None = None,
) -> Task:
    owner = f"step {node.id!r}"
    worker_args: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for name, value in args.items():
        worker_args[name], ids[name] = resolver.resolve(value, owner)
    params = {k: v for k, v in args.items() if _loggable(v)}
    params.update(extra_params or {})
    task_seed = derive_seed(seed, node.id, index)
    task = Task(node.id, step, index, worker_args, ids, params, task_seed, deps=deps)
    task.fingerprint = fingerprint(
        code=code_fingerprint(step.fn),
        version=step.options.version,
        args=ids,
        deps=deps,
        seed=task_seed,
    )
    return task


class NodeDriver:
    """A plain step: one task; its output is the node's output."""

    def __init__(self, node: Node, resolver: ArgResolver, seed: int, deps: dict[str, str]):
        self.node = node
        self.resolver = resolver
        self.seed = seed
        self.deps = deps
        self.results: dict[int | None, Stored] = {}
        self.expected = 1

    def start(self) -> list[Task]:
        return [
            make_task(
                self.node, self.node.step, self.node.args, None, self.resolver, self.seed, self.deps
            )
        ]

    def finished(self, task: Task, output: Stored) -> list[Task]:
        self.results[task.index] = output
        return []

    @property
    def complete(self) -> bool:
        return len(self.results) >= self.expected

    def output(self) -> Stored:
        return self.results[None]


class MapDriver(NodeDriver):
    """``step.map(items)``: one task per item; the output is the list of item outputs."""

    def start(self) -> list[Task]:
        name = self.node.map_over
        assert name is not None
        items = self.node.args[name]
        if isinstance(items, Ref):
            items = self.resolver.value_of(items)
        if not isinstance(items, list | tuple):
            raise ValidationError(
                f"step {self.node.id!r}.map() needs a list to fan out over, "
                f"got {type(items).__name__}",
                field="map",
            )
        self.expected = len(items)
        return [
            make_task(
                self.node,
                self.node.step,
                {**self.node.args, name: item},
                i,
                self.resolver,
                self.seed,
                self.deps,
            )
            for i, item in enumerate(items)
        ]

    def output(self) -> Stored:
        ordered = [self.results[i] for i in range(self.expected)]
        return make_bundle(ordered, self.resolver.store, kind="list")


def driver_for(node: Node, resolver: ArgResolver, seed: int, deps: dict[str, str]) -> NodeDriver:
    if node.kind == "sweep":
        from shipyard.services.pipelines.sweep import SweepDriver

        return SweepDriver(node, resolver, seed, deps)
    if node.map_over is not None:
        return MapDriver(node, resolver, seed, deps)
    return NodeDriver(node, resolver, seed, deps)
