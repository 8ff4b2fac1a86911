"""API tokens on SQLite and PostgreSQL: bounded lifetimes, listing without secrets, revoking
(owner or admin, audited), and revoked or expired tokens refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role
from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.access import AccessService, hash_token
from shipyard.settings import Settings

DAY = 86_400_000


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[Services]:
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    services.access.add_user("admin", Role.ADMIN)
    services.access.add_user("alice", Role.VIEWER)
    services.access.add_user("bob", Role.CONTRIBUTOR)
    yield services
    services.close()


@pytest.mark.parametrize("bad", [0, -1, 3651, 10**30, True, "5", 1.5])
def test_ttl_days_is_a_whole_number_from_1_to_3650(svc: Services, bad: object) -> None:
    with pytest.raises(ValidationError, match=r"ttl_days \(--ttl-days\)") as caught:
        svc.access.issue_token("alice", ttl_days=bad)  # type: ignore[arg-type]
    assert caught.value.field == "ttl_days" and caught.value.http_status == 400
    assert svc.access.list_tokens("alice", by=svc.access.get_user("admin")) == []


def test_ttl_bounds_and_default(svc: Services) -> None:
    before = now_ms()
    svc.access.issue_token("alice", ttl_days=1)
    svc.access.issue_token("alice", ttl_days=3650)
    svc.access.issue_token("alice")
    never, ten_years, one_day = svc.access.list_tokens("alice", by=svc.access.get_user("alice"))
    assert never.expires_time is None
    assert one_day.expires_time is not None and one_day.expires_time - before in range(
        DAY, DAY + 60_000
    )
    assert ten_years.expires_time is not None
    assert ten_years.expires_time - ten_years.creation_time == 3650 * DAY


def test_expired_tokens_are_refused(svc: Services) -> None:
    past = AccessService(svc.db, clock=lambda: now_ms() - 2 * DAY)  # issued two days ago
    old = past.issue_token("alice", ttl_days=1)
    fresh = svc.access.issue_token("alice", ttl_days=1)
    with pytest.raises(AuthenticationError, match="expired"):
        svc.access.authenticate(old)
    assert svc.access.authenticate(fresh).name == "alice"
    states = [
        t.state(now_ms()) for t in svc.access.list_tokens("alice", by=svc.access.get_user("alice"))
    ]
    assert states == ["active", "expired"]


def test_listing_shows_a_prefix_and_last_use_never_the_secret(svc: Services) -> None:
    alice = svc.access.get_user("alice")
    secret = svc.access.issue_token("alice", name="laptop")
    (token,) = svc.access.list_tokens("alice", by=alice)
    assert token.prefix == secret[:7] and token.prefix.startswith("sy_")
    assert token.name == "laptop" and token.user == "alice" and token.last_used_time is None
    assert secret not in repr(token)
    svc.access.authenticate(secret)
    (used,) = svc.access.list_tokens("alice", by=alice)
    assert used.last_used_time is not None and used.last_used_time >= token.creation_time
    trail = json.dumps([e.payload for e in svc.audit.log(limit=100)])
    assert secret not in trail and hash_token(secret) not in trail


def test_only_the_owner_or_an_admin_lists_and_revokes(svc: Services) -> None:
    alice, bob, admin = (svc.access.get_user(n) for n in ("alice", "bob", "admin"))
    secret = svc.access.issue_token("alice")
    (token,) = svc.access.list_tokens("alice", by=alice)
    with pytest.raises(PermissionDeniedError, match="'bob' \\(contributor\\) may list only"):
        svc.access.list_tokens("alice", by=bob)
    with pytest.raises(PermissionDeniedError, match="may revoke only their own"):
        svc.access.revoke_token(token.token_id, by=bob)
    with pytest.raises(PermissionDeniedError):
        svc.access.revoke_all("alice", by=bob)
    assert svc.access.authenticate(secret).name == "alice"  # nothing was revoked
    assert [t.token_id for t in svc.access.list_tokens("alice", by=admin)] == [token.token_id]

    revoked = svc.access.revoke_token(token.token_id, by=alice)  # a viewer revokes their own
    assert revoked.revoked and revoked.revoked_time is not None
    assert revoked.state(now_ms()) == "revoked"
    with pytest.raises(AuthenticationError, match="revoked"):
        svc.access.authenticate(secret)
    with pytest.raises(ConflictError, match="already revoked"):
        svc.access.revoke_token(token.token_id, by=admin)
    with pytest.raises(NotFoundError, match="no token with id 999999"):
        svc.access.revoke_token(999999, by=admin)


def test_revoke_all_revokes_only_that_users_live_tokens_and_is_audited(svc: Services) -> None:
    admin = svc.access.get_user("admin")
    a1, a2 = svc.access.issue_token("alice"), svc.access.issue_token("alice")
    b1 = svc.access.issue_token("bob")
    first = svc.access.list_tokens("alice", by=admin)[-1]
    svc.access.revoke_token(first.token_id, by=admin)
    assert svc.access.revoke_all("alice", by=admin) == 1  # the other one was revoked already
    for secret in (a1, a2):
        with pytest.raises(AuthenticationError):
            svc.access.authenticate(secret)
    assert svc.access.authenticate(b1).name == "bob"
    entries = [e for e in svc.audit.log(limit=100) if e.action.startswith("token.")]
    got = [(e.actor, e.action, e.object_id) for e in reversed(entries)]
    assert got == [
        ("system", "token.issue", "alice"),
        ("system", "token.issue", "alice"),
        ("system", "token.issue", "bob"),
        ("admin", "token.revoke", "alice"),
        ("admin", "token.revoke", "alice"),
    ]
    assert svc.audit.verify().ok
