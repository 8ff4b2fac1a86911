"""What ``shipyard doctor`` finds: one summary line per check, and the findings behind it.

A finding is *damage* (something a reader would trip over: a corrupted or missing object,
a broken database or audit chain), *garbage* (leftovers ``--repair`` may remove: stale
temporary files, unreferenced objects older than the grace period) or *pending* (the same
kinds of files, but young enough that a running write may still link them: no problem).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CheckSummary", "DoctorReport", "Finding", "RepairSummary", "Severity"]


class Severity(StrEnum):
    DAMAGE = "damage"
    GARBAGE = "garbage"
    PENDING = "pending"


@dataclass(frozen=True)
class Finding:
    """One thing found: its check, how bad, what (a digest, a path, a table) and why."""

    check: str
    severity: Severity
    subject: str
    detail: str
    size: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "subject": self.subject,
            "detail": self.detail,
            "size": self.size,
        }


@dataclass(frozen=True)
class CheckSummary:
    """One line of the summary table: what was checked, how many items, what was found."""

    name: str
    checked: int
    note: str = ""


@dataclass
class DoctorReport:
    """Everything one ``doctor`` pass saw; ``ok`` when nothing is damaged or garbage."""

    checks: list[CheckSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def count(self, check: str, severity: Severity | None = None) -> int:
        return sum(
            1
            for f in self.findings
            if f.check == check and (severity is None or f.severity == severity)
        )

    @property
    def damage(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.DAMAGE]

    @property
    def garbage(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.GARBAGE]

    @property
    def ok(self) -> bool:
        return not self.damage and not self.garbage

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checks": [
                {
                    "name": c.name,
                    "checked": c.checked,
                    "damage": self.count(c.name, Severity.DAMAGE),
                    "garbage": self.count(c.name, Severity.GARBAGE),
                    "pending": self.count(c.name, Severity.PENDING),
                    "note": c.note,
                }
                for c in self.checks
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class RepairSummary:
    """What ``doctor --repair`` removed, and what it left (and why)."""

    temp_files_removed: int = 0
    temp_bytes_removed: int = 0
    objects_removed: int = 0
    object_bytes_removed: int = 0
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "temp_files_removed": self.temp_files_removed,
            "temp_bytes_removed": self.temp_bytes_removed,
            "objects_removed": self.objects_removed,
            "object_bytes_removed": self.object_bytes_removed,
            "skipped": list(self.skipped),
        }
