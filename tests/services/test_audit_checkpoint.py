"""Incremental verification from a checkpoint, the full re-walk, and paging the trail, on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.core.entities import Role
from shipyard.core.errors import ValidationError
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


def _sql(svc: Services, statement: str) -> None:
    with svc.db.engine.begin() as conn:
        conn.execute(sa.text(statement))


def _users(svc: Services, names: list[str]) -> None:
    for name in names:
        svc.access.add_user(name, Role.VIEWER, actor="admin")


def _checkpoint(svc: Services) -> tuple[int, str] | None:
    with svc.db.read() as conn:
        return svc.audit.repo.checkpoint(conn)


def test_an_incremental_verify_walks_only_what_was_appended(svc: Services) -> None:
    _users(svc, [f"u{i}" for i in range(6)])
    full = svc.audit.verify(full=False)  # no checkpoint yet: the whole chain
    assert full.ok and full.checked == 6 and full.since == 0
    assert _checkpoint(svc) is not None and _checkpoint(svc)[0] == 6  # type: ignore[index]
    _users(svc, ["late1", "late2"])
    step = svc.audit.verify(full=False)
    assert step.ok and step.checked == 8 and step.since == 5  # re-checks the checkpoint entry
    assert _checkpoint(svc)[0] == 8  # type: ignore[index]


def test_an_edit_before_the_checkpoint_is_caught_by_the_full_walk(svc: Services) -> None:
    _users(svc, [f"u{i}" for i in range(6)])
    assert svc.audit.verify(full=False).ok  # checkpoint at 6
    _sql(svc, "UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 3")
    assert svc.audit.verify(full=False).ok  # the incremental view does not re-walk 1..6
    report = svc.audit.verify(full=True)
    assert not report.ok and report.broken_seq == 3 and "was edited" in report.reason
    assert _checkpoint(svc) is None  # cleared: every view walks it all again and sees it
    again = svc.audit.verify(full=False)
    assert not again.ok and again.broken_seq == 3


@pytest.mark.parametrize(
    ("statement", "seq", "reason"),
    [
        ("UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 7", 7, "was edited"),
        ("DELETE FROM audit_ledger WHERE seq = 8", 8, "head says 8 entries"),
        ("UPDATE audit_ledger SET hash = 'x' WHERE seq = 4", 4, "was edited"),  # the checkpoint
        ("DELETE FROM audit_ledger WHERE seq = 4", 4, "entry 4 is missing"),
    ],
)
def test_an_edit_after_or_at_the_checkpoint_is_caught_incrementally(
    svc: Services, statement: str, seq: int, reason: str
) -> None:
    _users(svc, [f"u{i}" for i in range(4)])
    assert svc.audit.verify(full=False).ok  # checkpoint at 4
    _users(svc, [f"v{i}" for i in range(4)])
    _sql(svc, statement)
    report = svc.audit.verify(full=False)
    assert not report.ok and report.broken_seq == seq and reason in report.reason


def test_the_trail_pages_with_a_cursor_an_offset_and_a_total(svc: Services) -> None:
    _users(svc, [f"u{i:02}" for i in range(25)])
    first = svc.audit.page(limit=10)
    assert [e.seq for e in first.items] == list(range(25, 15, -1)) and first.total == 25
    second = svc.audit.page(limit=10, cursor=first.next_cursor)
    assert [e.seq for e in second.items] == list(range(15, 5, -1))
    last = svc.audit.page(limit=10, cursor=second.next_cursor)
    assert [e.seq for e in last.items] == list(range(5, 0, -1)) and last.next_cursor is None
    assert [e.seq for e in svc.audit.page(limit=3, offset=10).items] == [15, 14, 13]
    found = svc.audit.page(text="U1", limit=100)  # actor, action or object id, any case
    assert sorted(e.object_id for e in found.items) == [f"u1{i}" for i in range(10)]
    assert found.total == 10
    assert svc.audit.page(obj="user:u03").total == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"obj": "nothing:x"}, "object"),
    ],
)
def test_bad_paging_input_names_the_parameter(svc: Services, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as e:
        svc.audit.page(**kwargs)
    assert e.value.field == field
