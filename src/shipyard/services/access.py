"""Users, roles and API tokens. Tokens are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from shipyard.core.clock import now_ms
from shipyard.core.entities import ApiToken, Role, User
from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shipyard.core.permissions import Action, check, may
from shipyard.stores.ports import AuditLog
from shipyard.stores.sql.access_repo import AccessRepo
from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry
from shipyard.stores.sql.engine import Database

__all__ = [
    "LOCAL_ADMIN",
    "MAX_TTL_DAYS",
    "AccessService",
    "check_ttl_days",
    "hash_token",
    "parse_role",
]

LOCAL_ADMIN = "local-admin"
TOKEN_PREFIX = "sy_"
MAX_TTL_DAYS = 3650  # ten years: a bound, so that no arithmetic overflows and no typo is forever
_SHOWN_CHARS = 7  # "sy_" and four random characters: tells tokens apart, reveals ~24 of 256 bits
_TOUCH_EVERY_MS = 60_000  # "last used" is written at most once a minute per token
_DAY_MS = 86_400_000


def check_ttl_days(ttl_days: object) -> int | None:
    """``ttl_days`` if it is None (never expires) or a whole number of days in 1..3650."""
    if ttl_days is None:
        return None
    if isinstance(ttl_days, bool) or not isinstance(ttl_days, int):
        raise ValidationError(
            f"ttl_days (--ttl-days) must be a whole number of days, got {ttl_days!r}",
            field="ttl_days",
        )
    if not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise ValidationError(
            f"ttl_days (--ttl-days) must be between 1 and {MAX_TTL_DAYS} days, got {ttl_days}; "
            "leave it out for a token that does not expire (revoke it with `shipyard users "
            "revoke`)",
            field="ttl_days",
        )
    return ttl_days


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

    def issue_token_as(
        self, user_name: str, *, by: User, ttl_days: int | None = None, name: str = "default"
    ) -> str:
        """A token for ``user_name``, asked for by ``by``: your own, or anyone's as an admin
        (a token acts as its user, so issuing one for somebody else is an admin's job)."""
        return self.issue_as(user_name, by=by, ttl_days=ttl_days, name=name)[0]

    def issue_as(
        self, user_name: str, *, by: User, ttl_days: int | None = None, name: str = "default"
    ) -> tuple[str, ApiToken]:
        """:meth:`issue_token_as` with the new token's record."""
        check_ttl_days(ttl_days)
        if by.name != user_name and not may(by.role, Action.MANAGE_USERS):
            raise PermissionDeniedError(
                f"{by.name!r} ({by.role.value}) may issue tokens only for themselves; a token "
                f"for {user_name!r} needs an admin"
            )
        return self.issue(user_name, name=name, ttl_days=ttl_days, actor=by.name)

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
        return self.issue(user_name, name=name, ttl_days=ttl_days, actor=actor)[0]

    def issue(
        self,
        user_name: str,
        *,
        name: str = "default",
        ttl_days: int | None = None,
        actor: str = "system",
    ) -> tuple[str, ApiToken]:
        """A new token and its record (the plain text is returned once and never stored)."""
        ttl_days = check_ttl_days(ttl_days)
        if not name or len(name) > 128:
            raise ValidationError("a token's name must have 1 to 128 characters", field="name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + ttl_days * _DAY_MS if ttl_days is not None else None
        with self.db.write() as conn:
            user = self.repo.get_user(conn, user_name)
            shown = token[:_SHOWN_CHARS]
            token_id = self.repo.add_token(
                conn, user.user_id, name, hash_token(token), now, expires, prefix=shown
            )
            payload = {"token_name": name, "token_id": token_id, "prefix": shown}
            payload["expires"] = expires  # never the token itself
            entry = NewEntry(actor, "token.issue", "user", user_name, payload=payload)
            self.audit.append(conn, [entry], now)
            return token, self.repo.get_token(conn, token_id)

    def authenticate(self, token: str | None) -> User:
        if not token:
            raise AuthenticationError(
                "missing token: send 'Authorization: Bearer <token>' "
                "(create one with `shipyard users token NAME`)"
            )
        now = self.clock()
        with self.db.read() as conn:
            found = self.repo.token_holder(conn, hash_token(token), now)
        if found is None:
            raise AuthenticationError("invalid, revoked or expired token")
        user, token_id, last_used = found
        if last_used is None or now - last_used >= _TOUCH_EVERY_MS:
            with self.db.write() as conn:
                self.repo.touch_token(conn, token_id, now)
        return user

    def list_tokens(self, user_name: str, *, by: User) -> list[ApiToken]:
        """``user_name``'s tokens, newest first: for the user themselves or an admin."""
        _owner_or_admin(by, user_name, "list")
        with self.db.read() as conn:
            return self.repo.list_tokens(conn, self.repo.get_user(conn, user_name).user_id)

    def revoke_token(self, token_id: int, *, by: User) -> ApiToken:
        """Revoke one token (its owner or an admin); revoking twice is a 409."""
        with self.db.write() as conn:
            token = self.repo.get_token(conn, token_id)
            _owner_or_admin(by, token.user, "revoke")
            now = self.clock()
            if not self.repo.revoke_token(conn, token_id, now):
                shown = token.prefix or token.name
                raise ConflictError(f"token {token_id} ({shown}) is already revoked")
            payload = {"token_id": token_id, "token_name": token.name, "prefix": token.prefix}
            entry = NewEntry(by.name, "token.revoke", "user", token.user, payload=payload)
            self.audit.append(conn, [entry], now)
            return self.repo.get_token(conn, token_id)

    def revoke_all(self, user_name: str, *, by: User) -> int:
        """Revoke every live token of ``user_name`` (the user or an admin); how many."""
        _owner_or_admin(by, user_name, "revoke")
        with self.db.write() as conn:
            user = self.repo.get_user(conn, user_name)
            now = self.clock()
            count = self.repo.revoke_tokens(conn, user.user_id, now)
            payload = {"all": True, "revoked": count}
            entry = NewEntry(by.name, "token.revoke", "user", user_name, payload=payload)
            self.audit.append(conn, [entry], now)
            return count

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


def _owner_or_admin(by: User, owner: str, verb: str) -> None:
    if by.name != owner and not may(by.role, Action.MANAGE_USERS):
        raise PermissionDeniedError(
            f"{by.name!r} ({by.role.value}) may {verb} only their own tokens; {owner!r}'s "
            "tokens need an admin"
        )
