"""SQL metadata store: SQLite by default, PostgreSQL for teams.

Importing any part of it registers every table module on the shared metadata, so the
schema checks (and Alembic) always see the whole schema.
"""

from shipyard.stores.sql import (  # noqa: F401  (register tables)
    tables_jobs,
    tables_monitoring,
    tables_monitors,
    tables_serving,
)
