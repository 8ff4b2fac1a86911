"""Stores: the metadata database (SQLAlchemy) and the content-addressed object store."""
