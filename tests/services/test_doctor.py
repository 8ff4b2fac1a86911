"""``DoctorService`` over a real project (SQLite and PostgreSQL, local objects): what each
check finds, and what ``repair`` removes and spares."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.core.health import DoctorReport, Severity
from shipyard.stores.blobs.digests import object_key
from shipyard.stores.blobs.staging import host_tag, make_temp_file

HOUR = 3600.0
GRACE = 1.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    env = {"SHIPYARD_PROJECT_DIR": str(tmp_path)}
    if request.param == "postgres":
        env["SHIPYARD_DB_URL"] = request.getfixturevalue("postgres_url")
    services = build_services(load_settings(env=env))
    yield services
    services.close()


def _populate(svc: object, tmp_path: Path) -> dict[str, str]:
    """A run artifact, and a folder dataset with packed and loose files."""
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(5):
        (folder / f"small-{i}.txt").write_text(f"small file {i}")
    (folder / "large.bin").write_bytes(os.urandom(5 * 1024 * 1024))
    run = svc.tracking.create_run(svc.tracking.get_or_create_experiment("e").experiment_id)  # type: ignore[attr-defined]
    info = svc.tracking.log_artifact_bytes(run.run_id, b"artifact bytes", "a.txt")  # type: ignore[attr-defined]
    version = svc.catalog.register("d", str(folder), user="tester")  # type: ignore[attr-defined]
    return {"run": run.run_id, "artifact": info.digest, "manifest": version.object_digest}


def _of(report: DoctorReport, check: str, severity: Severity) -> list[str]:
    return [f.subject for f in report.findings if f.check == check and f.severity == severity]


def test_a_sound_project_passes(project: object, tmp_path: Path) -> None:
    _populate(project, tmp_path)
    report = project.doctor.check(HOUR)  # type: ignore[attr-defined]
    assert report.ok, report.findings
    checks = {c.name: c.checked for c in report.checks}
    assert checks["objects"] >= 4  # artifact, manifest, a pack, the large file
    assert checks["references"] >= 3
    assert checks["audit chain"] >= 1


def test_corrupted_and_missing_objects_are_damage(project: object, tmp_path: Path) -> None:
    ids = _populate(project, tmp_path)
    backend = project.blobs.backend  # type: ignore[attr-defined]
    path = backend.path(object_key(ids["artifact"]))
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    report = project.doctor.check(HOUR)  # type: ignore[attr-defined]
    assert _of(report, "objects", Severity.DAMAGE) == [ids["artifact"]]
    assert not report.ok
    assert project.doctor.check(HOUR, verify=False).ok  # type: ignore[attr-defined]  # --quick
    path.unlink()  # now missing: the run's record names nothing
    report = project.doctor.check(HOUR)  # type: ignore[attr-defined]
    missing = [f for f in report.damage if f.check == "references"]
    assert [f.subject for f in missing] == [ids["artifact"]]
    assert f"run {ids['run']} artifact" in missing[0].detail


def test_a_pack_a_manifest_needs_is_missing(project: object, tmp_path: Path) -> None:
    ids = _populate(project, tmp_path)
    manifest = project.blobs.get_bytes(ids["manifest"])  # type: ignore[attr-defined]
    import json

    pack = json.loads(manifest)["packs"][0]
    project.blobs.delete(pack)  # type: ignore[attr-defined]
    report = project.doctor.check(HOUR)  # type: ignore[attr-defined]
    assert pack in _of(report, "references", Severity.DAMAGE)


def test_repair_collects_old_orphans_and_spares_young_and_reused_ones(
    project: object, tmp_path: Path
) -> None:
    ids = _populate(project, tmp_path)
    blobs = project.blobs  # type: ignore[attr-defined]
    old, reused = (blobs.put_bytes(f"orphan {n}".encode()) for n in range(2))
    time.sleep(GRACE + 0.5)  # ages are change times: they cannot be set back, only waited
    young = blobs.put_bytes(b"orphan 2")
    report = project.doctor.check(GRACE)  # type: ignore[attr-defined]
    assert sorted(_of(report, "orphans", Severity.GARBAGE)) == sorted([old, reused])
    assert _of(report, "orphans", Severity.PENDING) == [young]  # a write may still link it
    assert ids["manifest"] not in str(report.findings)  # referenced: never garbage, however old
    assert blobs.put_bytes(b"orphan 1") == reused  # a write reuses it: refreshed
    summary = project.doctor.repair(GRACE, report)  # type: ignore[attr-defined]
    assert summary.objects_removed == 1 and summary.object_bytes_removed == len(b"orphan 0")
    assert any(reused in s for s in summary.skipped)
    assert not blobs.exists(old)
    assert blobs.exists(young) and blobs.exists(reused) and blobs.exists(ids["manifest"])
    after = project.doctor.check(GRACE)  # type: ignore[attr-defined]
    assert not after.damage and not after.garbage


def test_refreshing_a_hard_linked_object_leaves_the_workspace_stamp(tmp_path: Path) -> None:
    from shipyard.stores.blobs import open_content_store

    store = open_content_store(str(tmp_path / "objects"))
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    (digest,) = store.put_files([big], link=True)
    before = big.stat().st_mtime_ns
    time.sleep(0.05)
    assert store.keep(digest) and store.put_files([big], link=True) == [digest]
    assert big.stat().st_mtime_ns == before
    assert store.backend.age_s(object_key(digest)) < 1  # type: ignore[attr-defined]


def test_temp_files_of_dead_writers_are_garbage_live_ones_pending(
    project: object, tmp_path: Path
) -> None:
    _populate(project, tmp_path)
    staging = project.blobs.backend.staging_dir()  # type: ignore[attr-defined]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = staging / f"cas-{host_tag()}-{dead.pid}-x.tmp"
    gone.write_bytes(b"half a write")
    live = make_temp_file(staging)  # this process: running
    unknown_old = staging / "tmpabc.json"
    unknown_old.write_text("{}")
    then = time.time() - 2 * HOUR
    os.utime(unknown_old, (then, then))
    obj_dir = project.blobs.backend.path(object_key(_populate_one(project)))  # type: ignore[attr-defined]
    hidden = obj_dir.parent / f".{obj_dir.name}-{host_tag()}-{dead.pid}-y.tmp"
    hidden.write_bytes(b"interrupted rename")
    report = project.doctor.check(HOUR)  # type: ignore[attr-defined]
    garbage = sorted(_of(report, "temp files", Severity.GARBAGE))
    assert garbage == sorted(str(p) for p in (gone, unknown_old, hidden))
    assert _of(report, "temp files", Severity.PENDING) == [str(live)]
    summary = project.doctor.repair(HOUR, report)  # type: ignore[attr-defined]
    assert summary.temp_files_removed == 3
    assert live.exists() and not gone.exists() and not hidden.exists()


def _populate_one(svc: object) -> str:
    return svc.blobs.put_bytes(b"one more object")  # type: ignore[attr-defined]


def test_a_later_write_sweeps_dead_writers_temp_files(tmp_path: Path) -> None:
    from shipyard.stores.blobs import open_content_store

    store = open_content_store(str(tmp_path / "objects"))
    store.put_bytes(b"first")
    staging = tmp_path / "objects" / ".tmp"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = staging / f"cas-{host_tag()}-{dead.pid}-z.tmp"
    left.write_bytes(b"x" * 1000)
    other_host = staging / "cas-00000000-1-z.tmp"  # another host's: left to doctor
    other_host.write_bytes(b"y")
    again = open_content_store(str(tmp_path / "objects"))
    assert again.get_bytes(again.put_bytes(b"second")) == b"second"
    assert not left.exists() and other_host.exists()


def test_database_and_audit_damage_is_reported(tmp_path: Path) -> None:
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        _populate(svc, tmp_path)
        db = tmp_path / ".shipyard" / "shipyard.db"
        engine = sa.create_engine(f"sqlite:///{db}")
        with engine.begin() as conn:  # foreign keys are off on this raw connection
            conn.exec_driver_sql(
                "INSERT INTO run_artifacts VALUES ('nosuchrun', 'x', 'blake3:"
                + "0" * 64
                + "', 1, 0)"
            )
            conn.exec_driver_sql("UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 1")
        engine.dispose()
        report = svc.doctor.check(HOUR)
        by_check = {f.check for f in report.damage}
        assert {"database", "audit chain", "references"} <= by_check
        db_problem = next(f for f in report.damage if f.check == "database")
        assert "run_artifacts" in db_problem.detail
    finally:
        svc.close()


def test_doctor_on_s3_checks_objects_but_collects_nothing(
    s3_bucket: str, moto_endpoint: str, tmp_path: Path
) -> None:
    """An object store that keeps no ages: orphans are reported, never removed."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    env = {
        "SHIPYARD_PROJECT_DIR": str(tmp_path),
        "SHIPYARD_ARTIFACTS": f"s3://{s3_bucket}/objects",
        "SHIPYARD_S3_ENDPOINT_URL": moto_endpoint,
    }
    svc = build_services(load_settings(env=env))
    try:
        run = svc.tracking.create_run(svc.tracking.get_or_create_experiment("e").experiment_id)
        svc.tracking.log_artifact_bytes(run.run_id, b"on s3", "a.txt")
        orphan = svc.blobs.put_bytes(b"nobody links me")
        report = svc.doctor.check(0.0)
        assert not report.damage
        assert _of(report, "orphans", Severity.PENDING) == [orphan]  # age unknown
        summary = svc.doctor.repair(0.0, report)
        assert summary.objects_removed == 0 and svc.blobs.exists(orphan)
    finally:
        svc.close()
