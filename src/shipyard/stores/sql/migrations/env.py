"""Alembic environment: runs on the connection Shipyard passes in."""

from alembic import context

from shipyard.stores.sql import (  # noqa: F401  (register tables)
    tables_jobs,
    tables_monitoring,
    tables_monitors,
    tables_retraining,
    tables_serving,
)
from shipyard.stores.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for `alembic` run by hand
    raise RuntimeError("run migrations through `shipyard db upgrade`")
context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True
)
with context.begin_transaction():
    context.run_migrations()
