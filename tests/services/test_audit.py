"""The audit ledger on SQLite and PostgreSQL: what is recorded, and tampering detected."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core.entities import Role
from shipyard.core.errors import ValidationError
from shipyard.core.states import LifecycleStage
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


def _history(svc: Services) -> list[tuple[str, str, str, str]]:
    return [
        (e.actor, e.action, e.object_type, e.object_id) for e in reversed(svc.audit.log(limit=1000))
    ]


def _sql(svc: Services, statement: str) -> None:
    with svc.db.engine.begin() as conn:
        conn.execute(sa.text(statement))


def _changes(svc: Services) -> str:
    """Some of every kind of state change; returns a run id."""
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    run = svc.tracking.create_run(exp, user="ada")
    svc.tracking.update_run(run.run_id, status="FINISHED", actor="ada")
    svc.tracking.set_run_lifecycle(run.run_id, LifecycleStage.DELETED, actor="bob")
    svc.catalog.register("loans", pd.DataFrame({"a": [1, 2]}), user="ada")
    svc.catalog.set_alias("loans@v1", "training", user="bob")
    svc.access.add_user("carol", Role.APPROVER, actor="admin")
    svc.access.issue_token("carol", actor="admin")
    return run.run_id


def test_every_state_change_is_recorded_with_its_actor(svc: Services) -> None:
    run_id = _changes(svc)
    assert _history(svc) == [
        ("ada", "run.create", "run", run_id),
        ("ada", "run.status", "run", run_id),
        ("bob", "run.delete", "run", run_id),
        ("ada", "dataset.register", "dataset", "loans"),
        ("bob", "dataset.alias", "dataset", "loans"),
        ("admin", "user.add", "user", "carol"),
        ("admin", "token.issue", "user", "carol"),
    ]
    status = svc.audit.log(f"run:{run_id}", limit=10)
    assert [e.action for e in status] == ["run.delete", "run.status", "run.create"]
    assert '"to":"FINISHED"' in status[1].payload
    report = svc.audit.verify()
    assert report.ok and report.checked == 7


def test_the_token_itself_never_enters_the_ledger(svc: Services) -> None:
    svc.access.add_user("dan", Role.VIEWER)
    token = svc.access.issue_token("dan")
    assert all(token not in e.payload and token not in e.reason for e in svc.audit.log())


@pytest.mark.parametrize(
    ("statement", "seq", "reason"),
    [
        ("UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 3", 3, "was edited"),
        ('UPDATE audit_ledger SET payload_json = \'{"to":"X"}\' WHERE seq = 2', 2, "payload"),
        ("DELETE FROM audit_ledger WHERE seq = 4", 4, "entry 4 is missing"),
        ("DELETE FROM audit_ledger WHERE seq = 7", 7, "head says 7 entries"),
        ("UPDATE audit_ledger SET time = time + 1 WHERE seq = 1", 1, "was edited"),
    ],
)
def test_verify_names_the_first_entry_changed_directly_in_sql(
    svc: Services, statement: str, seq: int, reason: str
) -> None:
    _changes(svc)
    assert svc.audit.verify().ok
    _sql(svc, statement)
    report = svc.audit.verify()
    assert not report.ok
    assert report.broken_seq == seq
    assert reason in report.reason


def test_concurrent_writers_keep_one_unbroken_chain(svc: Services) -> None:
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                run = svc.tracking.create_run(exp, user="w")
                svc.tracking.update_run(run.run_id, status="FINISHED")
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = svc.audit.verify()
    assert report.ok and report.checked == 80


def test_bad_object_filters_are_refused(svc: Services) -> None:
    with pytest.raises(ValidationError, match="object type 'model2' is unknown"):
        svc.audit.log("model2:x")
    with pytest.raises(ValidationError, match="limit"):
        svc.audit.log(limit=0)


def test_an_entry_added_past_the_head_outside_shipyard_is_named(svc: Services) -> None:
    _changes(svc)
    _sql(
        svc,
        "INSERT INTO audit_ledger (seq, time, actor, action, object_type, object_id, reason, "
        "payload_json, payload_hash, prev_hash, hash) SELECT 8, time, 'mallory', action, "
        "object_type, object_id, reason, payload_json, payload_hash, hash, hash "
        "FROM audit_ledger WHERE seq = 7",
    )
    report = svc.audit.verify()
    assert not report.ok and report.broken_seq == 8
    assert "added outside Shipyard" in report.reason


def test_experiment_changes_and_lineage_links_are_audited(svc: Services) -> None:
    exp = svc.tracking.create_experiment("old")  # the new experiment's id
    svc.tracking.rename_experiment(exp, "new", actor="bob")
    svc.tracking.set_experiment_lifecycle(exp, LifecycleStage.DELETED, actor="bob")
    svc.catalog.register("loans", pd.DataFrame({"a": [1, 2]}), user="ada")
    run = svc.tracking.create_run(
        svc.tracking.get_or_create_experiment("e").experiment_id, user="ada"
    )
    svc.catalog.record_input(run.run_id, "loans@v1")
    actions = [(e.action, e.object_id) for e in reversed(svc.audit.log(limit=100))]
    assert ("experiment.rename", exp) in actions and ("experiment.delete", exp) in actions
    assert ("run.input", run.run_id) in actions
    assert svc.audit.verify().ok
