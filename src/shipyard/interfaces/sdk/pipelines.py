"""``@sy.step``, ``@sy.pipeline``, ``sy.sweep`` and ``sy.dataset``: the pipeline SDK."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from shipyard.core.errors import PipelineFailedError, ValidationError
from shipyard.core.pipelines.context import current_step
from shipyard.core.pipelines.graph import DatasetInput, Node, Ref
from shipyard.core.pipelines.space import Choice, Float, Int, parse_space
from shipyard.core.pipelines.steps import PipelineDef, StepDef, StepOptions, building
from shipyard.interfaces.sdk.main_guard import check_main_guard, starts_processes

__all__ = [
    "Pipeline",
    "PipelineFailedError",
    "choice",
    "current_step",
    "dataset",
    "integer",
    "loguniform",
    "pipeline",
    "step",
    "sweep",
    "uniform",
]


def _session() -> Any:
    import shipyard

    return shipyard._get_session()


@overload
def step(fn: Callable[..., Any], /) -> StepDef: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    allow_pickle: bool = False,
    outputs: int | None = None,
    deps: Sequence[str] = (),
    after: Sequence[str] = (),
    version: str = "",
) -> Callable[[Callable[..., Any]], StepDef]: ...
def step(fn: Callable[..., Any] | None = None, /, *, name: str | None = None, **options: Any):
    """Mark a function as a pipeline step (``@sy.step`` or ``@sy.step(deps=[...])``).

    ``cache``: reuse earlier outputs when the fingerprint matches; ``allow_pickle``: store
    outputs no safe format covers with pickle; ``outputs``: number of returned values (to
    unpack); ``deps``: distributions whose versions enter the fingerprint; ``after``: steps
    that must finish first; ``version``: bump to invalidate the cache by hand.
    """
    for key in ("deps", "after"):
        if key in options:
            value = options[key]
            options[key] = (value,) if isinstance(value, str) else tuple(value)
    try:
        opts = StepOptions(**options)
    except TypeError as e:
        raise ValidationError(f"@sy.step: {e}", field="step") from None

    def wrap(f: Callable[..., Any]) -> StepDef:
        return StepDef(f, opts, name)

    return wrap(fn) if fn is not None else wrap


_RUN_OPTIONS = frozenset(
    {
        "executor",
        "workers",
        "seed",
        "cache",
        "from_steps",
        "experiment",
        "raise_on_failure",
        "on_event",
        "params",
    }
)


class Pipeline(PipelineDef):
    """A pipeline function; ``run(**params)`` executes it and records everything."""

    def run(
        self,
        *,
        executor: str | None = None,
        workers: int | None = None,
        seed: int = 0,
        cache: bool = True,
        from_steps: Sequence[str] = (),
        experiment: str | None = None,
        raise_on_failure: bool = True,
        on_event: Callable[[Any], None] | None = None,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run with ``params`` (or keyword arguments); returns a ``PipelineResult``.

        A pipeline parameter named like an option of ``run`` (``seed``, ``cache``…) must be
        passed in ``params={...}``: as a keyword it would silently set the option instead.
        """
        clash = sorted(set(self.params) & _RUN_OPTIONS)
        if clash and params is None:
            raise ValidationError(
                f"pipeline {self.name!r} has parameters named like options of run(): "
                f"{clash}; pass its parameters as run(params={{...}})",
                field="params",
            )
        params = {**(params or {}), **kwargs}
        session = _session()
        services = session.services
        if not hasattr(services, "pipelines"):
            raise ValidationError(
                "pipelines run against a database and an object store directly; unset "
                "SHIPYARD_TRACKING_URI or point SHIPYARD_DB_URL/SHIPYARD_ARTIFACTS at them",
                field="tracking_uri",
            )
        chosen = executor or services.settings.executor
        if isinstance(chosen, str) and starts_processes(
            chosen, services.settings.dask_scheduler_address
        ):
            check_main_guard(self.name, chosen, sys._getframe(1))
        session.flush()
        result = services.pipelines.run(
            self,
            params,
            actor=services.settings.actor,
            executor=executor,
            workers=workers,
            experiment=experiment,
            seed=seed,
            cache=cache,
            from_steps=from_steps,
            on_event=on_event,
        )
        if raise_on_failure and not result.ok:
            raise PipelineFailedError(
                f"pipeline {self.name!r} failed (run {result.run_id}): {result.error}; "
                f"fix it and run `shipyard pipeline resume {result.run_id}`",
                result,
            )
        return result

    def graph(self, **params: Any) -> Any:
        """The validated DAG for these params (nothing runs)."""
        return self.build(params)


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...
@overload
def pipeline(
    *, name: str | None = None, executor: str | None = None
) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    executor: str | None = None,
):
    """Mark a function composing steps as a pipeline (``@sy.pipeline``)."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        if not callable(f):
            raise ValidationError(f"@sy.pipeline needs a function, got {f!r}", field="pipeline")
        p = Pipeline(fn=f, name=name or f.__name__, default_executor=executor)
        p.__doc__ = f.__doc__
        return p

    return wrap(fn) if fn is not None else wrap


def dataset(ref: str) -> DatasetInput:
    """A dataset version as a step input: the step receives the table as a DataFrame."""
    return DatasetInput(ref)


def uniform(low: float, high: float) -> Float:
    return Float(float(low), float(high))


def loguniform(low: float, high: float) -> Float:
    return Float(float(low), float(high), log=True)


def integer(low: int, high: int, log: bool = False) -> Int:
    return Int(int(low), int(high), log)


def choice(options: Sequence[Any]) -> Choice:
    return Choice(tuple(options))


def sweep(
    objective: StepDef,
    space: Mapping[str, Any],
    n_trials: int = 20,
    *,
    direction: str = "maximize",
    parallel: int = 4,
    executor: str | None = None,
    seed: int = 0,
    **inputs: Any,
) -> Any:
    """Hyperparameter search with Optuna over ``space``; each trial is a child run.

    Inside a ``@sy.pipeline`` this adds a node whose output is ``{"best_params",
    "best_value", "best_index", "trials"}``; outside one it runs at once and returns that
    summary. ``inputs`` are fixed arguments of ``objective`` (step outputs or values).
    """
    if not isinstance(objective, StepDef):
        raise ValidationError("sy.sweep needs a @sy.step objective", field="objective")
    if direction not in {"minimize", "maximize"}:
        raise ValidationError(
            f"direction must be 'minimize' or 'maximize', got {direction!r}", field="direction"
        )
    if (
        not isinstance(n_trials, int)
        or n_trials < 1
        or not isinstance(parallel, int)
        or parallel < 1
    ):
        raise ValidationError("n_trials and parallel must be positive integers", field="n_trials")
    dims = parse_space(space)
    names = set(objective.signature.parameters)
    unknown = sorted(set(dims) - names)
    if unknown:
        raise ValidationError(
            f"space dimensions {unknown} are not parameters of step {objective.name!r}",
            field="space",
        )
    graph = building()
    if graph is None:
        wrapper = Pipeline(
            fn=_single_sweep(objective, space, n_trials, direction, parallel, inputs),
            name=f"sweep-{objective.name}",
        )
        result = wrapper.run(executor=executor, seed=seed)
        return result.output(f"sweep_{objective.name}")
    try:
        bound = objective.signature.bind_partial(**inputs)
    except TypeError as e:
        raise ValidationError(f"sweep of {objective.name!r}: {e}", field="inputs") from None
    node_id = f"sweep_{objective.name}"
    n = 2
    while node_id in graph.nodes:
        node_id, n = f"sweep_{objective.name}_{n}", n + 1
    graph.nodes[node_id] = Node(
        id=node_id,
        step=objective,
        args=dict(bound.arguments),
        kind="sweep",
        extra={"space": dims, "n_trials": n_trials, "direction": direction, "parallel": parallel},
    )
    return Ref(node_id)


def _single_sweep(
    objective: StepDef,
    space: Mapping[str, Any],
    n_trials: int,
    direction: str,
    parallel: int,
    inputs: dict[str, Any],
) -> Callable[[], None]:
    def run_sweep() -> None:
        sweep(objective, space, n_trials, direction=direction, parallel=parallel, **inputs)

    run_sweep.__qualname__ = run_sweep.__name__ = f"sweep_{objective.name}"
    run_sweep.__module__ = objective.__module__
    return run_sweep
