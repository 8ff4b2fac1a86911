"""Pipelines as plain data: steps, the DAG, fingerprints, search spaces (no I/O)."""
