"""What the prediction-log compactor saw last time, so a run skips the partitions with nothing new.

Deciding what to merge in a partition of today opens its small files (to learn each one's
hour) and the footers of its compacted files (their manifests). A partition whose files are
the ones the last run left, before any of its open hours closes, needs none of that: the
marker keeps, per partition, a digest of the keys the last complete pass left and the time
when its next hour (or its day) closes. Log files are written once under new keys, so the
same keys are the same files.

The marker is one small JSON object at ``predictions/_compaction/state.json`` (not a log
key: readers and retention skip it). It is a cache, never the truth: a missing, unreadable
or newer-format marker, or one another run overwrote, only costs a full pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shipyard.core.errors import ShipyardError
from shipyard.services.formats.predictions import PREFIX
from shipyard.stores.blobs.base import ByteBackend

__all__ = ["MARKER_KEY", "MARKER_VERSION", "CompactionMarker", "partition_id"]

MARKER_KEY = f"{PREFIX}/_compaction/state.json"
MARKER_VERSION = 1

log = logging.getLogger("shipyard.predlog")


def partition_id(partition: tuple[Any, ...]) -> str:
    """A partition (model, day, env, version) as the marker's key."""
    return json.dumps(list(partition))


def _digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


class CompactionMarker:
    """The marker of one run: read once at the start, written once at the end."""

    def __init__(self, backend: ByteBackend) -> None:
        self.backend = backend
        self.entries: dict[str, dict[str, Any]] = self._load()
        self.changed = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.backend.exists(MARKER_KEY):
            return {}
        try:
            with self.backend.open_read(MARKER_KEY) as raw:
                body = json.loads(raw.read())
        except (ShipyardError, OSError, ValueError) as e:
            log.warning("ignoring the compaction marker %s: %s", MARKER_KEY, e)
            return {}
        if not isinstance(body, dict) or body.get("version") != MARKER_VERSION:
            return {}  # another format: start again (the next write replaces it)
        entries = body.get("partitions")
        return entries if isinstance(entries, dict) else {}

    def unchanged(self, pid: str, keys: Iterable[str], now: int) -> bool:
        """True when the partition holds the keys the last pass left and none of its hours
        (nor its day) closed since: a pass would find nothing to do."""
        entry = self.entries.get(pid)
        if not isinstance(entry, dict) or entry.get("keys") != _digest(keys):
            return False
        due = entry.get("due")
        return due is None or (isinstance(due, int) and now < due)

    def record(self, pid: str, keys: Iterable[str], due: int | None) -> None:
        """What a complete pass over ``pid`` left, and when time alone gives it work."""
        entry = {"keys": _digest(keys), "due": due}
        if self.entries.get(pid) != entry:
            self.entries[pid] = entry
            self.changed = True

    def forget(self, pid: str) -> None:
        if self.entries.pop(pid, None) is not None:
            self.changed = True

    def prune(self, seen: set[str], model: str | None, env: str | None) -> None:
        """Forget partitions of this run's scope that are gone (retention removed them)."""
        for pid in list(self.entries):
            m, _, e, _ = json.loads(pid)
            if pid not in seen and model in (None, m) and env in (None, e):
                self.forget(pid)

    def save(self) -> None:
        """Write the marker (atomically) when this run changed it."""
        if not self.changed:
            return
        body = json.dumps({"version": MARKER_VERSION, "partitions": self.entries})
        staging = self.backend.staging_dir()
        with tempfile.NamedTemporaryFile(
            "w", dir=staging, suffix=".json", delete=False, encoding="utf-8"
        ) as fh:
            fh.write(body)
            path = Path(fh.name)
        try:
            self.backend.put_file(path, MARKER_KEY, move=True)
        finally:
            path.unlink(missing_ok=True)
        self.changed = False
