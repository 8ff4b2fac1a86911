"""Consistent copies of the metadata database while it is in use, and their restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies every page of one
consistent state, whatever writers do meanwhile. PostgreSQL: ``pg_dump --format=custom``
reads the snapshot this process exported from a REPEATABLE READ transaction, and the same
transaction reads what that snapshot references, so the copy and its object list agree.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.errors import StorageError, ValidationError
from shipyard.stores.ports import DbSnapshot
from shipyard.stores.sql import tables as t
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.integrity_repo import IntegrityRepo
from shipyard.stores.sql.schema import upgrade
from shipyard.stores.sql.tables import metadata

__all__ = ["SnapshotRepo"]

FILES = {"sqlite": "metadata.sqlite", "postgresql": "metadata.pgdump"}
# What `init` and a running server write before there is any data: a restore replaces them.
_SETUP_TABLES = {"users", "api_tokens", "audit_ledger", "audit_head", "job_leases", "job_runs"}
_TIMEOUT_S = 6 * 3600


class SnapshotRepo:
    """Snapshots and restores of one database (its engine decides how)."""

    def __init__(self, db: Database, integrity: IntegrityRepo | None = None) -> None:
        self.db = db
        self.integrity = integrity or IntegrityRepo()

    @property
    def kind(self) -> str:
        return self.db.dialect

    # ------------------------------------------------------------------ snapshot
    def snapshot(self, folder: os.PathLike[str] | str) -> DbSnapshot:
        dest = Path(folder) / FILES[self.kind]
        if self.kind == "sqlite":
            return self._snapshot_sqlite(dest)
        return self._snapshot_postgres(dest)

    def _snapshot_sqlite(self, dest: Path) -> DbSnapshot:
        raw = self.db.engine.raw_connection()
        try:
            target = sqlite3.connect(dest)
            try:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
        except sqlite3.Error as e:
            raise StorageError(f"SQLite backup into {dest} failed: {e}") from e
        finally:
            raw.close()
        # A plain engine: the project's one would switch the copy to WAL on connect.
        copy = sa.create_engine(f"sqlite:///{dest}")
        try:
            with copy.connect() as conn, conn.begin():  # the copy is the snapshot
                tool = f"SQLite online backup API (SQLite {sqlite3.sqlite_version})"
                return self._describe(conn, dest.name, tool)
        finally:
            copy.dispose()

    def _snapshot_postgres(self, dest: Path) -> DbSnapshot:
        exe = _client("pg_dump")
        with self.db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                tool = _check_versions(exe, conn)
                _run(
                    [
                        exe,
                        "--format=custom",
                        f"--snapshot={snapshot_id}",
                        "--no-owner",
                        "--no-privileges",
                        f"--file={dest}",
                        f"--dbname={_libpq_url(self.db)}",
                    ],
                    self.db,
                    "pg_dump",
                )
                return self._describe(conn, dest.name, tool)

    def _describe(self, conn: Connection, file: str, tool: str) -> DbSnapshot:
        head = conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)).first()
        return DbSnapshot(
            kind=self.kind,
            file=file,
            tool=tool,
            revision=_revision(conn),
            counts=_counts(conn),
            mentions=frozenset(self.integrity.mentions(conn)),
            references=tuple(self.integrity.references(conn)),
            audit_head=(int(head[0]), str(head[1])) if head else None,
        )

    # ------------------------------------------------------------------ restore
    def occupied(self) -> dict[str, int]:
        with self.db.read() as conn:
            counts = _counts(conn)
        return {k: n for k, n in counts.items() if n and k not in _SETUP_TABLES}

    def restore(self, path: os.PathLike[str] | str, kind: str) -> DbSnapshot:
        source = Path(path)
        if kind != self.kind:
            raise ValidationError(
                f"the backup holds a {kind} database and this project uses {self.kind}: "
                f"restore it into a project whose db_url is a {kind} database",
                field="kind",
            )
        if kind == "sqlite":
            self._restore_sqlite(source)
        else:
            self._restore_postgres(source)
        self.db.engine.dispose()  # pooled connections may hold the replaced pages
        with self.db.read() as conn:
            revision = _revision(conn)
        if revision is not None and revision != _latest():
            upgrade(self.db)  # an older backup: bring its schema to this Shipyard's
        with self.db.read() as conn:
            return self._describe(conn, source.name, "restore")

    def _restore_sqlite(self, source: Path) -> None:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        raw = self.db.engine.raw_connection()
        try:
            src.backup(raw.driver_connection)  # type: ignore[arg-type]
        except sqlite3.Error as e:
            raise StorageError(f"SQLite restore from {source} failed: {e}") from e
        finally:
            raw.close()
            src.close()

    def _restore_postgres(self, source: Path) -> None:
        exe = _client("pg_restore")
        with self.db.engine.connect() as conn:
            _check_versions(exe, conn)
        _run(
            [
                exe,
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                f"--dbname={_libpq_url(self.db)}",
                str(source),
            ],
            self.db,
            "pg_restore",
        )


def _counts(conn: Connection) -> dict[str, int]:
    present = set(sa.inspect(conn).get_table_names())
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
        if table.name in present
    }


def _revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _latest() -> str:
    from shipyard.stores.sql.migrations.versions import LATEST_REVISION

    return LATEST_REVISION


def _client(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise StorageError(
            f"{name} is not on PATH: install the PostgreSQL client tools of the server's "
            "major version (Debian: apt-get install postgresql-client)"
        )
    return exe


def _check_versions(exe: str, conn: Connection) -> str:
    """``"pg_dump 15.20"``; a clear error when the client is older than the server."""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"(\d+)(?:\.(\d+))?", out.stdout)
    server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if match is None:
        raise StorageError(f"cannot tell the version of {exe}: {out.stdout.strip()!r}")
    client = int(match.group(1))
    name = Path(exe).name
    if client < server:
        raise StorageError(
            f"{name} {match.group(0)} is older than the PostgreSQL {server} server and cannot "
            f"read it: install postgresql-client-{server} and put its {name} first on PATH"
        )
    return f"{name} {match.group(0)} (server {server})"


def _libpq_url(db: Database) -> str:
    """The URL ``pg_dump``/``pg_restore`` take (no password: that goes in PGPASSWORD)."""
    url = sa.make_url(db.url).set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)


def _run(args: list[str], db: Database, what: str) -> None:
    env = dict(os.environ)
    password = sa.make_url(db.url).password
    if password:
        env["PGPASSWORD"] = str(password)
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise StorageError(f"{what} failed: {e}") from e
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise StorageError(f"{what} failed (exit {done.returncode}): {' '.join(detail)}")
