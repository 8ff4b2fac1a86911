"""A machine-local cache of file digests keyed by (path, size, mtime, inode), like DVC's state.

It makes re-registering an unchanged folder cost one ``stat`` per file instead of reading
every byte. A stale entry is impossible to use by mistake: any change of size, mtime or
inode misses the cache, and content is still verified when it is copied into the store.
The cache lives in the project's ``.shipyard/`` folder (never in the shared object store).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["FileStamp", "StatCache"]

FileStamp = tuple[int, int, int]  # size, mtime_ns, inode
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stat_cache_v1 (scope TEXT NOT NULL, path TEXT NOT NULL, "
    "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, "
    "digest TEXT NOT NULL, PRIMARY KEY (scope, path))"
)


def stamp_of(st: os.stat_result) -> FileStamp:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class StatCache:
    """Thread-safe; a cache that cannot be opened degrades to a no-op (it is only a cache)."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._opened = path is None  # opened on first use: most commands never need it

    def _connection(self) -> sqlite3.Connection | None:
        """The cache database, opened (and created) once; None if it cannot be."""
        if self._opened:
            return self._conn
        self._opened = True
        assert self._path is not None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.commit()
            self._conn = conn
        except (OSError, sqlite3.Error):
            self._conn = None
        return self._conn

    def lookup(self, scope: str, stamps: dict[str, FileStamp]) -> dict[str, str]:
        """Digests of the paths whose stamp still matches, for files known to be stored in
        ``scope`` (the content store's URL: switching stores must not trust old entries)."""
        if not stamps:
            return {}
        found: dict[str, str] = {}
        paths = list(stamps)
        with self._lock:
            conn = self._connection()
            if conn is None:
                return {}
            try:
                for start in range(0, len(paths), 900):  # SQLite's bound-parameter limit
                    chunk = paths[start : start + 900]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        "SELECT path, size, mtime_ns, inode, digest FROM stat_cache_v1 "
                        f"WHERE scope = ? AND path IN ({marks})",
                        [scope, *chunk],
                    )
                    for path, size, mtime, inode, digest in rows:
                        if stamps[path] == (size, mtime, inode):
                            found[path] = digest
            except sqlite3.Error:
                return {}
        return found

    def store(self, scope: str, entries: Iterable[tuple[str, FileStamp, str]]) -> None:
        """Remember digests of files now stored in ``scope``."""
        rows = [(scope, p, s[0], s[1], s[2], d) for p, s, d in entries]
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                conn.executemany("INSERT OR REPLACE INTO stat_cache_v1 VALUES (?,?,?,?,?,?)", rows)
                conn.commit()
            except sqlite3.Error:
                conn.rollback()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
