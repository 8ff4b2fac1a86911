"""Entities → JSON shapes, shared by the REST API, the web UI and the CLI's ``--json``."""
