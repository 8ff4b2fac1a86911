"""``DoctorService``: check the whole project, and collect what crashed writes left behind.

Collection is safe against running writes: an object is removed only if the database
does not mention it (read *after* the store was listed), no manifest or pointer reaches
it, and it is older than the grace period when it is removed. Every write that reuses an
existing object refreshes its age first (``ContentStore.keep``), so a write that is about
to link an old orphan makes it young again and collection spares it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipyard.core.errors import ArtifactCorruptedError, ShipyardError
from shipyard.core.health import (
    CheckSummary,
    DoctorReport,
    Finding,
    RepairSummary,
    Severity,
)
from shipyard.services.doctor.objects import list_store, reachable, temp_files
from shipyard.services.ports import ChainVerifier
from shipyard.stores.blobs import ContentStore
from shipyard.stores.blobs.base import Refresher
from shipyard.stores.blobs.digests import object_key
from shipyard.stores.ports import IntegrityQueries, Transactions

__all__ = ["DoctorService", "collect_orphans", "object_age"]

Progress = Callable[[str], None]


class DoctorService:
    """Checks objects, references, orphans, temporary files, the database and the audit
    chain; ``repair`` sweeps stale temporary files and collects old unreferenced objects."""

    def __init__(
        self,
        db: Transactions,
        blobs: ContentStore,
        *,
        repo: IntegrityQueries,
        audit: ChainVerifier,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.repo = repo
        self.audit = audit

    def check(self, grace_s: float, *, verify: bool = True) -> DoctorReport:
        """One pass over the project; ``verify=False`` skips reading every object."""
        report = DoctorReport()
        listing = list_store(self.blobs)
        with self.db.read() as conn:  # after the listing: see GC's safety argument above
            named = list(self.repo.references(conn))
            mentions = self.repo.mentions(conn)
            what, db_problems = self.repo.integrity_problems(conn)
        self._check_objects(report, listing.objects, verify)
        reach = reachable(self.blobs, listing, mentions | {d for d, _ in named}, named)
        report.checks.append(CheckSummary("references", len(named), "database → object"))
        report.findings.extend(
            Finding("references", Severity.DAMAGE, d, f"{where} names a missing object")
            for d, where in sorted(set(reach.missing))
        )
        self._check_orphans(report, listing.objects, reach.keep, grace_s)
        self._check_temps(report, grace_s)
        report.checks.append(CheckSummary("database", 1, what))
        report.findings.extend(
            Finding("database", Severity.DAMAGE, "metadata database", p) for p in db_problems
        )
        chain = self.audit.verify()
        report.checks.append(CheckSummary("audit chain", chain.checked, "hash chain"))
        if not chain.ok:
            report.findings.append(
                Finding(
                    "audit chain",
                    Severity.DAMAGE,
                    f"entry {chain.broken_seq}",
                    chain.reason,
                )
            )
        return report

    def _check_objects(self, report: DoctorReport, objects: dict[str, int], verify: bool) -> None:
        note = "digest of every byte" if verify else "listed (not read: --quick)"
        report.checks.append(CheckSummary("objects", len(objects), note))
        if not verify:
            return
        for digest, size in sorted(objects.items()):
            try:
                self.blobs.verify(digest)
            except ArtifactCorruptedError as e:
                report.findings.append(Finding("objects", Severity.DAMAGE, digest, e.message, size))
            except ShipyardError as e:
                report.findings.append(
                    Finding("objects", Severity.DAMAGE, digest, f"unreadable: {e.message}", size)
                )

    def _check_orphans(
        self, report: DoctorReport, objects: dict[str, int], keep: set[str], grace_s: float
    ) -> None:
        orphans = sorted(set(objects) - keep)
        backend = self.blobs.backend
        ages = isinstance(backend, Refresher)
        note = "unreferenced objects" if ages else "unreferenced (this store keeps no ages)"
        report.checks.append(CheckSummary("orphans", len(objects), note))
        for digest in orphans:
            age = object_age(backend, digest) if isinstance(backend, Refresher) else None
            old = age is not None and age > grace_s
            severity = Severity.GARBAGE if old else Severity.PENDING
            when = "age unknown" if age is None else f"{_duration(age)} old"
            report.findings.append(
                Finding(
                    "orphans",
                    severity,
                    digest,
                    f"no record, manifest or pointer refers to it ({when})",
                    objects[digest],
                )
            )

    def _check_temps(self, report: DoctorReport, grace_s: float) -> None:
        temps = temp_files(self.blobs)
        report.checks.append(CheckSummary("temp files", len(temps), "left by unfinished writes"))
        for temp in temps:
            stale = temp.is_stale(grace_s)
            owner = {True: "writer running", False: "writer gone", None: "writer unknown"}
            report.findings.append(
                Finding(
                    "temp files",
                    Severity.GARBAGE if stale else Severity.PENDING,
                    str(temp.path),
                    f"{_duration(temp.age_s)} old, {owner[temp.owner_alive]}",
                    temp.size,
                )
            )

    def repair(self, grace_s: float, report: DoctorReport | None = None) -> RepairSummary:
        """Remove the garbage ``report`` (a fresh ``check`` when None) found, re-checking
        each item just before removing it."""
        report = report if report is not None else self.check(grace_s, verify=False)
        temps = {t.path: t for t in temp_files(self.blobs) if t.is_stale(grace_s)}
        t_count = t_bytes = 0
        for f in report.garbage:
            temp = temps.get(Path(f.subject)) if f.check == "temp files" else None
            if temp is not None and _unlink(temp.path):
                t_count, t_bytes = t_count + 1, t_bytes + temp.size
        o_count, o_bytes, skipped = self._collect(
            [f for f in report.garbage if f.check == "orphans"], grace_s
        )
        return RepairSummary(t_count, t_bytes, o_count, o_bytes, tuple(skipped))

    def _collect(self, orphans: list[Finding], grace_s: float) -> tuple[int, int, list[str]]:
        return collect_orphans(
            self.db, self.blobs, self.repo, [(f.subject, f.size) for f in orphans], grace_s
        )


def collect_orphans(
    db: Transactions,
    blobs: ContentStore,
    repo: IntegrityQueries,
    orphans: list[tuple[str, int]],
    grace_s: float,
) -> tuple[int, int, list[str]]:
    """Remove ``orphans`` (digest, size) found unreferenced by an earlier scan, re-checking
    each: not mentioned by the database now, and older than ``grace_s`` (a write about to
    link an old object refreshes it first). (count, bytes, why some were kept)."""
    backend = blobs.backend
    if not orphans:
        return 0, 0, []
    if not isinstance(backend, Refresher):
        return 0, 0, [f"{len(orphans)} orphan(s): {blobs.url} keeps no object ages"]
    with db.read() as conn:  # what was linked since the check
        linked = repo.mentions(conn)
    count = size = 0
    skipped: list[str] = []
    for digest, nbytes in orphans:
        age = object_age(backend, digest)
        if digest in linked or age is None or age <= grace_s:
            skipped.append(f"{digest}: linked or refreshed since the check")
            continue
        blobs.delete(digest)
        count, size = count + 1, size + nbytes
    return count, size, skipped


def object_age(backend: Refresher, digest: str) -> float | None:
    """Seconds since the object was written or last reused; None when it is gone."""
    try:
        return backend.age_s(object_key(digest))
    except ShipyardError:
        return None  # removed meanwhile


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
