"""What ``shipyard doctor`` asks the metadata database: which objects it refers to, and
whether the database itself is sound."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.stores.sql import tables as t
from shipyard.stores.sql import (  # noqa: F401 - their tables join ``metadata``
    tables_jobs,
    tables_monitoring,
    tables_monitors,
    tables_serving,
)
from shipyard.stores.sql.tables import metadata

__all__ = ["IntegrityRepo"]

DIGEST = re.compile(rb"(?:blake3|sha256):[0-9a-f]{64}")
# History, not references: the ledger names objects that later collection may remove, and
# metric rows hold names and numbers only.
_NOT_REFERENCES = {"audit_ledger", "audit_head", "metrics", "latest_metrics"}
_PAGE = 5000


class IntegrityRepo:
    """Stateless: every method takes the caller's unit of work."""

    def references(self, conn: Connection) -> Iterator[tuple[str, str]]:
        """``(digest, where)`` for every column that names a stored object a reader opens."""
        rows = conn.execute(sa.select(t.run_artifacts.c.digest, t.run_artifacts.c.run_id))
        for digest, run_id in rows:
            yield digest, f"run {run_id} artifact"
        dv = t.dataset_versions
        q = sa.select(dv.c.object_digest, t.datasets.c.name, dv.c.version)
        for digest, name, version in conn.execute(q.join_from(dv, t.datasets)):
            yield digest, f"dataset {name}@v{version}"
        for (pack,) in conn.execute(sa.select(t.packed_blobs.c.pack_digest).distinct()):
            yield pack, "pack index"
        q = sa.select(
            t.model_versions.c.content_id,
            t.model_versions.c.package_json,
            t.registered_models.c.name,
            t.model_versions.c.version,
        ).join_from(t.model_versions, t.registered_models)
        for row in conn.execute(q):
            content_id, package_json, name, version = str(row[0]), str(row[1]), row[2], row[3]
            where = f"model {name}@v{version}"
            yield content_id, where
            yield from ((d, where) for d in _package_digests(package_json))

    def mentions(self, conn: Connection) -> set[str]:
        """Every digest written anywhere in the database but the history tables: what
        garbage collection must keep (a superset of ``references``)."""
        found: set[str] = set()
        for table in metadata.sorted_tables:
            if table.name in _NOT_REFERENCES:
                continue
            cols = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
            if not cols:
                continue
            for row in conn.execute(sa.select(*cols)).yield_per(_PAGE):
                for value in row:
                    if value and ":" in value:
                        found.update(m.decode() for m in DIGEST.findall(value.encode()))
        return found

    def integrity_problems(self, conn: Connection) -> tuple[str, list[str]]:
        """(what was checked, the problems found) for this database's engine."""
        if conn.dialect.name == "sqlite":
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            problems = [r for r in rows if r != "ok"]
            for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check"):
                problems.append(f"{table} row {rowid} refers to a missing {parent} row")
            return "PRAGMA integrity_check, foreign_key_check", problems
        invalid = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready)"
        )
        problems = [
            f"index {name} is invalid (rebuild it: REINDEX INDEX {name})" for (name,) in invalid
        ]
        missing = _missing_tables(conn)
        problems += [f"table {name} is missing" for name in missing]
        return "indexes valid, tables present, every table readable", problems


def _missing_tables(conn: Connection) -> list[str]:
    present = set(sa.inspect(conn).get_table_names())
    missing = [table.name for table in metadata.sorted_tables if table.name not in present]
    for table in metadata.sorted_tables:
        if table.name in present:  # a read of every table: a damaged heap page errors here
            conn.execute(sa.select(sa.func.count()).select_from(table))
    return missing


def _package_digests(package_json: str) -> Iterator[str]:
    """The model file, its environment lock and its ONNX twin, when recorded."""
    try:
        package = json.loads(package_json)
    except ValueError:
        return
    if not isinstance(package, dict):
        return
    file = package.get("file")
    if isinstance(file, dict) and isinstance(file.get("digest"), str):
        yield file["digest"]
    if isinstance(package.get("lock"), str):
        yield package["lock"]
    onnx = package.get("onnx")
    if isinstance(onnx, dict) and isinstance(onnx.get("digest"), str):
        yield onnx["digest"]
