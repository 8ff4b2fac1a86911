"""Running pipelines: child runs, caching, failure and resume, fan-out, sweeps, datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shipyard.core.errors import NotFoundError
from tests.services.pipelines import flows


def _run(svc, pipeline, params=None, **kw):
    return svc.pipelines.run(pipeline, params or {}, actor="tester", **kw)


def _statuses(svc, run_id: str) -> dict[str, str]:
    return {
        (n if i is None else f"{n}[{i}]"): e.status
        for (n, i), e in svc.pipelines.latest_executions(run_id).items()
    }


def test_each_step_is_a_child_run_with_outputs_metrics_and_logs(svc) -> None:
    result = _run(svc, flows.training, {"alpha": 0.5})
    assert result.ok, result.error
    assert result.node_status == dict.fromkeys(
        ["make_frame", "split", "fit", "score", "coefficients", "summarise"], "finished"
    )
    summary = result.output("summarise")
    assert set(summary) == {"r2", "coef_norm"} and summary["r2"] > 0.9
    assert isinstance(result.output("make_frame"), pd.DataFrame)
    parent = svc.tracking.get_run(result.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.params["alpha"] == "0.5"
    assert parent.tags["shipyard.pipeline"] == "tests.services.pipelines.flows:training"
    execs = svc.pipelines.latest_executions(result.run_id)
    score = svc.tracking.get_run(execs[("score", None)].run_id)
    assert score.info.parent_run_id == result.run_id
    assert score.metrics["r2"].value == pytest.approx(summary["r2"], abs=1e-6)
    assert score.tags["shipyard.cache"] == "miss"
    fit = execs[("fit", None)]
    assert fit.output["format"] == "skops"
    fit_run = svc.tracking.get_run(fit.run_id)
    assert fit_run.params["alpha"] == "0.5"
    arts = {a.path for a in svc.tracking.all_artifacts(fit.run_id)}
    assert {"output/value.skops", "logs/output.txt"} <= arts
    _, stream = svc.tracking.open_artifact(fit.run_id, "logs/output.txt")
    assert b"fitting on 30 rows" in stream.read()


def test_a_rerun_is_served_from_the_cache_with_the_same_outputs(svc) -> None:
    first = _run(svc, flows.training)
    again = _run(svc, flows.training)
    assert set(again.node_status.values()) == {"cached"}
    assert {k: v.content_id for k, v in again.outputs.items()} == {
        k: v.content_id for k, v in first.outputs.items()
    }
    execs = svc.pipelines.latest_executions(again.run_id)
    assert {e.status for e in execs.values()} == {"CACHED"}
    child = svc.tracking.get_run(execs[("fit", None)].run_id)
    assert child.tags["shipyard.cache"] == "hit"
    assert (
        child.tags["shipyard.cache.source"]
        == svc.pipelines.latest_executions(first.run_id)[("fit", None)].run_id
    )
    # A different param invalidates fit and what follows, not the data steps.
    other = _run(svc, flows.training, {"alpha": 2.0})
    assert other.node_status["make_frame"] == "cached"
    assert other.node_status["split"] == "cached"
    assert other.node_status["fit"] == "finished"
    assert other.node_status["score"] == "finished"


def test_no_cache_and_from_step_force_execution(svc) -> None:
    _run(svc, flows.training)
    forced = _run(svc, flows.training, from_steps=["fit"])
    assert forced.node_status["split"] == "cached"
    assert {forced.node_status[n] for n in ("fit", "score", "coefficients", "summarise")} == {
        "finished"
    }
    everything = _run(svc, flows.training, cache=False)
    assert set(everything.node_status.values()) == {"finished"}
    from shipyard.core.errors import ValidationError

    with pytest.raises(ValidationError, match="--from 'nope'"):
        _run(svc, flows.training, from_steps=["nope"])


def test_a_changed_step_source_invalidates_it_and_only_its_downstream(
    svc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    package = tmp_path / "userflow.py"
    source = (Path(flows.__file__).parent / "editable_flow.txt").read_text()
    package.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("userflow")
    try:
        first = _run(svc, module.chain)
        assert set(first.node_status.values()) == {"finished"}
        package.write_text(source.replace("return value * 2", "return value * 3"))
        importlib.invalidate_caches()
        import linecache

        linecache.checkcache(str(package))
        module = importlib.reload(module)
        second = _run(svc, module.chain)
        assert second.node_status == {
            "start": "cached",
            "double": "finished",
            "after_double": "finished",
            "side": "cached",
        }
        assert second.output("after_double") == (1 * 3) + 1
    finally:
        sys.modules.pop("userflow", None)


def test_a_failing_step_fails_the_pipeline_and_resume_completes_it(svc, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    result = _run(svc, flows.failing, {"flag_file": str(flag)})
    assert not result.ok
    assert result.node_status == {
        "plus_one": "finished",
        "fragile": "failed",
        "plus_one_2": "skipped",
    }
    assert "step 'fragile' failed: RuntimeError: the flag file is missing" in result.error
    run = svc.tracking.get_run(result.run_id)
    assert run.info.status == "FAILED"
    failed = svc.pipelines.latest_executions(result.run_id)[("fragile", None)]
    assert failed.status == "FAILED" and "Traceback" in failed.error
    assert (
        "RuntimeError: the flag file is missing" in svc.tracking.get_run(failed.run_id).info.error
    )

    flag.write_text("ok")
    resumed = svc.pipelines.resume(result.run_id, actor="tester")
    assert resumed.ok and resumed.run_id == result.run_id
    assert resumed.output("plus_one_2") == ((1 + 1) * 2) + 1
    attempts = svc.pipelines.executions(result.run_id)
    second = [e for e in attempts if e.attempt == 2]
    assert {(e.node, e.status) for e in second} == {
        ("plus_one", "CACHED"),
        ("fragile", "FINISHED"),
        ("plus_one_2", "FINISHED"),
    }
    assert svc.tracking.get_run(result.run_id).info.status == "FINISHED"
    with pytest.raises(Exception, match="already finished"):
        svc.pipelines.resume(result.run_id, actor="tester")


def test_a_worker_dying_mid_step_fails_cleanly_and_resume_completes(svc, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    result = _run(svc, flows.crashing, {"marker": str(marker)}, executor="process", workers=1)
    assert not result.ok
    assert result.node_status["crash_once"] == "failed"
    assert "worker process running this step died" in result.error
    resumed = svc.pipelines.resume(result.run_id, actor="tester", executor="process")
    assert resumed.ok, resumed.error
    assert resumed.output("plus_one_2") == 4


def test_an_unserializable_output_names_the_step_and_type(svc) -> None:
    result = _run(svc, flows.unserializable)
    assert not result.ok
    assert result.node_status["generator_step"] == "failed"
    error = svc.pipelines.latest_executions(result.run_id)[("generator_step", None)].error
    assert "step 'generator_step' returned a generator" in error
    assert "allow_pickle=True" in error


def test_a_missing_dataset_version_fails_before_anything_runs(svc) -> None:
    with pytest.raises(NotFoundError, match="numbers"):
        _run(svc, flows.reads_dataset, {"ref": "numbers@v3"})
    assert svc.pipelines.list_runs() == []


def test_a_dataset_input_is_read_as_a_frame_and_recorded_as_lineage(svc) -> None:
    frame = pd.DataFrame({"a": range(12), "b": [x * 0.5 for x in range(12)]})
    svc.catalog.register("numbers", frame, user="tester")
    result = _run(svc, flows.reads_dataset, {"ref": "numbers@v1"})
    assert result.ok, result.error
    assert result.output("rows_of") == 12
    inputs = svc.catalog.inputs_of_run(result.run_id)
    assert [i.ref for i in inputs] == ["numbers@v1"]
    assert svc.pipelines.get_run(result.run_id).spec["datasets"] == {"numbers@v1": "numbers@v1"}


def test_map_and_sweep_make_one_child_run_per_item_and_trial(svc) -> None:
    result = _run(svc, flows.fanout, {"n": 3}, executor="process", workers=2)
    assert result.ok, result.error
    assert len(result.output("train_segment")) == 3
    best = result.output("sweep_objective")
    assert len(best["trials"]) == 4
    assert result.output("summarise_fanout")["best_alpha"] == best["best_params"]["alpha"]
    statuses = _statuses(svc, result.run_id)
    assert {k for k in statuses if k.startswith("train_segment[")} == {
        "train_segment[0]",
        "train_segment[1]",
        "train_segment[2]",
    }
    trials = [
        e
        for (n, _), e in svc.pipelines.latest_executions(result.run_id).items()
        if n == "sweep_objective"
    ]
    assert len(trials) == 4
    tagged = [e for e in trials if svc.tracking.get_run(e.run_id).tags.get("shipyard.sweep.best")]
    assert [e.map_index for e in tagged] == [best["best_index"]]
    again = _run(svc, flows.fanout, {"n": 3})
    assert set(again.node_status.values()) == {"cached"}
    assert again.output("sweep_objective") == best
    cached_trials = [
        e
        for (n, _), e in svc.pipelines.latest_executions(again.run_id).items()
        if n == "sweep_objective"
    ]
    best_again = [
        e.map_index
        for e in cached_trials
        if svc.tracking.get_run(e.run_id).tags.get("shipyard.sweep.best")
    ]
    assert best_again == [best["best_index"]]  # tagged even when served from the cache


def test_a_node_failing_outside_its_tasks_is_recorded_as_a_failed_execution(svc) -> None:
    result = _run(svc, flows.bad_sweep)
    assert not result.ok
    assert "sweep objective 'bad_objective' must return a number" in result.error
    failed = [
        e
        for e in svc.pipelines.executions(result.run_id)
        if e.status == "FAILED" and e.map_index is None
    ]
    assert [e.node for e in failed] == ["sweep_bad_objective"]
    assert "must return a number, got str" in failed[0].error
    assert svc.tracking.get_run(failed[0].run_id).info.status == "FAILED"


def test_listing_by_pipeline_name_matches_exactly(svc) -> None:
    _run(svc, flows.training)
    _run(svc, flows.failing, {"flag_file": __file__})
    assert [r.pipeline for r in svc.pipelines.list_runs("training")] == [
        "tests.services.pipelines.flows:training"
    ]
    assert svc.pipelines.list_runs("train_ng") == []
    assert svc.pipelines.list_runs("%") == []


def test_items_of_a_fan_out_each_get_an_untouched_copy_of_a_shared_input(svc) -> None:
    result = _run(svc, flows.mutating, cache=False)
    assert result.ok, result.error
    first, second, third = result.output("mutate_and_read")
    assert first == second == third == float(flows.make_frame.fn(10)["x"].iloc[0])


def test_durations_are_the_worker_time_of_each_execution(svc) -> None:
    result = _run(svc, flows.fanout, {"n": 2})
    for e in svc.pipelines.executions(result.run_id):
        assert e.duration_ms is not None and e.duration_ms >= 0, e
        run = svc.tracking.get_run(e.run_id)
        assert run.info.end_time >= run.info.start_time


def test_bad_logging_inside_a_step_fails_that_step_only(svc) -> None:
    result = _run(svc, flows.bad_logging)
    assert result.node_status == {"relogs": "failed", "bad_metric": "failed", "fine": "finished"}
    execs = svc.pipelines.latest_executions(result.run_id)
    assert "param 'alpha' of step 'relogs' is already '0.5'" in execs[("relogs", None)].error
    assert "metric key" in execs[("bad_metric", None)].error
    for e in execs.values():  # nothing left RUNNING
        assert svc.tracking.get_run(e.run_id).info.status in {"FINISHED", "FAILED"}


def test_a_cached_trial_the_sweep_refuses_fails_the_node_cleanly_every_time(svc) -> None:
    for _ in range(2):  # the second run serves the trials from the cache
        result = _run(svc, flows.bad_sweep)
        assert result.node_status == {"sweep_bad_objective": "failed"}
        assert "must return a number" in result.error
        assert svc.tracking.get_run(result.run_id).info.status == "FAILED"


def test_resume_keeps_the_runs_no_cache_option(svc, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("ok")
    assert _run(svc, flows.failing, {"flag_file": str(flag)}).ok  # fills the cache
    flag.unlink()
    failed = _run(svc, flows.failing, {"flag_file": str(flag)}, cache=False)
    assert failed.node_status["fragile"] == "failed"
    flag.write_text("ok")
    resumed = svc.pipelines.resume(failed.run_id, actor="tester")
    assert resumed.ok
    second = {e.node: e.status for e in svc.pipelines.executions(failed.run_id) if e.attempt == 2}
    # plus_one succeeded in this run (reused); fragile and after run again, not from the cache
    assert second == {"plus_one": "CACHED", "fragile": "FINISHED", "plus_one_2": "FINISHED"}


def test_a_running_run_is_resumed_only_with_force(svc, tmp_path: Path) -> None:
    from shipyard.core.errors import ConflictError

    failed = _run(svc, flows.failing, {"flag_file": str(tmp_path / "nope")})
    svc.tracking.update_run(failed.run_id, status="RUNNING")
    with svc.db.write() as conn:
        svc.pipelines.repo.set_run(conn, failed.run_id, status="RUNNING")
    (tmp_path / "nope").write_text("now")
    with pytest.raises(ConflictError, match=r"still RUNNING.*--force"):
        svc.pipelines.resume(failed.run_id, actor="tester")
    assert svc.pipelines.resume(failed.run_id, actor="tester", force=True).ok


def test_after_a_fixed_resume_the_run_shows_only_the_latest_attempt(
    svc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import linecache
    import sys

    source = (
        "import shipyard as sy\n\n\n@sy.step\ndef objective(x: float = 0.0):\n"
        "    return 'oops'\n\n\n@sy.pipeline\ndef flow():\n"
        "    sy.sweep(objective, {'x': (0.0, 1.0)}, 2)\n"
    )
    module_file = tmp_path / "sweepfix.py"
    module_file.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("sweepfix")
    try:
        failed = _run(svc, module.flow)
        assert not failed.ok
        module_file.write_text(source.replace("return 'oops'", "return x * 2"))
        linecache.checkcache(str(module_file))
        importlib.reload(module)
        resumed = svc.pipelines.resume(failed.run_id, actor="tester")
        assert resumed.ok, resumed.error
        latest = svc.pipelines.latest_executions(failed.run_id)
        assert {e.status for e in latest.values()} == {"FINISHED"}
        assert {e.attempt for e in latest.values()} == {2}
        assert not svc.tracking.get_run(failed.run_id).info.error
    finally:
        sys.modules.pop("sweepfix", None)


def test_arguments_json_would_blur_do_not_share_a_cache_entry(svc) -> None:
    import numpy as np

    from shipyard.services.pipelines.tasks import ArgResolver

    resolver = ArgResolver(svc.blobs, {}, {})
    ids = {repr(v): resolver.resolve(v, "t")[1] for v in ([1, 2], (1, 2), 1, np.int64(1), 1.0)}
    assert len(set(ids.values())) == 5, ids
    listed = _run(svc, flows.kinds, {"value": [1, 2]})
    assert listed.output("kind_of") == "list"


def test_a_pipeline_param_named_like_a_run_option_must_go_in_params() -> None:
    from shipyard.core.errors import ValidationError
    from shipyard.interfaces.sdk.pipelines import Pipeline

    flow = Pipeline(fn=flows.seeded.fn, name="seeded")
    with pytest.raises(ValidationError, match=r"named like options of run\(\): \['seed'\]"):
        flow.run(seed=5)


def test_a_cached_output_with_a_lost_object_is_computed_again(svc) -> None:
    first = _run(svc, flows.training)
    split = svc.pipelines.latest_executions(first.run_id)[("split", None)].output
    assert split["format"] == "bundle"
    manifest = json.loads(svc.blobs.get_bytes(split["digest"]))
    svc.blobs.delete(manifest["items"][1]["digest"])  # the test half of the split is gone
    again = _run(svc, flows.training)
    assert again.ok, again.error
    assert again.node_status["make_frame"] == "cached"
    assert again.node_status["split"] == "finished"  # recomputed: its bundle was incomplete
    assert again.output("split")[1].equals(
        first.output("make_frame").iloc[30:].reset_index(drop=True)
    )
