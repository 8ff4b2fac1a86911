"""Users and API tokens in SQL. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.entities import ApiToken, Role, User
from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.stores.sql.rows import inserted_id
from shipyard.stores.sql.tables import api_tokens, users

__all__ = ["AccessRepo"]


def _user(row: sa.Row) -> User:
    return User(
        user_id=row.id,
        name=row.name,
        role=Role(row.role),
        creation_time=row.creation_time,
        disabled=row.disabled,
    )


class AccessRepo:
    def add_user(self, conn: Connection, name: str, role: Role, now: int) -> User:
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise AlreadyExistsError(f"user {name!r} already exists", field="name")
        uid = inserted_id(
            conn.execute(
                users.insert().values(name=name, role=role.value, creation_time=now, disabled=False)
            )
        )
        return User(user_id=uid, name=name, role=role, creation_time=now)

    def get_user(self, conn: Connection, name: str) -> User:
        row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user named {name!r}", field="name")
        return _user(row)

    def list_users(self, conn: Connection) -> list[User]:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]

    def set_role(self, conn: Connection, name: str, role: Role) -> None:
        result = conn.execute(users.update().where(users.c.name == name).values(role=role.value))
        if result.rowcount == 0:
            raise NotFoundError(f"no user named {name!r}", field="name")

    def add_token(
        self,
        conn: Connection,
        user_id: int,
        name: str,
        token_hash: str,
        now: int,
        expires: int | None,
        prefix: str | None = None,
    ) -> int:
        new = api_tokens.insert().values(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            creation_time=now,
            expires_time=expires,
            revoked=False,
            prefix=prefix,
        )
        return inserted_id(conn.execute(new))

    def user_for_token(self, conn: Connection, token_hash: str, now: int) -> User | None:
        found = self.token_holder(conn, token_hash, now)
        return None if found is None else found[0]

    def token_holder(
        self, conn: Connection, token_hash: str, now: int
    ) -> tuple[User, int, int | None] | None:
        """The user of a live token (not revoked, not expired, user enabled), the token's
        id and when it was last used; None for any other token."""
        row = conn.execute(
            sa.select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_time)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == token_hash,
                api_tokens.c.revoked.is_(False),
                sa.or_(api_tokens.c.expires_time.is_(None), api_tokens.c.expires_time > now),
                users.c.disabled.is_(False),
            )
        ).first()
        return None if row is None else (_user(row), row.token_id, row.last_used_time)

    def touch_token(self, conn: Connection, token_id: int, now: int) -> None:
        conn.execute(
            api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_time=now)
        )

    def list_tokens(self, conn: Connection, user_id: int) -> list[ApiToken]:
        """A user's tokens, newest first (revoked and expired ones included)."""
        query = (
            sa.select(api_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.id.desc())
        )
        return [_token(r) for r in conn.execute(query)]

    def get_token(self, conn: Connection, token_id: int) -> ApiToken:
        query = (
            sa.select(api_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.id == token_id)
        )
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(
                f"no token with id {token_id}; list them with `shipyard users tokens USER`",
                field="token_id",
            )
        return _token(row)

    def revoke_token(self, conn: Connection, token_id: int, now: int) -> bool:
        """Revoke one token; False when it was revoked already."""
        result = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked.is_(False))
            .values(revoked=True, revoked_time=now)
        )
        return bool(result.rowcount)

    def revoke_tokens(self, conn: Connection, user_id: int, now: int | None = None) -> int:
        """Revoke every live token of a user; how many were live."""
        return conn.execute(
            api_tokens.update()
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked.is_(False))
            .values(revoked=True, revoked_time=now)
        ).rowcount

    def count_users(self, conn: Connection) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


def _token(row: sa.Row) -> ApiToken:
    return ApiToken(
        token_id=row.id,
        user_id=row.user_id,
        name=row.name,
        creation_time=row.creation_time,
        expires_time=row.expires_time,
        user=row.user_name,
        prefix=row.prefix,
        last_used_time=row.last_used_time,
        revoked=bool(row.revoked),
        revoked_time=row.revoked_time,
    )
