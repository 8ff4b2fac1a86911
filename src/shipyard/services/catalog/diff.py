"""What changed between two dataset versions (or a folder on disk and a version)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core.datasets import DatasetVersion, ManifestEntry

__all__ = ["diff_manifests", "diff_tables"]

STATS = ("nulls", "distinct", "min", "max", "mean", "std")


def diff_manifests(
    old: Sequence[ManifestEntry], new: Sequence[ManifestEntry], limit: int = 1000
) -> dict[str, Any]:
    """Files added, removed and changed (by content), with counts and byte totals."""
    a = {e.path: e for e in old}
    b = {e.path: e for e in new}
    added = sorted(set(b) - set(a))
    removed = sorted(set(a) - set(b))
    changed = sorted(p for p in set(a) & set(b) if a[p].digest != b[p].digest)
    return {
        "kind": "files",
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
            "unchanged": len(set(a) & set(b)) - len(changed),
        },
        "bytes": {"old": sum(e.size for e in old), "new": sum(e.size for e in new)},
        "added": [{"path": p, "size": b[p].size} for p in added[:limit]],
        "removed": [{"path": p, "size": a[p].size} for p in removed[:limit]],
        "changed": [
            {"path": p, "old_size": a[p].size, "new_size": b[p].size} for p in changed[:limit]
        ],
        "truncated": max(len(added), len(removed), len(changed)) > limit,
    }


def _shift(old: Any, new: Any) -> float | None:
    if isinstance(old, int | float) and isinstance(new, int | float):
        return new - old
    return None


def _column_changes(old: Mapping[str, Any], new: Mapping[str, Any], rows: tuple[int, int]) -> dict:
    stats: dict[str, Any] = {}
    for key in STATS:
        if key in old or key in new:
            stats[key] = {"old": old.get(key), "new": new.get(key), "delta": None}
            stats[key]["delta"] = _shift(old.get(key), new.get(key))
    null_old = (old.get("nulls") or 0) / rows[0] if rows[0] else 0.0
    null_new = (new.get("nulls") or 0) / rows[1] if rows[1] else 0.0
    stats["null_fraction"] = {"old": null_old, "new": null_new, "delta": null_new - null_old}
    mean_shift = None
    m0, m1, s0 = old.get("mean"), new.get("mean"), old.get("std")
    if isinstance(m0, int | float) and isinstance(m1, int | float) and s0:
        mean_shift = (m1 - m0) / s0  # how many old standard deviations the mean moved
    top_old = {k for k, _ in old.get("top", [])}
    top_new = {k for k, _ in new.get("top", [])}
    return {
        "stats": stats,
        "mean_shift_in_std": None if mean_shift is None or math.isnan(mean_shift) else mean_shift,
        "top_added": sorted(top_new - top_old),
        "top_removed": sorted(top_old - top_new),
    }


def diff_tables(old: DatasetVersion, new: DatasetVersion) -> dict[str, Any]:
    """Schema changes, row counts and per-column statistic shifts of two table versions."""
    a, b = dict(old.columns), dict(new.columns)
    rows = (old.row_count or 0, new.row_count or 0)
    prof_a = old.profile.get("columns", {})
    prof_b = new.profile.get("columns", {})
    assert isinstance(prof_a, dict) and isinstance(prof_b, dict)
    common = [c for c, _ in new.columns if c in a]
    return {
        "kind": "table",
        "rows": {"old": rows[0], "new": rows[1], "delta": rows[1] - rows[0]},
        "schema": {
            "added": [{"column": c, "type": b[c]} for c, _ in new.columns if c not in a],
            "removed": [{"column": c, "type": a[c]} for c, _ in old.columns if c not in b],
            "type_changed": [
                {"column": c, "old": a[c], "new": b[c]} for c in common if a[c] != b[c]
            ],
        },
        "columns": {c: _column_changes(prof_a.get(c, {}), prof_b.get(c, {}), rows) for c in common},
        "pii": {"old": old.pii, "new": new.pii} if old.pii != new.pii else None,
    }
