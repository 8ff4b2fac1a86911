"""Backup/restore round trip (#18): size and time of ``shipyard backup`` and ``restore``.

    .venv/bin/python bench/backup.py                 # SQLite, 1,000 runs, ~1 min
    .venv/bin/python bench/backup.py --runs 100      # smaller
    .venv/bin/python bench/backup.py --db postgresql+psycopg://postgres@127.0.0.1/test

The project: ``--runs`` runs (5 params, 10 metrics x 10 steps, one 64 KB random artifact
each), a 100,000-row table dataset, a model with 3 versions (one deployed). The backup is
taken through ``BackupService`` (the code behind the CLI) into a temporary folder, then
restored into a new project (with ``--db``: a new PostgreSQL database, dropped afterwards);
the restored tables are compared with the source's.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Metric, Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from shipyard.stores.sql.tables import metadata

SIGNATURE = {"inputs": [["age", "int64"], ["income", "float64"]], "output": "int64"}


def open_project(folder: Path, db_url: str) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    env = {"SHIPYARD_PROJECT_DIR": str(folder), "SHIPYARD_DB_URL": db_url}
    return build_services(load_settings(env=env))


def dump(svc: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, sorted, as text."""
    with svc.db.read() as conn:
        return {
            table.name: sorted(
                tuple(repr(v) for v in row) for row in conn.execute(sa.select(table))
            )
            for table in metadata.sorted_tables
        }


def fill(s: Any, runs: int) -> None:
    exp = s.tracking.create_experiment("bench")
    for i in range(runs):
        run_id = s.tracking.create_run(exp, user="bench").info.run_id
        metrics = [Metric(f"m{k}", float(k * j), 0, j) for k in range(10) for j in range(10)]
        s.tracking.log_batch(run_id, metrics, params={f"p{k}": i for k in range(5)})
        s.tracking.log_artifact_bytes(run_id, os.urandom(64 * 1024), "weights.bin")
        s.tracking.update_run(run_id, status="FINISHED")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"age": rng.integers(20, 70, 100_000), "income": rng.normal(50, 9, 100_000)}
    )
    s.catalog.register("loans", frame)
    y = (frame["income"] > 50).to_numpy(dtype=int)
    for c in (1.0, 0.5, 0.25):
        v = s.registry.log_model(
            LogisticRegression(C=c).fit(frame[:2000], y[:2000]),
            "scorer",
            user="b",
            signature=SIGNATURE,
        )
        s.registry.set_status(v.ref, "gate_passed", user="ci")
        s.registry.set_status(v.ref, "approved", user="ci")
    s.deployments.deploy("scorer", 1, "production", s.access.add_user("dora", Role.DEPLOYER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--db", default=None, help="a PostgreSQL admin URL (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src_url, dst_url, admin, name = _urls(root, args.db)
        try:
            src = open_project(root / "src", src_url)
            t0 = time.monotonic()
            fill(src, args.runs)
            filled = time.monotonic() - t0
            manifest = src.backups.backup(root / "bk")
            expected = dump(src)
            src.close()
            dst = open_project(root / "dst", dst_url)
            summary = dst.backups.restore(root / "bk")
            dst.close()
            back = open_project(root / "dst", dst_url)
            identical = dump(back) == expected
            doctor_ok = back.doctor.check(3600).ok and back.audit.verify().ok
            back.close()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    for db in name:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    totals = manifest["totals"]
    print(json.dumps({
        "database": manifest["database"]["kind"],
        "tool": manifest["database"]["tool"],
        "runs": args.runs,
        "fill_s": round(filled, 1),
        "backup_bytes": totals["bytes"],
        "database_bytes": manifest["database"]["size"],
        "objects": totals["objects"],
        "backup_s": totals["seconds"],
        "restore_s": summary["seconds"],
        "identical": identical,
        "doctor_and_audit_clean": doctor_ok,
    }, indent=1))  # fmt: skip


def _urls(root: Path, admin_url: str | None) -> tuple[str, str, sa.Engine | None, list[str]]:
    if admin_url is None:
        return f"sqlite:///{root / 'src.db'}", f"sqlite:///{root / 'dst.db'}", None, []
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"shipyard_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        for db in names:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    urls = [sa.make_url(admin_url).set(database=db).render_as_string(False) for db in names]
    return urls[0], urls[1], admin, names


if __name__ == "__main__":
    main()
