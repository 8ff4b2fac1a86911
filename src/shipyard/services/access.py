"""Users, roles and API tokens. Tokens are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role, User
from shipyard.core.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shipyard.core.permissions import Action, check, may
from shipyard.stores.ports import AuditLog
from shipyard.stores.sql.access_repo import AccessRepo
from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry
from shipyard.stores.sql.engine import Database

__all__ = ["LOCAL_ADMIN", "AccessService", "hash_token", "parse_role"]

LOCAL_ADMIN = "local-admin"
TOKEN_PREFIX = "sy_"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is safe: no dictionary to attack.
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value.lower())
    except ValueError:
        raise ValidationError(
            f"role must be one of {', '.join(r.value for r in Role)}; got {value!r}", field="role"
        ) from None


class AccessService:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], int] = now_ms,
        repo: AccessRepo | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.db = db
        self.repo = repo or AccessRepo()
        self.audit: AuditLog = audit or AuditRepo()
        self.clock = clock

    def add_user(self, name: str, role: Role, actor: str = "system") -> User:
        if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValidationError(
                f"user name {name!r} may hold letters, digits, '-', '_' and '.'", field="name"
            )
        with self.db.write() as conn:
            now = self.clock()
            user = self.repo.add_user(conn, name, role, now)
            entry = NewEntry(actor, "user.add", "user", name, payload={"role": role.value})
            self.audit.append(conn, [entry], now)
            return user

    def grant(self, name: str, role: Role, *, by: User) -> User:
        """Add a user with a role, as ``by``: adding users and choosing roles is an admin's
        job (a contributor must not make themselves a deployer)."""
        if not may(by.role, Action.MANAGE_USERS):
            raise PermissionDeniedError(
                f"adding users and giving roles needs the admin role; {by.name!r} is "
                f"{by.role.value}. Ask an admin (the first one is whoever ran `shipyard init`)"
            )
        return self.add_user(name, role, actor=by.name)

    def issue_token_as(self, user_name: str, *, by: User, ttl_days: int | None = None) -> str:
        """A token for ``user_name``, asked for by ``by``: your own, or anyone's as an admin
        (a token acts as its user, so issuing one for somebody else is an admin's job)."""
        if by.name != user_name and not may(by.role, Action.MANAGE_USERS):
            raise PermissionDeniedError(
                f"{by.name!r} ({by.role.value}) may issue tokens only for themselves; a token "
                f"for {user_name!r} needs an admin"
            )
        return self.issue_token(user_name, ttl_days=ttl_days, actor=by.name)

    def ensure_first_admin(self, name: str) -> User | None:
        """Make ``name`` (whoever runs ``shipyard init``) the admin of a new project, one with
        no users yet besides the local admin; None otherwise (re-running ``init`` on a
        project with users crowns nobody)."""
        with self.db.write() as conn:
            others = [u for u in self.repo.list_users(conn) if u.name != LOCAL_ADMIN]
            if others or name == LOCAL_ADMIN:
                return None
            now = self.clock()
            user = self.repo.add_user(conn, name, Role.ADMIN, now)
            payload = {"role": Role.ADMIN.value, "first_admin": True}
            entry = NewEntry("system", "user.add", "user", name, payload=payload)
            self.audit.append(conn, [entry], now)
            return user

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return self.repo.list_users(conn)

    def get_user(self, name: str) -> User:
        with self.db.read() as conn:
            return self.repo.get_user(conn, name)

    def issue_token(
        self,
        user_name: str,
        *,
        name: str = "default",
        ttl_days: int | None = None,
        actor: str = "system",
    ) -> str:
        """A new token for the user; the plain text is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + ttl_days * 86_400_000 if ttl_days else None
        with self.db.write() as conn:
            user = self.repo.get_user(conn, user_name)
            self.repo.add_token(conn, user.user_id, name, hash_token(token), now, expires)
            payload = {"token_name": name, "expires": expires}  # never the token itself
            entry = NewEntry(actor, "token.issue", "user", user_name, payload=payload)
            self.audit.append(conn, [entry], now)
        return token

    def authenticate(self, token: str | None) -> User:
        if not token:
            raise AuthenticationError(
                "missing token: send 'Authorization: Bearer <token>' "
                "(create one with `shipyard users token NAME`)"
            )
        with self.db.read() as conn:
            user = self.repo.user_for_token(conn, hash_token(token), self.clock())
        if user is None:
            raise AuthenticationError("invalid, revoked or expired token")
        return user

    @staticmethod
    def authorize(user: User, action: Action) -> None:
        """Refuse ``action`` unless the permission table grants it to the user's role."""
        check(user, action)

    def ensure_local_admin(self) -> User:
        with self.db.write() as conn:
            try:
                return self.repo.get_user(conn, LOCAL_ADMIN)
            except NotFoundError:
                now = self.clock()
                user = self.repo.add_user(conn, LOCAL_ADMIN, Role.ADMIN, now)
                payload = {"role": Role.ADMIN.value}
                entry = NewEntry("system", "user.add", "user", LOCAL_ADMIN, payload=payload)
                self.audit.append(conn, [entry], now)
                return user
