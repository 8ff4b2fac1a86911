"""Users and API tokens in SQL. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.entities import Role, User
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
    ) -> int:
        new = api_tokens.insert().values(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            creation_time=now,
            expires_time=expires,
            revoked=False,
        )
        return inserted_id(conn.execute(new))

    def user_for_token(self, conn: Connection, token_hash: str, now: int) -> User | None:
        row = conn.execute(
            sa.select(users)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == token_hash,
                api_tokens.c.revoked.is_(False),
                sa.or_(api_tokens.c.expires_time.is_(None), api_tokens.c.expires_time > now),
                users.c.disabled.is_(False),
            )
        ).first()
        return None if row is None else _user(row)

    def revoke_tokens(self, conn: Connection, user_id: int) -> int:
        return conn.execute(
            api_tokens.update().where(api_tokens.c.user_id == user_id).values(revoked=True)
        ).rowcount

    def count_users(self, conn: Connection) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
