"""Run artifacts on the S3 backend (a real moto_server on loopback), PostgreSQL-free."""

from __future__ import annotations

from pathlib import Path

from shipyard.services.tracking import TrackingService
from shipyard.stores.blobs import open_content_store
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.schema import ensure_schema


def test_run_artifacts_round_trip_on_s3(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    ensure_schema(db)
    blobs = open_content_store(
        f"s3://{s3_bucket}/objects", {"client_kwargs": {"endpoint_url": moto_endpoint}}
    )
    t = TrackingService(db, blobs)
    run_id = t.create_run(t.create_experiment("s3")).run_id
    src = tmp_path / "report"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    (src / "b.txt").write_text("alpha")  # same content: stored once
    files = t.log_artifact(run_id, src, "reports")
    assert files[0].digest == files[1].digest
    out = t.download_artifacts(run_id, "reports", tmp_path / "out")
    assert (out / "a.txt").read_text() == "alpha" and (out / "b.txt").read_text() == "alpha"
    assert [f.path for f in t.list_artifacts(run_id, "reports")] == [
        "reports/a.txt",
        "reports/b.txt",
    ]
    db.dispose()
