"""``shipyard backup`` / ``restore``: a round trip proves runs, datasets, models,
deployments and the audit chain identical, on SQLite and PostgreSQL; a backup taken while
runs are being logged restores consistently; damaged backups and non-empty targets are
refused."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core.errors import ArtifactCorruptedError, ConflictError, ValidationError
from shipyard.stores.blobs.digests import object_key
from shipyard.stores.sql.tables import metadata
from tests.services.doctor.project import open_project, seed


@pytest.fixture
def target_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, empty database of the same kind (a new PostgreSQL database, dropped after)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"shipyard_r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def dump(svc: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, sorted, as text: equal dumps are identical databases."""
    out = {}
    with svc.db.read() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return out


def test_round_trip_is_identical(
    db_url: str, target_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = open_project(tmp_path / "src", db_url)
    try:
        seeded = seed(src, tmp_path)
        (tmp_path / "src" / ".shipyard" / "keys").mkdir(parents=True, exist_ok=True)
        src.catalog.register(
            "people", pd.DataFrame({"email": ["a@x.io"]}), pii={"email": "tokenize"}
        )
        started = time.monotonic()
        manifest = src.backups.backup(tmp_path / "bk")
        expected = dump(src)
    finally:
        src.close()
    dst = open_project(tmp_path / "dst", target_url)
    try:
        summary = dst.backups.restore(tmp_path / "bk")
    finally:
        dst.close()
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\n[{db_url.split(':')[0]}] backup {manifest['totals']['bytes']} bytes "
            f"({manifest['totals']['objects']} objects) in {manifest['totals']['seconds']} s; "
            f"restore in {summary['seconds']} s; round trip {elapsed:.2f} s"
        )
    assert manifest["database"]["kind"] == db_url.split(":")[0].split("+")[0]
    assert manifest["missing"] == [] and manifest["keys"]  # the PII key travels
    back = open_project(tmp_path / "dst", target_url)
    try:
        assert dump(back) == expected  # runs, datasets, models, deployments, the ledger
        chain = back.audit.verify()
        assert chain.ok and chain.checked == expected["audit_ledger"].__len__()
        report = back.doctor.check(3600)
        assert report.ok, [f.to_dict() for f in report.findings]
        assert back.blobs.get_bytes(seeded.shared_digest) == b"shared bytes"
        assert back.blobs.backend.exists(seeded.new_log)
        assert back.deployments.get("production", "scorer").live_version == 1
        frame = pd.DataFrame({"age": [30], "income": [40.0]})
        assert len(back.registry.load("scorer@v1", user="ada").predict(frame)) == 1
        assert len(back.catalog.load_frame("loans@v1")) == 50
        with pytest.raises(ConflictError, match="not empty"):
            back.backups.restore(tmp_path / "bk")  # never over a project with data
    finally:
        back.close()


def test_damaged_backup_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    src = open_project(tmp_path / "src", f"sqlite:///{tmp_path / 'src.db'}")
    try:
        seeded = seed(src, tmp_path)
        src.backups.backup(tmp_path / "bk")
    finally:
        src.close()
    with pytest.raises(ValidationError, match="already exists"):
        src.backups.backup(tmp_path / "bk")
    obj = tmp_path / "bk" / "objects" / object_key(seeded.shared_digest)
    obj.chmod(0o644)
    obj.write_bytes(b"shared bytez")
    dst = open_project(tmp_path / "dst", f"sqlite:///{tmp_path / 'dst.db'}")
    try:
        with pytest.raises(ArtifactCorruptedError):
            dst.backups.restore(tmp_path / "bk")
        assert dst.backups.snapshots.occupied() == {}  # nothing restored
        with pytest.raises(ValidationError, match=r"MANIFEST\.json"):
            dst.backups.restore(tmp_path)
    finally:
        dst.close()


def test_backup_while_runs_are_logged_restores_consistently(
    db_url: str, target_url: str, tmp_path: Path
) -> None:
    src = open_project(tmp_path / "src", db_url)
    stop = threading.Event()
    logged: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        exp = src.tracking.create_experiment("busy")
        try:
            while not stop.is_set():
                run_id = src.tracking.create_run(exp, user="bot").info.run_id
                src.tracking.log_artifact_bytes(run_id, uuid.uuid4().bytes * 64, "a.bin")
                src.tracking.log_batch(run_id, params={"n": len(logged)})
                src.tracking.update_run(run_id, status="FINISHED")
                logged.append(run_id)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=writer)
    try:
        seed(src, tmp_path)
        thread.start()
        while len(logged) < 5:
            time.sleep(0.01)
        manifest = src.backups.backup(tmp_path / "bk")
        while len(logged) < manifest["counts"]["runs"] + 3:  # writes went on afterwards
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
        src.close()
    assert not errors
    dst = open_project(tmp_path / "dst", target_url)
    try:
        dst.backups.restore(tmp_path / "bk")
    finally:
        dst.close()
    back = open_project(tmp_path / "dst", target_url)
    try:
        runs = dump(back)["runs"]
        assert len(runs) == manifest["counts"]["runs"] and len(runs) < len(logged) + 2
        assert back.audit.verify().ok
        report = back.doctor.check(3600)
        assert report.ok, [f.to_dict() for f in report.findings]
    finally:
        back.close()


def test_old_pg_dump_and_a_backup_of_another_kind_are_named(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.core.errors import StorageError

    lite = open_project(tmp_path / "lite", f"sqlite:///{tmp_path / 'lite.db'}")
    try:
        lite.backups.backup(tmp_path / "lite-bk")
    finally:
        lite.close()
    pg = open_project(tmp_path / "pg", postgres_url)
    try:
        with pytest.raises(ValidationError, match="holds a sqlite database"):
            pg.backups.restore(tmp_path / "lite-bk")
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
        (fake / "pg_dump").chmod(0o755)
        monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
        with pytest.raises(StorageError, match=r"older than the PostgreSQL \d+ server"):
            pg.backups.backup(tmp_path / "pg-bk")
        assert not (tmp_path / "pg-bk").exists()  # a failed backup leaves nothing behind
        monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
        with pytest.raises(StorageError, match="pg_dump is not on PATH"):
            pg.backups.backup(tmp_path / "pg-bk2")
    finally:
        pg.close()
