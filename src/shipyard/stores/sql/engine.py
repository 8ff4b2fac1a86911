"""Engine, SQLite pragmas and the unit of work. The one place that knows dialect quirks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shipyard.core.errors import AlreadyExistsError, StorageError, ValidationError

__all__ = ["Database", "normalize_db_url", "upsert_insert"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_db_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def upsert_insert(conn: Connection, table: sa.Table) -> Any:
    """``INSERT`` into ``table`` in the dialect of ``conn``, which has ``ON CONFLICT`` (both
    dialects spell it alike); the dialect's module is imported only when it is used."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA case_sensitive_like=ON")  # LIKE as on PostgreSQL; ILIKE ignores case
        cur.close()
        # SQLite's lower() folds ASCII only; PostgreSQL's folds all of Unicode (É → é).
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front so that concurrent processes wait on the busy
        # timeout instead of failing on a read→write lock upgrade.
        write = conn.get_execution_options().get("shipyard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """A metadata database: one engine and units of work over it."""

    def __init__(self, url: str) -> None:
        self.url = normalize_db_url(url)
        try:
            parsed = sa.make_url(self.url)
        except sa.exc.ArgumentError as e:
            raise ValidationError(f"not a database URL: {url!r}", field="db_url") from e
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            self.engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=10)
        else:
            raise ValidationError(
                f"unsupported database {self.dialect!r}; use sqlite:/// or postgresql://",
                field="db_url",
            )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on error."""
        with self._translate(), self.engine.connect() as conn:
            conn = conn.execution_options(shipyard_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One consistent read (a transaction that is never committed)."""
        with self._translate(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.IntegrityError as e:
            raise AlreadyExistsError(
                f"a concurrent write created the same object first: {e.orig}"
            ) from e
        except sa.exc.DataError as e:  # e.g. a string longer than its column (PostgreSQL)
            raise ValidationError(
                f"a value does not fit the metadata database: {str(e.orig).splitlines()[0]}"
            ) from e
        except sa.exc.OperationalError as e:
            raise StorageError(
                f"metadata database unavailable ({self.dialect}): {e.orig}; "
                "check SHIPYARD_DB_URL and that the database is running"
            ) from e

    def dispose(self) -> None:
        self.engine.dispose()
