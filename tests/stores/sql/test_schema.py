"""Schema: migrations produce exactly the declared tables; version mismatches are refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shipyard.core.errors import SchemaVersionError
from shipyard.stores.sql import tables_monitors, tables_retraining, tables_serving  # noqa: F401
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.migrations.versions import LATEST_REVISION
from shipyard.stores.sql.schema import current_revision, ensure_schema, head_revision
from shipyard.stores.sql.tables import metadata


def test_latest_revision_constant_names_the_head() -> None:
    assert head_revision() == LATEST_REVISION


def test_migrated_database_equals_declared_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(db_url)
    ensure_schema(db)
    assert current_revision(db) == LATEST_REVISION
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    db.dispose()
    assert diff == []


def test_mismatched_schema_is_refused_with_the_fix(db_url: str) -> None:
    db = Database(db_url)
    ensure_schema(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        ensure_schema(db)
        raise AssertionError("expected SchemaVersionError")
    except SchemaVersionError as e:
        assert "shipyard db upgrade" in str(e)
    finally:
        db.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_upgrade_from_the_previous_revision_equals_a_fresh_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shipyard.stores.sql.schema import upgrade

    db = Database(db_url)
    upgrade(db, "0001")
    with pytest.raises(SchemaVersionError, match="shipyard db upgrade"):
        ensure_schema(db)
    upgrade(db)
    assert current_revision(db) == LATEST_REVISION
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    db.dispose()
    assert diff == []
