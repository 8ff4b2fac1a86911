"""The audit trail filtered by kind on SQLite and PostgreSQL: in the query, composed with the
object filter, the search, the total and the keyset cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.audit_kinds import AUDIT_KINDS
from shipyard.core.errors import ValidationError
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings
from shipyard.stores.ports import NewEntry
from shipyard.stores.sql.audit_repo import AuditRepo

# (action, object): appended in this order, so seq = index + 1
TRAIL = [
    ("run.create", "run:r1"),
    ("model.version.create", "model:m"),
    ("model.gate", "model:m"),
    ("run.status", "run:r1"),
    ("model.approve.auto", "model:m"),
    ("dataset.register", "dataset:d"),
    ("dataset.alias", "dataset:d"),
    ("alert.opened", "alert:1"),
    ("deployment.deploy", "deployment:prod/m"),
    ("model.gatekeeper", "model:m"),  # only the name's prefix matches: not a gate
    ("token.issue", "user:carol"),
    ("retrain.awaiting_approval", "retraining:1"),
    ("model.alias", "model:m"),
]
GOVERNANCE = {3, 5, 7, 9, 11, 12, 13}


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    entries = []
    for action, obj in TRAIL:
        kind, _, ident = obj.partition(":")
        entries.append(NewEntry("ada", action, kind, ident, "", {"action": action}))
    with services.db.write() as conn:
        AuditRepo().append(conn, entries, 1_700_000_000_000)
    yield services
    services.close()


def _seqs(svc: Services, **how: object) -> list[int]:
    return [e.seq for e in svc.audit.page(**how).items]  # type: ignore[arg-type]


def test_kind_keeps_governance_or_bookkeeping_and_counts_them(svc: Services) -> None:
    everything = set(range(1, len(TRAIL) + 1))
    governance = svc.audit.page(kind="governance")
    assert [e.seq for e in governance.items] == sorted(GOVERNANCE, reverse=True)
    assert governance.total == len(GOVERNANCE)
    bookkeeping = svc.audit.page(kind="bookkeeping")
    assert {e.seq for e in bookkeeping.items} == everything - GOVERNANCE
    assert bookkeeping.total == len(everything - GOVERNANCE)
    assert {e.action for e in bookkeeping.items} == {
        "run.create", "model.version.create", "run.status", "dataset.register",
        "alert.opened", "model.gatekeeper",
    }  # fmt: skip
    assert _seqs(svc, kind="all") == _seqs(svc) == sorted(everything, reverse=True)


def test_kind_composes_with_the_object_the_search_and_the_cursor(svc: Services) -> None:
    assert _seqs(svc, obj="model:m", kind="governance") == [13, 5, 3]
    assert _seqs(svc, obj="model:m", kind="bookkeeping") == [10, 2]
    assert _seqs(svc, text="alias", kind="governance") == [13, 7]
    # Bookkeeping totals are all minus governance without a search, counted directly with one.
    for how in ({"obj": "model:m"}, {"obj": "run"}, {"text": "model"}, {"text": "alias"}):
        for kind in AUDIT_KINDS:
            page = svc.audit.page(kind=kind, **how)  # type: ignore[arg-type]
            assert page.total == len(page.items)
        split = sum(svc.audit.page(kind=kind, **how).total for kind in AUDIT_KINDS)  # type: ignore[arg-type]
        assert split == svc.audit.page(**how).total  # type: ignore[arg-type]
    walked, cursor = [], None
    while True:
        page = svc.audit.page(kind="governance", limit=3, cursor=cursor)
        assert page.total == len(GOVERNANCE)
        walked += [e.seq for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == sorted(GOVERNANCE, reverse=True)


def test_a_bad_kind_is_refused_naming_the_parameter(svc: Services) -> None:
    with pytest.raises(ValidationError) as e:
        svc.audit.page(kind="approvals")
    assert e.value.field == "kind" and "governance, bookkeeping or all" in e.value.message


def test_the_kind_filter_is_answered_from_the_action_index(tmp_path: Path) -> None:
    """The governance count reads ``ix_audit_ledger_action`` (equalities and prefix ranges),
    not the table (#17: a scan at 100,000 entries took ~0.2 s)."""
    import sqlalchemy as sa

    from shipyard.stores.sql.audit_repo import _filtered
    from shipyard.stores.sql.engine import Database
    from shipyard.stores.sql.schema import ensure_schema
    from shipyard.stores.sql.tables import audit_ledger

    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    ensure_schema(db)
    count = sa.select(sa.func.count()).select_from(audit_ledger)
    query = _filtered(count, None, None, None, "governance")
    with db.read() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    db.dispose()
    searches = [step for step in plan if step.startswith("SEARCH")]
    assert searches and all("ix_audit_ledger_action" in step for step in searches), plan
    assert any("action>? AND action<?" in step for step in searches), plan  # LIKE 'p.%'
    assert not any(step.startswith("SCAN") for step in plan), plan
