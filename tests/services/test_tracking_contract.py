"""The tracking contract, run against SQLite and PostgreSQL (``db_url`` is parametrized)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shipyard.core.entities import Metric
from shipyard.core.errors import (
    AlreadyExistsError,
    ArtifactCorruptedError,
    ConflictError,
    FilterSyntaxError,
    InvalidStateTransitionError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.states import LifecycleStage, RunStatus
from shipyard.services.tracking import TrackingService
from shipyard.stores.blobs import open_content_store
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.schema import ensure_schema


@pytest.fixture
def tracking(db_url: str, tmp_path: Path) -> TrackingService:
    db = Database(db_url)
    ensure_schema(db)
    service = TrackingService(db, open_content_store(str(tmp_path / "objects")))
    yield service
    db.dispose()


def _run(t: TrackingService, exp: str = "exp", **kw) -> str:
    eid = t.get_or_create_experiment(exp).experiment_id
    return t.create_run(eid, **kw).run_id


def test_experiment_create_get_and_duplicate(tracking: TrackingService) -> None:
    eid = tracking.create_experiment("churn", tags={"team": "risk"})
    exp = tracking.get_experiment(eid)
    assert exp.name == "churn" and exp.tags == {"team": "risk"}
    assert tracking.get_experiment_by_name("churn").experiment_id == eid
    with pytest.raises(AlreadyExistsError, match="churn"):
        tracking.create_experiment("churn")
    with pytest.raises(NotFoundError):
        tracking.get_experiment("999999")
    with pytest.raises(ValidationError, match="experiment_id"):
        tracking.get_experiment("abc")


def test_run_lifecycle_params_tags_metrics(tracking: TrackingService) -> None:
    run_id = _run(tracking, run_name="first", user="ana", tags={"team": "a"})
    tracking.log_batch(
        run_id,
        [
            Metric("loss", 0.5, 1000, 0),
            Metric("loss", 0.25, 1001, 1),
            Metric("acc", float("nan"), 1000, 0),
        ],
        params={"lr": 0.1},
        tags={"stage": "dev"},
    )
    run = tracking.get_run(run_id)
    assert run.info.run_name == "first" and run.info.user == "ana"
    assert run.info.status == RunStatus.RUNNING
    assert run.params == {"lr": "0.1"}
    assert run.tags["team"] == "a" and run.tags["stage"] == "dev"
    assert run.metrics["loss"].value == 0.25 and run.metrics["loss"].step == 1
    assert math.isnan(run.metrics["acc"].value)
    history = tracking.metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]
    # an older step logged late does not replace the latest value
    tracking.log_batch(run_id, [Metric("loss", 9.0, 2000, 0)])
    assert tracking.get_run(run_id).metrics["loss"].value == 0.25
    finished = tracking.update_run(run_id, status="FINISHED")
    assert finished.info.status == RunStatus.FINISHED and finished.info.end_time is not None


def test_param_reset_same_value_ok_different_value_conflict(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    tracking.log_batch(run_id, params={"model": "rf"})
    tracking.log_batch(run_id, params={"model": "rf"})
    with pytest.raises(ConflictError, match="immutable") as err:
        tracking.log_batch(run_id, params={"model": "gbm"})
    assert err.value.field == "params.model"
    assert tracking.get_run(run_id).params == {"model": "rf"}


def test_nested_runs_and_illegal_transition(tracking: TrackingService) -> None:
    parent = _run(tracking)
    eid = tracking.get_run(parent).info.experiment_id
    child = tracking.create_run(eid, parent_run_id=parent)
    assert child.info.parent_run_id == parent
    assert child.tags["mlflow.parentRunId"] == parent
    found = tracking.search_runs([eid], f"attributes.parent_run_id = '{parent}'").runs
    assert [r.run_id for r in found] == [child.run_id]
    tracking.update_run(parent, status="FAILED")
    with pytest.raises(InvalidStateTransitionError, match="FAILED to SCHEDULED"):
        tracking.update_run(parent, status="SCHEDULED")


def test_bad_inputs_name_the_field(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    with pytest.raises(NotFoundError):
        tracking.get_run("0" * 32)
    with pytest.raises(ValidationError, match="run_id"):
        tracking.get_run("../../etc/passwd")
    with pytest.raises(ValidationError, match="param key"):
        tracking.log_batch(run_id, params={"": 1})
    with pytest.raises(ValidationError, match=r"\.\."):
        tracking.log_batch(run_id, tags={"a/../b": "x"})
    with pytest.raises(ValidationError, match="status"):
        tracking.update_run(run_id, status="DONE")
    with pytest.raises(FilterSyntaxError) as err:
        tracking.search_runs([], "metrics.auc > ")
    assert err.value.position == 14
    with pytest.raises(ValidationError, match="max_results"):
        tracking.search_runs([], max_results=0)
    with pytest.raises(ValidationError, match="page_token"):
        tracking.search_runs([], page_token="garbage")


def test_search_filters_orders_and_pages_in_sql(tracking: TrackingService) -> None:
    eid = tracking.create_experiment("search")
    for i in range(12):
        rid = tracking.create_run(eid, run_name=f"r{i}").run_id
        tracking.log_batch(
            rid,
            [Metric("auc", i / 10, 1, 0)],
            params={"model": "rf" if i % 2 else "gbm"},
            tags={"team": "a" if i < 6 else "b"},
        )
    page = tracking.search_runs(
        [eid], "metrics.auc > 0.3 and params.model = 'rf'", ["metrics.auc DESC"], max_results=3
    )
    assert [r.info.run_name for r in page.runs] == ["r11", "r9", "r7"]
    assert page.next_page_token
    rest = tracking.search_runs(
        [eid],
        "metrics.auc > 0.3 and params.model = 'rf'",
        ["metrics.auc DESC"],
        3,
        page.next_page_token,
    )
    assert [r.info.run_name for r in rest.runs] == ["r5"] and rest.next_page_token is None
    either = tracking.search_runs(
        [eid], "tags.team = 'b' or metrics.auc < 0.1", ["attributes.run_name"]
    )
    assert {r.info.run_name for r in either.runs} == {"r0", "r6", "r7", "r8", "r9", "r10", "r11"}
    missing = tracking.search_runs(
        [eid], "params.other IS NULL and run_name LIKE 'r1%'", ["run_name"]
    )
    assert [r.info.run_name for r in missing.runs] == ["r1", "r10", "r11"]
    insensitive = tracking.search_runs([eid], "run_name ILIKE 'R1_'")
    assert len(insensitive.runs) == 2
    assert tracking.search_runs([eid], "run_name LIKE 'R1_'").runs == []


def test_deleted_runs_hidden_unless_asked(tracking: TrackingService) -> None:
    run_id = _run(tracking, exp="del")
    eid = tracking.get_run(run_id).info.experiment_id
    tracking.set_run_lifecycle(run_id, LifecycleStage.DELETED)
    assert tracking.search_runs([eid]).runs == []
    assert len(tracking.search_runs([eid], view_type="DELETED_ONLY").runs) == 1
    with pytest.raises(ConflictError, match="deleted"):
        tracking.log_batch(run_id, params={"a": 1})


def test_artifacts_files_folders_traversal_and_corruption(
    tracking: TrackingService, tmp_path: Path
) -> None:
    run_id = _run(tracking)
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "sub" / "conf.json").write_text('{"a": 1}')
    tracking.log_artifact(run_id, folder, "model")
    listing = tracking.list_artifacts(run_id, "model")
    assert {(f.path, f.is_dir) for f in listing} == {
        ("model/sub", True),
        ("model/weights.bin", False),
    }
    info, stream = tracking.open_artifact(run_id, "model/sub/conf.json")
    with stream:
        assert stream.read() == b'{"a": 1}'
    out = tracking.download_artifacts(run_id, "model", tmp_path / "out")
    assert (out / "sub" / "conf.json").read_text() == '{"a": 1}'
    for bad in ("../../etc/passwd", "/etc/passwd", "a\\b"):
        with pytest.raises(ValidationError):
            tracking.open_artifact(run_id, bad)
        with pytest.raises(ValidationError):
            tracking.log_artifact(run_id, folder / "weights.bin", bad)
    with pytest.raises(NotFoundError):
        tracking.open_artifact(run_id, "model/nope")
    # corrupt the stored object behind weights.bin: reading it must fail, never return bad bytes
    info, stream = tracking.open_artifact(run_id, "model/weights.bin")
    stream.close()
    hex_ = info.digest.split(":")[1]
    stored = next((tmp_path / "objects").rglob(hex_[2:]))
    stored.write_bytes(b"x" * 1000)
    with pytest.raises(ArtifactCorruptedError):
        tracking.download_artifacts(run_id, "model/weights.bin", tmp_path / "again")
    assert not (tmp_path / "again" / "weights.bin").exists()


def test_experiment_activity_counts_runs_and_their_last_time(tracking: TrackingService) -> None:
    busy = tracking.create_experiment("busy")
    idle = tracking.create_experiment("idle")
    first = tracking.create_run(busy, start_time=1_000).run_id
    tracking.create_run(busy, start_time=5_000)
    tracking.update_run(first, status="FINISHED", end_time=9_000)
    gone = tracking.create_run(busy, start_time=20_000).run_id
    tracking.set_run_lifecycle(gone, LifecycleStage.DELETED)
    found = tracking.experiment_activity([busy, idle])
    assert found == {busy: (2, 9_000)}  # an experiment without runs is absent
    assert tracking.experiment_activity([busy], view_type="ALL")[busy] == (3, 20_000)
    with pytest.raises(ValidationError, match="experiment_ids"):
        tracking.experiment_activity(["nope"])
