"""Building and checking the DAG: nothing runs, the structure is validated up front."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.fingerprint import code_fingerprint, fingerprint


class Frame:  # stands in for a DataFrame type in annotations
    pass


@sy.step
def load(n: int = 3) -> list:
    return list(range(n))


@sy.step
def total(values: list) -> int:
    return sum(values)


@sy.step
def halve(x: float) -> float:
    return x / 2


@sy.step(outputs=2)
def split(values: list):
    return values[:1], values[1:]


@sy.step
def needs_frame(df: Frame) -> int:
    return 1


@sy.step(after=["second"])
def first() -> int:
    return 1


@sy.step(after=["first"])
def second() -> int:
    return 2


def test_calls_inside_a_pipeline_build_a_dag_in_dependency_order() -> None:
    @sy.pipeline
    def flow(n: int = 4):
        values = load(n)
        head, tail = split(values)
        halve(total(tail))
        total(head)

    graph = flow.graph(n=5)
    assert graph.order[0] == "load"
    assert set(graph.nodes) == {"load", "split", "total", "halve", "total_2"}
    assert graph.deps["halve"] == {"total"}
    assert graph.nodes["total_2"].args["values"].path == (0,)
    assert graph.params == {"n": 5}
    assert [len(layer) for layer in graph.layers()] == [1, 1, 2, 1]
    assert graph.downstream({"split"}) == {"split", "total", "total_2", "halve"}


def test_outside_a_pipeline_a_step_is_a_plain_call() -> None:
    assert total([1, 2, 3]) == 6
    assert halve.map([2, 4]) == [1.0, 2.0]


def test_a_cycle_is_refused_naming_its_steps() -> None:
    @sy.pipeline
    def loop():
        first()
        second()

    with pytest.raises(ValidationError, match=r"cycle: .*first.*second|cycle: .*second.*first"):
        loop.graph()


def test_after_an_unknown_step_is_refused() -> None:
    @sy.step(after=["nope"])
    def lonely() -> int:
        return 0

    @sy.pipeline
    def flow():
        lonely()

    with pytest.raises(ValidationError, match="after 'nope'"):
        flow.graph()


def test_a_missing_input_is_refused_naming_step_and_parameter() -> None:
    @sy.pipeline
    def flow():
        total()

    with pytest.raises(ValidationError, match=r"step 'total'.*'values'"):
        flow.graph()


def test_a_type_mismatch_between_annotated_steps_is_refused() -> None:
    @sy.pipeline
    def flow():
        needs_frame(total(load()))

    with pytest.raises(ValidationError, match=r"'df' expects Frame, but step 'total' returns int"):
        flow.graph()


def test_int_feeds_a_float_parameter_and_literals_are_checked() -> None:
    @sy.pipeline
    def ok():
        halve(total(load()))

    ok.graph()

    @sy.pipeline
    def bad():
        halve("three")

    with pytest.raises(ValidationError, match=r"'x' expects float, got str"):
        bad.graph()


def test_unpacking_needs_a_declared_arity_and_refs_refuse_truth_tests() -> None:
    @sy.pipeline
    def unpack():
        _a, _b = total(load())

    with pytest.raises(ValidationError, match="cannot unpack the output of step 'total'"):
        unpack.graph()

    @sy.pipeline
    def branch():
        if total(load()):
            pass

    with pytest.raises(ValidationError, match="not known while the pipeline is built"):
        branch.graph()


def test_pipeline_params_are_bound_and_unknown_ones_refused() -> None:
    @sy.pipeline
    def flow(n: int = 2):
        load(n)

    with pytest.raises(ValidationError, match="unexpected keyword argument 'm'"):
        flow.graph(m=1)


def test_fingerprint_changes_with_code_args_deps_and_seed() -> None:
    base = dict(code=code_fingerprint(total.fn), version="", args={"v": "a"}, deps={}, seed=1)
    fp = fingerprint(**base)
    assert fp == fingerprint(**base)
    assert fp != fingerprint(**{**base, "code": code_fingerprint(halve.fn)})
    assert fp != fingerprint(**{**base, "args": {"v": "b"}})
    assert fp != fingerprint(**{**base, "deps": {"numpy": "2.0"}})
    assert fp != fingerprint(**{**base, "seed": 2})
    assert fp != fingerprint(**{**base, "version": "2"})


def test_sweep_space_is_checked_against_the_objective() -> None:
    @sy.step
    def objective(values: list, c: float = 1.0) -> float:
        return c

    @sy.pipeline
    def flow():
        sy.sweep(objective, {"gamma": (0.1, 1.0)}, 3, values=load())

    with pytest.raises(ValidationError, match=r"\['gamma'\] are not parameters"):
        flow.graph()

    with pytest.raises(ValidationError, match="low must be below high"):
        sy.sweep(objective, {"c": (1.0, 0.1)}, 3)
