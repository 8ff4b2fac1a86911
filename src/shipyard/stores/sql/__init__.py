"""SQL metadata store: SQLite by default, PostgreSQL for teams."""
