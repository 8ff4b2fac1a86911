"""``@sy.step`` and ``@sy.pipeline`` definitions, and building the DAG by calling them.

Inside a pipeline function, calling a step records a node and returns a ``Ref``; outside
one, it simply calls the function (handy in notebooks and unit tests).
"""

from __future__ import annotations

import contextvars
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.graph import DatasetInput, Graph, Node, Ref, iter_refs

__all__ = ["PipelineDef", "StepDef", "StepOptions", "building"]

_BUILDER: contextvars.ContextVar[Graph | None] = contextvars.ContextVar("builder", default=None)


def building() -> Graph | None:
    """The graph being built by the pipeline function now running, if any."""
    return _BUILDER.get()


@dataclass(frozen=True)
class StepOptions:
    cache: bool = True
    allow_pickle: bool = False
    outputs: int | None = None  # how many values the step returns, to unpack its Ref
    deps: tuple[str, ...] = ()  # distributions whose versions enter the fingerprint
    after: tuple[str, ...] = ()  # steps that must finish first (no data passed)
    version: str = ""  # bump to invalidate the cache by hand


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


class StepDef:
    """A function marked as a pipeline step."""

    def __init__(self, fn: Callable[..., Any], options: StepOptions, name: str | None = None):
        if not callable(fn) or inspect.isclass(fn):
            raise ValidationError(f"@sy.step needs a function, got {fn!r}", field="step")
        self.fn = fn
        self.name = name or fn.__name__
        self.options = options
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<step {self.name} ({_qualified(self.fn)})>"

    def __reduce__(self) -> Any:
        # By reference when importable (workers import the module), by value otherwise.
        if self.__module__ != "__main__" and _importable(self):
            return (_import_step, (self.__module__, self.__qualname__))
        return (StepDef, (self.fn, self.options, self.name))

    @property
    def arity(self) -> int | None:
        if self.options.outputs is not None:
            return self.options.outputs
        ret = _hints(self.fn).get("return")
        args = typing.get_args(ret)
        if typing.get_origin(ret) is tuple and args and Ellipsis not in args:
            return len(args)
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = building()
        if graph is None:
            return self.fn(*args, **kwargs)
        bound = self._bind(args, kwargs)
        return _add_node(graph, self, bound, map_over=None)

    def map(self, items: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Fan out: one execution per item, bound to the first parameter not given."""
        graph = building()
        first = next((p for p in self.signature.parameters if p not in kwargs), None)
        if first is None:
            raise ValidationError(
                f"step {self.name!r}.map(items): every parameter is already given",
                field="map",
            )
        if graph is None:
            return [self.fn(item, *args, **kwargs) for item in items]
        if not isinstance(items, Ref | list | tuple):
            raise ValidationError(
                f"step {self.name!r}.map() needs a list or a step output, "
                f"got {type(items).__name__}",
                field="map",
            )
        bound = self._bind((list(items) if isinstance(items, tuple) else items, *args), kwargs)
        return _add_node(graph, self, bound, map_over=first)

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise ValidationError(f"step {self.name!r}: {e}", field=self.name) from None
        bound.apply_defaults()
        return dict(bound.arguments)


def _importable(step: StepDef) -> bool:
    try:
        return _import_step(step.__module__, step.__qualname__) is step
    except Exception:
        return False


def _import_step(module: str, qualname: str) -> Any:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return {}  # unresolvable forward references: no type checks for this step


def _add_node(graph: Graph, step: StepDef, args: dict[str, Any], map_over: str | None) -> Ref:
    node_id = step.name
    n = 2
    while node_id in graph.nodes:
        node_id, n = f"{step.name}_{n}", n + 1
    _check_types(graph, step, args, map_over)
    graph.nodes[node_id] = Node(
        id=node_id, step=step, args=args, map_over=map_over, after=step.options.after
    )
    return Ref(node_id, arity=None if map_over else step.arity)


def _check_types(graph: Graph, step: StepDef, args: dict[str, Any], map_over: str | None) -> None:
    hints = _hints(step.fn)
    for name, value in args.items():
        expected = hints.get(name)
        if expected is None or name == map_over or isinstance(value, DatasetInput):
            continue
        if isinstance(value, Ref):
            produced = _produced_type(graph, value)
            if produced is not None and not _compatible(produced, expected):
                raise ValidationError(
                    f"step {step.name!r} parameter {name!r} expects {_tname(expected)}, but "
                    f"step {value.node!r} returns {_tname(produced)}",
                    field=name,
                )
        elif not any(True for _ in iter_refs(value)) and not _instance_ok(value, expected):
            raise ValidationError(
                f"step {step.name!r} parameter {name!r} expects {_tname(expected)}, "
                f"got {type(value).__name__} {value!r:.60}",
                field=name,
            )


def _produced_type(graph: Graph, ref: Ref) -> Any:
    node = graph.nodes[ref.node]
    if node.map_over is not None or node.kind != "step":
        return None
    ret = _hints(node.step.fn).get("return")
    for key in ref.path:
        args = typing.get_args(ret)
        if typing.get_origin(ret) is tuple and isinstance(key, int) and key < len(args):
            ret = args[key]
        else:
            return None
    return ret


def _classes(t: Any) -> list[type] | None:
    """The plain classes a hint allows, or None when it cannot be checked simply."""
    if t is Any or t is None:
        return None
    origin = typing.get_origin(t)
    if origin in (typing.Union, types.UnionType):
        parts = [_classes(a) for a in typing.get_args(t)]
        if any(p is None for p in parts):
            return None
        return [c for p in parts if p for c in p]
    if origin is not None:
        return [origin] if isinstance(origin, type) else None
    return [t] if isinstance(t, type) else None


def _compatible(produced: Any, expected: Any) -> bool:
    have, want = _classes(produced), _classes(expected)
    if have is None or want is None:
        return True
    return all(any(_subclass(h, w) for w in want) for h in have)


def _subclass(have: type, want: type) -> bool:
    if want is float and have is int:
        return True
    try:
        return issubclass(have, want)
    except TypeError:
        return True


def _instance_ok(value: Any, expected: Any) -> bool:
    want = _classes(expected)
    if want is None:
        return True
    if value is None:
        return type(None) in want
    return any(_subclass(type(value), w) for w in want)


def _tname(t: Any) -> str:
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


@dataclass
class PipelineDef:
    """A function composing steps; ``build(**params)`` turns it into a validated ``Graph``."""

    fn: Callable[..., Any]
    name: str
    default_executor: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return _qualified(self.fn)

    @property
    def params(self) -> dict[str, Any]:
        """Declared parameters and their defaults (``inspect.Parameter.empty`` if required)."""
        return {n: p.default for n, p in inspect.signature(self.fn).parameters.items()}

    def build(self, params: dict[str, Any] | None = None) -> Graph:
        try:
            bound = inspect.signature(self.fn).bind(**(params or {}))
        except TypeError as e:
            raise ValidationError(f"pipeline {self.name!r}: {e}", field="params") from None
        bound.apply_defaults()
        graph = Graph(name=self.name, params=dict(bound.arguments))
        token = _BUILDER.set(graph)
        try:
            self.fn(**bound.arguments)
        finally:
            _BUILDER.reset(token)
        if not graph.nodes:
            raise ValidationError(f"pipeline {self.name!r} calls no step", field="pipeline")
        return graph.validate()
