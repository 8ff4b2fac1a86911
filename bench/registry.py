"""Registry and audit benchmarks (#5). So far: ``audit verify`` over a large ledger.

    .venv/bin/python bench/registry.py                    # 1,000,000 entries, SQLite
    .venv/bin/python bench/registry.py --entries 100000   # smaller
    .venv/bin/python bench/registry.py --db postgresql+psycopg://postgres@127.0.0.1/test

The ledger is filled through the same append path the services use (``AuditRepo.append``,
in batches of 10,000 entries per transaction), then ``AuditService.verify`` walks the whole
chain in sequence order, recomputing every hash. No competitor has a hash-chained audit
trail (MLflow keeps no history of changes: mlflow#2169), so this prints the target only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from shipyard.services.audit import AuditService
from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.schema import ensure_schema

TARGET_SECONDS = 10.0
BATCH = 10_000


def _fill(db: Database, entries: int) -> float:
    repo = AuditRepo()
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        batch = [
            NewEntry(
                actor=f"user{i % 17}",
                action=("run.create", "run.status", "dataset.alias", "user.add")[i % 4],
                object_type="run",
                object_id=f"{i:032x}",
                payload={"from": "RUNNING", "to": "FINISHED", "n": i},
            )
            for i in range(start, min(start + BATCH, entries))
        ]
        with db.write() as conn:
            repo.append(conn, batch, 1_790_000_000_000 + start)
        print(f"\r  filled {min(start + BATCH, entries):,} entries", end="", file=sys.stderr)
    print(file=sys.stderr)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", help="a database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sybench-registry-") as tmp:
        db = Database(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        ensure_schema(db)
        fill = _fill(db, args.entries)
        started = time.perf_counter()
        report = AuditService(db).verify()
        seconds = time.perf_counter() - started
        db.dispose()
    passed = report.ok and report.checked == args.entries and seconds < TARGET_SECONDS
    result = {
        "entries": args.entries,
        "backend": (args.db or "sqlite").split(":")[0],
        "fill_seconds": round(fill, 2),
        "verify_seconds": round(seconds, 2),
        "entries_per_second": round(args.entries / seconds),
        "target_seconds": TARGET_SECONDS,
        "result": "PASS" if passed else "MISSED",
        "verified": report.checked,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"audit verify over {args.entries:,} entries ({result['backend']}): "
            f"{seconds:.2f} s ({result['entries_per_second']:,} entries/s), target "
            f"< {TARGET_SECONDS:.0f} s: {result['result']}  (filling took {fill:.1f} s)"
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
