"""Schema versioning through Alembic: create, upgrade and check at start-up."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shipyard.core.errors import SchemaVersionError
from shipyard.stores.sql.engine import Database

__all__ = ["current_revision", "ensure_schema", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from alembic import command

    cfg = _config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(db: Database) -> None:
    """Create the schema of an empty database; refuse to run on a mismatched one."""
    # Importing alembic costs ~100 ms; the common case (already at head) avoids it.
    from shipyard.stores.sql.migrations.versions import LATEST_REVISION

    current = current_revision(db)
    if current == LATEST_REVISION:
        return
    if current is None:
        upgrade(db)
        return
    raise SchemaVersionError(
        f"database schema is at revision {current}, this Shipyard needs {LATEST_REVISION}; "
        "run `shipyard db upgrade` (back up the database first)"
    )
