"""``shipyard gc``: the retention policy applied to real rows and objects, on SQLite and
PostgreSQL; dry runs change nothing; doctor is clean afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core.clock import now_ms
from shipyard.core.errors import ValidationError
from shipyard.core.retention import parse_retention
from shipyard.stores.sql import tables as t
from tests.services.doctor.project import SIGNATURE, open_project, seed

POLICY = """
[retention]
deleted_runs = "30d"
archived_model_versions = "90d"
prediction_logs = "90d"
"""
DAY_MS = 86_400_000


def _counts(svc) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with svc.db.read() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in {
                "runs": t.runs,
                "params": t.params,
                "run_artifacts": t.run_artifacts,
                "model_versions": t.model_versions,
                "audit_ledger": t.audit_ledger,
                "datasets": t.dataset_versions,
            }.items()
        }


def test_gc_collects_expired_rows_objects_and_logs(db_url: str, tmp_path: Path) -> None:
    svc = open_project(tmp_path / "p", db_url, POLICY)
    try:
        seeded = seed(svc, tmp_path)
        store = svc.blobs
        before = _counts(svc)
        # today: nothing deleted 30 days ago yet, but the 2020 log partition is old
        today = svc.gc.run(apply=False, grace_s=0, actor="ops")
        assert today.plan.runs == [] and today.plan.model_versions == []
        assert today.plan.partitions == ["model=scorer/date=2020-01-01/env=production"]
        assert today.plan.objects == 0  # everything is referenced

        svc.gc.clock = lambda: now_ms() + 100 * DAY_MS
        dry = svc.gc.run(apply=False, grace_s=0, actor="ops")
        assert dry.plan.runs == [seeded.deleted_run]
        assert dry.plan.model_versions == ["scorer@v2"]
        assert dry.plan.rows["runs"] == 1 and dry.plan.rows["model_versions"] == 1
        assert dry.plan.artifact_bytes == len(b"shared bytes") + 4096
        assert dry.plan.objects >= 2  # the deleted run's own file, v2's model file(s)
        assert _counts(svc) == before  # a dry run changes nothing
        assert store.exists(seeded.deleted_digest)
        assert store.backend.exists(seeded.old_log)

        done = svc.gc.run(apply=True, grace_s=0, actor="ops")
        assert done.removed_objects == dry.plan.objects
        after = _counts(svc)
        assert after["runs"] == before["runs"] - 1
        assert after["model_versions"] == before["model_versions"] - 1
        assert after["datasets"] == before["datasets"]
        assert after["audit_ledger"] == before["audit_ledger"] + 1  # one entry per pass
        assert not store.exists(seeded.deleted_digest)
        assert store.exists(seeded.shared_digest)  # the kept run still links it
        assert not store.backend.exists(seeded.old_log)
        assert store.backend.exists(seeded.new_log)
        # live data untouched: the kept run, the dataset and the deployed v1 still read
        assert svc.tracking.get_run(seeded.kept_run).info.run_id == seeded.kept_run
        frame = pd.DataFrame({"age": [30], "income": [40.0]})
        assert len(svc.registry.load("scorer@v1", user="ada").predict(frame)) == 1
        assert len(svc.catalog.load_frame("loans@v1")) == 50
        with svc.db.read() as conn:
            row = conn.execute(
                sa.select(t.audit_ledger.c.payload_json).where(
                    t.audit_ledger.c.action == "gc.collect"
                )
            ).scalar_one()
        payload = json.loads(row)
        assert payload["runs"] == 1 and payload["model_versions"] == 1
        assert payload["objects"] == done.removed_objects and payload["prediction_logs"] == 1
        report = svc.doctor.check(0)
        assert report.ok, [f.to_dict() for f in report.findings]
        again = svc.gc.run(apply=True, grace_s=0, actor="ops")
        assert again.plan.empty  # and no second ledger entry for an empty pass
        assert _counts(svc)["audit_ledger"] == after["audit_ledger"]
    finally:
        svc.close()


def test_gc_never_collects_a_deployed_archived_version(tmp_path: Path) -> None:
    svc = open_project(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite'}", POLICY)
    try:
        seed(svc, tmp_path)
        svc.registry.archive("scorer@v1", user="dora", reason="retire while serving")
        svc.gc.clock = lambda: now_ms() + 100 * DAY_MS
        plan = svc.gc.run(apply=False, grace_s=0, actor="ops").plan
        assert plan.model_versions == ["scorer@v2"]
        assert any("scorer@v1" in s and "deployment" in s for s in plan.skipped)
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"deleted_datasets": "30d"}, "retention.deleted_datasets"),
        ({"deleted_runs": "30 days"}, "retention.deleted_runs"),
        ({"prediction_logs": -1}, "retention.prediction_logs"),
        ({"archived_model_versions": "-5d"}, "retention.archived_model_versions"),
    ],
)
def test_bad_policy_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as e:
        parse_retention(table)
    assert key in e.value.message


def test_policy_parses_every_key() -> None:
    policy = parse_retention(
        {
            "deleted_runs": "30d",
            "deleted_experiments": "1w",
            "archived_model_versions": "90d",
            "prediction_logs": "0s",
        }
    )
    assert policy.deleted_runs == 30 * DAY_MS and policy.deleted_experiments == 7 * DAY_MS
    assert policy.prediction_logs == 0


def test_deleted_experiments_go_with_their_runs_but_lineage_stays(tmp_path: Path) -> None:
    from shipyard.core.states import LifecycleStage

    toml = '[retention]\ndeleted_runs = "1d"\ndeleted_experiments = "1d"\n'
    svc = open_project(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite'}", toml)
    try:
        seeded = seed(svc, tmp_path)
        gone = svc.tracking.create_experiment("gone")
        lineage = svc.tracking.create_experiment("lineage")
        run_ids = [svc.tracking.create_run(e, user="ada").info.run_id for e in (gone, lineage)]
        for run_id in run_ids:
            svc.tracking.log_artifact_bytes(run_id, run_id.encode(), "id.txt")
        model = svc.registry.load("scorer@v1", user="ada")
        svc.registry.log_model(model, "trained", user="ada", run_id=run_ids[1], signature=SIGNATURE)
        for exp in (gone, lineage):
            svc.tracking.set_experiment_lifecycle(exp, LifecycleStage.DELETED, actor="ada")
        svc.tracking.set_run_lifecycle(seeded.kept_run, LifecycleStage.DELETED, actor="ada")
        with svc.db.write() as conn:  # the kept run trained a model version too
            conn.execute(
                t.model_versions.update()
                .values(run_id=seeded.kept_run)
                .where(t.model_versions.c.version == 1, t.model_versions.c.model_id == 1)
            )
        svc.gc.clock = lambda: now_ms() + 2 * DAY_MS
        done = svc.gc.run(apply=True, grace_s=0, actor="ops")
        assert done.plan.experiments == [gone]
        assert sorted(done.plan.runs) == sorted([run_ids[0], seeded.deleted_run])
        assert any(f"experiment {lineage}" in s for s in done.plan.skipped)
        assert any(seeded.kept_run in s and "trained" in s for s in done.plan.skipped)
        with svc.db.read() as conn:
            left = set(conn.execute(sa.select(t.runs.c.id)).scalars())
            exps = set(conn.execute(sa.select(t.experiments.c.id)).scalars())
        assert left == {seeded.kept_run, run_ids[1]}
        assert int(gone) not in exps and int(lineage) in exps
        assert svc.doctor.check(0).ok
    finally:
        svc.close()


class _Jobs:
    """The scheduler's registration surface, recording what registers (a fake, no loop)."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[float, object]] = {}

    def register(self, name: str, interval_s: float, fn: object, *, lease_s: float | None = None):  # type: ignore[no-untyped-def]
        self.jobs[name] = (interval_s, fn)

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


def test_the_gc_job_applies_the_policy_and_a_bad_policy_is_not_scheduled(tmp_path: Path) -> None:
    svc = open_project(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite'}", POLICY)
    try:
        seeded = seed(svc, tmp_path)
        jobs = _Jobs()
        assert svc.gc.register_jobs(jobs) == ["gc"]
        interval, tick = jobs.jobs["gc"]
        assert interval == 86_400
        tick()  # type: ignore[operator]
        assert not svc.blobs.backend.exists(seeded.old_log)  # the job applied the policy
        with svc.db.read() as conn:
            actors = (
                conn.execute(
                    sa.select(t.audit_ledger.c.actor).where(t.audit_ledger.c.action == "gc.collect")
                )
                .scalars()
                .all()
            )
        assert actors == ["shipyard-gc"]
        svc.gc.table = {"deleted_runs": "soon"}
        assert svc.gc.register_jobs(_Jobs()) == []
        svc.gc.table = None
        assert svc.gc.register_jobs(_Jobs()) == []
    finally:
        svc.close()
