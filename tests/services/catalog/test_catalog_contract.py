"""The data-catalog contract on SQLite and PostgreSQL (``db_url``), local and S3 object stores."""

from __future__ import annotations

import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.datasets import DatasetKind
from shipyard.core.errors import (
    ArtifactCorruptedError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from shipyard.services.catalog import CatalogService
from shipyard.services.catalog import files as folder
from shipyard.services.catalog.privacy import load_or_create_key
from shipyard.services.formats.tables import encode_table
from shipyard.services.tracking import TrackingService
from shipyard.stores.blobs import open_content_store
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.schema import ensure_schema
from shipyard.stores.statcache import StatCache


def _catalog(db_url: str, tmp_path: Path, blobs=None) -> tuple[CatalogService, TrackingService]:
    db = Database(db_url)
    ensure_schema(db)
    blobs = blobs or open_content_store(str(tmp_path / "objects"))
    catalog = CatalogService(
        db,
        blobs,
        stat_cache=StatCache(tmp_path / "state" / "stat.db"),
        pii_key=lambda: load_or_create_key(None, tmp_path / "state" / "pii.key"),
        checkout_dir=tmp_path / "checkouts",
    )
    return catalog, TrackingService(db, blobs)


@pytest.fixture
def services(db_url: str, tmp_path: Path):
    catalog, tracking = _catalog(db_url, tmp_path)
    yield catalog, tracking
    catalog.stat_cache.close()
    catalog.db.dispose()


@pytest.fixture
def catalog(services) -> CatalogService:
    return services[0]


def loans(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50_000, 8_000, n).round(2),
            "grade": rng.choice(["A", "B", "C"], n),
            "defaulted": rng.random(n) < 0.2,
        }
    )


def make_tree(root: Path, n: int = 30) -> Path:
    for i in range(n):
        sub = root / f"part{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.bin").write_bytes(os.urandom(512))
    return root


# ------------------------------------------------------------------------ versions
def test_register_frame_versions_dedup_and_get(catalog: CatalogService) -> None:
    df = loans()
    v1 = catalog.register("loans", df, description="loan book", tags={"team": "risk"}, user="ana")
    assert (v1.ref, v1.created, v1.kind, v1.row_count) == ("loans@v1", True, DatasetKind.TABLE, 200)
    assert [c for c, _ in v1.columns] == ["age", "income", "grade", "defaulted"]
    again = catalog.register("loans", df.copy(), user="bob")
    assert (again.ref, again.created, again.content_id) == ("loans@v1", False, v1.content_id)
    v2 = catalog.register("loans", loans(seed=1), user="bob")
    assert (v2.ref, v2.created) == ("loans@v2", True) and v2.content_id != v1.content_id
    pd.testing.assert_frame_equal(catalog.load_frame("loans@v1"), df)
    assert catalog.get_version("loans").version == 2
    assert catalog.get_version("loans@1").content_id == v1.content_id
    catalog.set_alias("loans@v1", "training", user="ana")
    assert catalog.get_version("loans@training").version == 1
    catalog.set_alias("loans@v2", "training", user="ana")  # moving an alias
    assert catalog.get_version("loans@training").version == 2
    assert [v.version for v in catalog.list_versions("loans")] == [2, 1]
    ds = catalog.get_dataset("loans")
    assert (ds.latest_version, ds.owner, ds.tags, ds.aliases) == (
        2,
        "ana",
        {"team": "risk"},
        {"training": 2},
    )
    assert catalog.load_frame("loans@v2", columns=["age"]).columns.tolist() == ["age"]
    head = catalog.load_frame("loans@v1", rows=3)
    pd.testing.assert_frame_equal(head, df.head(3))


def test_profile_holds_the_statistics(catalog: CatalogService) -> None:
    df = loans()
    df.loc[:9, "income"] = np.nan
    v = catalog.register("loans", df)
    cols = v.profile["columns"]
    assert v.profile["rows"] == 200
    assert cols["income"]["nulls"] == 10
    assert cols["age"]["min"] == df["age"].min() and cols["age"]["max"] == df["age"].max()
    assert cols["income"]["mean"] == pytest.approx(df["income"].mean())
    assert cols["income"]["quantiles"]["0.5"] == pytest.approx(df["income"].median())
    assert {k for k, _ in cols["grade"]["top"]} == {"A", "B", "C"}
    assert cols["grade"]["distinct"] == 3


def test_table_files_csv_parquet_jsonl(catalog: CatalogService, tmp_path: Path) -> None:
    df = loans(50)
    df.to_csv(tmp_path / "l.csv", index=False)
    df.to_parquet(tmp_path / "l.parquet", index=False)
    df.to_json(tmp_path / "l.jsonl", orient="records", lines=True)
    for name in ("l.csv", "l.parquet", "l.jsonl"):
        v = catalog.register(name.replace(".", "-"), tmp_path / name)
        assert v.kind is DatasetKind.TABLE and v.row_count == 50
        back = catalog.load_frame(v.ref)
        assert back["age"].tolist() == df["age"].tolist()
        assert v.source.endswith(name)


def test_search_by_name_description_owner_tags_and_columns(catalog: CatalogService) -> None:
    catalog.register("loans", loans(), description="Retail loan book", owner="risk-team")
    frame = pd.DataFrame({"customer_segment": ["a", "b"], "spend": [1.0, 2.0]})
    catalog.register("marketing", frame, tags={"domain": "growth"})

    def names(text: str | None) -> list[str]:
        return [d.name for d in catalog.search(text)]

    assert names(None) == ["loans", "marketing"]
    assert names("RETAIL") == ["loans"]
    assert names("risk-team") == ["loans"]
    assert names("growth") == ["marketing"]
    assert names("segment") == ["marketing"]
    assert names("income") == ["loans"]
    assert names("100%_") == []  # LIKE wildcards are matched literally
    catalog.register("pastry", frame, description="Éclair sales")
    assert names("éCLAIR") == ["pastry"]  # case folding beyond ASCII, on both databases
    with pytest.raises(ValidationError, match="limit"):
        catalog.search(None, limit=0)


# ------------------------------------------------------------------------ folders
def test_folder_versions_store_only_changed_files(catalog: CatalogService, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    v1 = catalog.register("images", tree)
    assert (v1.kind, v1.file_count, v1.size) == (DatasetKind.FILES, 30, 30 * 512)
    before = set(catalog.blobs.iter_digests())
    assert catalog.register("images", tree).created is False  # a no-op re-add
    (tree / "part0" / "f0.bin").write_bytes(b"changed")
    (tree / "new.txt").write_text("hello")
    (tree / "part1" / "f1.bin").unlink()
    v2 = catalog.register("images", tree)
    added = set(catalog.blobs.iter_digests()) - before - {v2.object_digest}
    assert v2.ref == "images@v2"
    # one pack object holding exactly the two new contents, nothing else
    assert sum(catalog.blobs.size(d) for d in added) == len(b"changed") + len(b"hello")
    d = catalog.diff("images@v1", "images@v2")
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 28}
    assert [f["path"] for f in d["changed"]] == ["part0/f0.bin"]


def test_partial_checkout_of_a_file_and_a_subfolder(
    catalog: CatalogService, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    catalog.register("images", tree)
    one = catalog.checkout("images@v1", "part2/f2.bin", tmp_path / "one")
    assert one.read_bytes() == (tree / "part2" / "f2.bin").read_bytes()
    assert sorted(p.name for p in (tmp_path / "one").rglob("*") if p.is_file()) == ["f2.bin"]
    sub = catalog.checkout("images@v1", "part1", tmp_path / "sub")
    assert len([p for p in sub.rglob("*") if p.is_file()]) == 10
    whole = catalog.checkout("images")
    assert len([p for p in whole.rglob("*") if p.is_file()]) == 30
    with pytest.raises(ValidationError, match="no file or folder"):
        catalog.checkout("images@v1", "part9")
    with pytest.raises(ValidationError, match="path"):
        catalog.checkout("images@v1", "../../etc/passwd")


def test_single_raw_file_and_status(catalog: CatalogService, tmp_path: Path) -> None:
    blob = tmp_path / "weights.bin"
    blob.write_bytes(os.urandom(4096))
    v = catalog.register("weights", blob)
    assert (v.kind, v.file_count) == (DatasetKind.FILES, 1)
    assert catalog.status("weights", blob)["up_to_date"] is True
    blob.write_bytes(os.urandom(4096))
    status = catalog.status("weights", blob)
    assert status["up_to_date"] is False and status["counts"]["changed"] == 1


# ------------------------------------------------------------------------ bad input
def test_unreadable_and_mixed_type_files(catalog: CatalogService, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValidationError, match=r"cannot read bad\.parquet as parquet"):
        catalog.register("bad", bad)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"a": 1, "b": 1}\n{"a": "x", "b": 2}\n{"a": [1], "b": 3}\n')
    with pytest.raises(ValidationError, match="column 'a' mixes value types"):
        catalog.register("mixed", mixed)
    with pytest.raises(ValidationError, match="does not exist"):
        catalog.register("ghost", tmp_path / "ghost.csv")
    with pytest.raises(NotFoundError):
        catalog.get_dataset("bad")  # nothing half-registered


def test_empty_frames_and_bad_names(catalog: CatalogService) -> None:
    with pytest.raises(ValidationError, match="empty"):
        catalog.register("empty", pd.DataFrame({"a": []}))
    with pytest.raises(ValidationError, match="empty"):
        catalog.register("empty", pd.DataFrame(index=range(3)))
    with pytest.raises(ValidationError, match="dataset name"):
        catalog.register("../etc", loans())
    with pytest.raises(ValidationError, match="DataFrame"):
        catalog.register("x", [1, 2, 3])
    with pytest.raises(ValidationError, match="format"):
        catalog.register("x", loans(), format="csv")
    with pytest.raises(ValidationError, match="owner must be text of at most 256"):
        catalog.register("x", loans(), owner="o" * 300)
    with pytest.raises(ValidationError, match="description"):
        catalog.register("x", loans(), description=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not a table file"):
        catalog.register("x", Path(__file__), format="table")
    with pytest.raises(ValidationError, match="not a table file"):
        catalog.register("x", Path(__file__).parent, format="table")


def test_unknown_refs(catalog: CatalogService) -> None:
    catalog.register("loans", loans())
    with pytest.raises(NotFoundError, match="no version v9"):
        catalog.get_version("loans@v9")
    with pytest.raises(NotFoundError, match="no version training"):
        catalog.get_version("loans@training")
    with pytest.raises(NotFoundError, match="no dataset named 'nope'"):
        catalog.get_version("nope@v1")
    for ref in ("loans@@x", "loans@v0", "", "lo ans", "loans@latest@x"):
        with pytest.raises(ValidationError):
            catalog.get_version(ref)
    with pytest.raises(ValidationError, match="reserved"):
        catalog.set_alias("loans@v1", "latest")


@pytest.mark.parametrize("size", [512, 300 * 1024])  # packed, and loose
def test_file_changed_while_being_registered(
    catalog: CatalogService, tmp_path: Path, size: int
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"{i}.bin").write_bytes(os.urandom(size))
    scanned = folder.scan_source(tree)  # the stamps of the files as the walk saw them
    victim = Path(scanned[0][1])
    victim.write_bytes(os.urandom(size + 1))  # a writer changes the file before it is read
    with pytest.raises(ValidationError, match="changed while it was being registered"):
        folder.ingest_files(catalog.blobs, catalog.stat_cache, scanned, lambda digests: {})


def test_corrupted_stored_object_is_a_clear_error(catalog: CatalogService) -> None:
    v = catalog.register("loans", loans())
    algo, hexdigest = v.object_digest.split(":")
    path = Path(catalog.blobs.url) / "v1" / algo / hexdigest[:2] / hexdigest[2:]
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorruptedError):
        catalog.load_frame("loans@v1")


def test_symlink_out_of_the_folder_is_refused(catalog: CatalogService, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", 2)
    (tmp_path / "secret.txt").write_text("s3cret")
    (tree / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ValidationError, match="outside the folder"):
        catalog.register("tree", tree)


# ------------------------------------------------------------------------ lineage
def test_run_inputs_both_directions(services) -> None:
    catalog, tracking = services
    catalog.register("loans", loans())
    catalog.register("loans", loans(seed=3))
    catalog.set_alias("loans@v1", "training")
    run_id = tracking.create_run(tracking.create_experiment("exp")).run_id
    assert catalog.record_input(run_id, "loans@training", "training").ref == "loans@v1"
    catalog.record_input(run_id, "loans@training", "training")  # idempotent
    catalog.record_input(run_id, "loans", "holdout")
    assert [(i.ref, i.context) for i in catalog.inputs_of_run(run_id)] == [
        ("loans@v1", "training"),
        ("loans@v2", "holdout"),
    ]
    assert [r.run_id for r in catalog.runs_reading("loans@v1")] == [run_id]
    with pytest.raises(NotFoundError):
        catalog.record_input(run_id, "loans@v7")


def test_concurrent_registers_of_one_name(catalog: CatalogService) -> None:
    errors: list[BaseException] = []
    results = []

    def register(seed: int) -> None:
        try:
            results.append(catalog.register("loans", loans(seed=seed)))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=register, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(v.version for v in results) == [1, 2, 3, 4]


def test_catalog_on_s3(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> None:
    blobs = open_content_store(
        f"s3://{s3_bucket}/objects", {"client_kwargs": {"endpoint_url": moto_endpoint}}
    )
    catalog, _ = _catalog(f"sqlite:///{tmp_path / 'meta.db'}", tmp_path, blobs)
    df = loans()
    v = catalog.register("loans", df)
    pd.testing.assert_frame_equal(catalog.load_frame(v.ref), df)
    tree = make_tree(tmp_path / "tree", 6)
    catalog.register("tree", tree)
    (tree / "part0" / "f0.bin").write_bytes(b"new")
    before = set(blobs.iter_digests())
    assert catalog.register("tree", tree).ref == "tree@v2"
    assert len(set(blobs.iter_digests()) - before) == 2  # the changed file + the manifest
    out = catalog.checkout("tree@v2", "part0/f0.bin", tmp_path / "out")
    assert out.read_bytes() == b"new"
    catalog.stat_cache.close()
    catalog.db.dispose()


def test_lineage_bad_input(services) -> None:
    catalog, tracking = services
    catalog.register("loans", loans())
    with pytest.raises(NotFoundError, match="no run with id"):
        catalog.record_input("0" * 32, "loans@v1")
    run_id = tracking.create_run(tracking.create_experiment("exp")).run_id
    with pytest.raises(ValidationError, match="64 characters"):
        catalog.record_input(run_id, "loans@v1", "x" * 65)
    with pytest.raises(ValidationError, match="run_id"):
        catalog.record_input("not-a-run", "loans@v1")


def test_kept_personal_data_is_not_profiled(catalog: CatalogService) -> None:
    df = pd.DataFrame({"email": ["ann@example.com", "bo@example.org"], "n": [1, 2]})
    v = catalog.register("contacts", df, allow_pii=True)
    stats = v.profile["columns"]["email"]
    assert "top" not in stats and "min" not in stats and "hidden" in stats
    masked = catalog.register("contacts", df, pii={"email": "mask"})
    assert dict(masked.columns)["email"] == dict(v.columns)["email"] == "string"
    assert catalog.diff(v.ref, masked.ref)["schema"]["type_changed"] == []


def test_racily_clean_file_is_not_trusted_by_its_stamp(
    catalog: CatalogService, tmp_path: Path
) -> None:
    """A same-size rewrite that keeps the mtime must not be served from the stat cache."""
    tree = tmp_path / "tree"
    tree.mkdir()
    f = tree / "a.bin"
    f.write_bytes(b"A" * 100)
    st = f.stat()
    catalog.register("racy", tree)  # mtime is "now": the stamp must not be cached
    f.write_bytes(b"B" * 100)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime, new bytes
    v2 = catalog.register("racy", tree)
    assert v2.created and catalog.diff("racy@v1", "racy@v2")["counts"]["changed"] == 1


def test_pii_key_file_is_created_once_and_a_broken_one_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "pii.key"
    first = load_or_create_key(None, key_file)
    assert load_or_create_key(None, key_file) == first and len(first) == 32
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert load_or_create_key("ab" * 16, key_file) == bytes.fromhex("ab" * 16)  # env wins
    with pytest.raises(ValidationError, match="hex"):
        load_or_create_key("not hex", key_file)
    shared = tmp_path / "shared" / "pii.key"
    with ThreadPoolExecutor(8) as pool:  # concurrent first use: everyone gets the same key
        keys = set(pool.map(lambda _: load_or_create_key(None, shared), range(16)))
    assert len(keys) == 1 and not [p for p in shared.parent.iterdir() if p != shared]
    key_file.write_text("")
    with pytest.raises(StorageError, match="too short"):
        load_or_create_key(None, key_file)
    key_file.write_text("zz-not-hex")
    with pytest.raises(StorageError, match="restore it from a backup"):
        load_or_create_key(None, key_file)


def test_deleted_objects_are_stored_again_not_trusted_by_stamp(
    catalog: CatalogService, tmp_path: Path
) -> None:
    """Repair: after a corrupted object is deleted, registering the folder stores it again."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "big.bin").write_bytes(os.urandom(300 * 1024))  # a loose object
    (tree / "small.txt").write_text("small")  # a blob in a pack
    old = time.time() - 10  # not "racily clean": the stat cache will trust these stamps
    for f in tree.iterdir():
        os.utime(f, (old, old))
    catalog.register("tree", tree)
    entries = {e.path: e for e in catalog.manifest("tree@v1")}
    catalog.blobs.delete(entries["big.bin"].digest)
    catalog.blobs.delete(entries["small.txt"].pack)
    (tree / "other.txt").write_text("new")
    v2 = catalog.register("tree", tree)
    out = catalog.checkout(v2.ref, dest=tmp_path / "out")
    assert (out / "big.bin").read_bytes() == (tree / "big.bin").read_bytes()
    assert (out / "small.txt").read_text() == "small"
    (tree / "third.txt").write_text("3")  # the pack index points at the new pack now
    v3 = catalog.register("tree", tree)
    assert (catalog.checkout(v3.ref, "small.txt", tmp_path / "o3")).read_text() == "small"


def test_file_names_that_are_not_utf8_are_refused(catalog: CatalogService, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.txt").write_text("ok")
    with open(os.path.join(os.fsencode(tree), b"bad\xff.txt"), "wb") as fh:
        fh.write(b"x")
    with pytest.raises(ValidationError, match="not printable UTF-8"):
        catalog.register("tree", tree)


def test_nested_cells_are_stored_and_profiled(catalog: CatalogService, tmp_path: Path) -> None:
    df = pd.DataFrame({"tags": [["a", "b"], ["a"], None], "meta": [{"k": 1}, {"k": 2}, {"k": 1}]})
    v = catalog.register("nested", df)
    assert v.profile["columns"]["tags"]["distinct"] == 2
    assert v.profile["columns"]["tags"]["nulls"] == 1
    lines = tmp_path / "n.jsonl"
    lines.write_text('{"xs": [1, 2], "n": 1}\n{"xs": [3], "n": 2}\n')
    assert catalog.register("nested-lines", lines).row_count == 2
    assert catalog.load_frame("nested-lines")["xs"].map(list).tolist() == [[1, 2], [3]]


def test_reregistering_older_content_makes_it_latest_without_new_storage(
    catalog: CatalogService,
) -> None:
    a, b = loans(seed=1), loans(seed=2)
    v1 = catalog.register("t", a)
    catalog.register("t", b)
    objects = set(catalog.blobs.iter_digests())
    v3 = catalog.register("t", a)
    assert (v3.ref, v3.created, v3.content_id) == ("t@v3", True, v1.content_id)
    assert set(catalog.blobs.iter_digests()) == objects  # same Parquet object, stored once
    pd.testing.assert_frame_equal(catalog.load_frame("t"), a)
    assert catalog.register("t", a.copy()).ref == "t@v3"  # identical to latest: no new version


def test_table_content_id_ignores_library_metadata(catalog: CatalogService) -> None:
    """The Parquet bytes embed pyarrow's and pandas' versions; the content id must not."""
    import pyarrow.parquet as pq

    v = catalog.register("loans", loans())
    meta = pq.ParquetFile(io.BytesIO(catalog.blobs.get_bytes(v.object_digest))).metadata
    assert "parquet-cpp-arrow" in meta.created_by  # the stored object does carry versions
    assert v.content_id != v.object_digest
    encoded = encode_table(loans(), catalog.blobs.algorithm)
    assert encoded.content_id == v.content_id
    renamed = encode_table(loans().rename(columns={"age": "years"}), "blake3")
    assert renamed.content_id != v.content_id


def test_status_is_for_folders(catalog: CatalogService, tmp_path: Path) -> None:
    catalog.register("loans", loans())
    with pytest.raises(ValidationError, match="is a table: status compares folders"):
        catalog.status("loans", tmp_path)


def test_a_value_too_long_for_its_column_is_a_400_not_a_crash(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL enforces VARCHAR lengths (SQLite does not): a clear error, not a 500."""
    catalog, tracking = _catalog(postgres_url, tmp_path)
    with pytest.raises(ValidationError, match="does not fit the metadata database"):
        tracking.create_experiment("e" * 300)
    catalog.db.dispose()


def test_link_mode_hard_links_large_files_read_only(
    catalog: CatalogService, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    big = tree / "weights.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    (tree / "note.txt").write_text("small files are packed either way")
    v = catalog.register("model-files", tree, link=True)
    entry = next(e for e in catalog.manifest(v.ref) if e.path == "weights.bin")
    algo, hexdigest = entry.digest.split(":")
    stored = Path(catalog.blobs.url) / "v1" / algo / hexdigest[:2] / hexdigest[2:]
    assert stored.stat().st_ino == big.stat().st_ino  # no copy was made
    assert (big.stat().st_mode & 0o777) == 0o444  # protected, like DVC's hardlink cache
    out = catalog.checkout(v.ref, "weights.bin", tmp_path / "out")
    assert out.read_bytes() == big.read_bytes()
    assert catalog.register("model-files", tree, link=True).created is False


def test_a_linked_file_edited_in_place_is_detected_on_read(
    catalog: CatalogService, tmp_path: Path
) -> None:
    """The cost of link mode, made safe: the store never returns the altered bytes."""
    big = tmp_path / "data.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    v = catalog.register("raw", big, link=True)
    os.chmod(big, 0o644)
    with open(big, "r+b") as fh:  # in place: the inode the store shares
        fh.write(b"tampered")
    with pytest.raises(ArtifactCorruptedError):
        catalog.checkout(v.ref, dest=tmp_path / "out")
    assert not (tmp_path / "out" / "data.bin").exists()


def test_personal_data_in_table_files_of_a_folder(catalog: CatalogService, tmp_path: Path) -> None:
    """Folder files are stored byte for byte, so PII in their tables is refused unless allowed."""
    tree = tmp_path / "export"
    tree.mkdir()
    (tree / "readme.txt").write_text("monthly export")
    (tree / "orders.csv").write_text("id,amount\n1,10\n2,12\n")
    (tree / "broken.csv").write_bytes(b"\xff\xfe not a table \x00")
    assert catalog.register("export", tree).pii == {}
    (tree / "customers.csv").write_text(
        "id,contact\n1,ann.lee@example.com\n2,bo.chan@example.org\n"
    )
    with pytest.raises(ValidationError, match=r"customers\.csv:contact \(email\)") as e:
        catalog.register("export", tree)
    assert "ann.lee" not in e.value.message
    assert catalog.get_version("export").version == 1  # nothing registered
    v2 = catalog.register("export", tree, allow_pii=True)
    assert v2.pii_allowed and v2.pii["customers.csv:contact"]["kind"] == "email"
