"""PII on register: detect it, check it is declared, apply the policies before any write.

Nothing here ever puts a raw value in a message: findings carry column, kind and ratios.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.errors import StorageError, ValidationError
from shipyard.core.pii import (
    PiiFinding,
    PiiPolicy,
    classify_value,
    detect_column,
    mask_value,
    tokenize_value,
)

__all__ = ["PiiPlan", "apply_plan", "load_or_create_key", "plan_pii", "scan_folder_tables"]

SAMPLE = 1000


@dataclass(frozen=True)
class PiiPlan:
    """What happens to each column holding (or declared to hold) personal data."""

    findings: dict[str, PiiFinding]
    policies: dict[str, PiiPolicy]
    allowed: bool  # undeclared findings were kept because the caller passed allow_pii

    def record(self) -> dict[str, dict[str, object]]:
        """The per-column record stored on the version (no values, only kinds and policies)."""
        out: dict[str, dict[str, object]] = {}
        for column in sorted(set(self.findings) | set(self.policies)):
            f = self.findings.get(column)
            out[column] = {
                "kind": f.kind.value if f else "declared",
                "source": f.source if f else "declared",
                "match_ratio": round(f.match_ratio, 3) if f else None,
                "policy": self.policies.get(column, PiiPolicy.KEEP).value,
                "declared": column in self.policies,
            }
        return out


def _check_column_names(columns: list[str]) -> None:
    for position, name in enumerate(columns):
        kind = classify_value(name)
        if kind is not None:
            raise ValidationError(
                f"the name of column #{position} looks like personal data ({kind.value}); "
                "column names are stored in the catalog, so rename that column first",
                field="source",
            )


def _sample(series: Any) -> list[object]:
    non_null = series.dropna()
    if len(non_null) > SAMPLE:
        non_null = non_null.sample(SAMPLE, random_state=0)
    return non_null.tolist()


def plan_pii(df: Any, declared: Mapping[str, object] | None, allow_pii: bool) -> PiiPlan:
    """Detect PII per column and match it against the declared policies.

    Undeclared findings are refused unless ``allow_pii`` (then they are kept, and recorded).
    """
    columns = [str(c) for c in df.columns]
    _check_column_names(columns)
    policies: dict[str, PiiPolicy] = {}
    for column, policy in (declared or {}).items():
        if column not in columns:
            raise ValidationError(
                f"pii policy names column {column!r}, which the data does not have; "
                f"columns are {columns[:20]}",
                field=f"pii.{column}",
            )
        policies[column] = PiiPolicy.parse(policy, field=f"pii.{column}")
    findings: dict[str, PiiFinding] = {}
    for column in columns:
        finding = detect_column(column, _sample(df[column]))
        if finding is not None:
            findings[column] = finding
    undeclared = sorted(set(findings) - set(policies))
    if undeclared and not allow_pii:
        listed = ", ".join(f"{c} ({findings[c].kind.value})" for c in undeclared)
        raise ValidationError(
            f"likely personal data in undeclared column(s): {listed}. Declare a policy per "
            "column (pii={'col': 'mask'|'tokenize'|'drop'|'keep'}) or pass allow_pii=True "
            "(--allow-pii) to keep it as it is; that choice is recorded",
            field="pii",
        )
    return PiiPlan(findings, policies, allowed=bool(undeclared) and allow_pii)


def scan_folder_tables(
    files: list[tuple[str, Any]], read_sample: Any, allow_pii: bool
) -> dict[str, dict[str, object]]:
    """Look for personal data in the table files of a folder (CSV, Parquet, JSON lines).

    Files in a folder are stored byte for byte, so no policy can mask them: findings are
    refused unless ``allow_pii`` (and then recorded, as ``"path:column"`` entries).
    ``files`` holds (manifest path, file path); ``read_sample`` gives a frame of the first
    rows, or None for a file that is not readable as a table (it is stored as bytes).
    """
    found: dict[str, dict[str, object]] = {}
    for rel, path in files:
        frame = read_sample(path)
        if frame is None:
            continue
        for position, column in enumerate(str(c) for c in frame.columns):
            kind = classify_value(column)
            finding = detect_column(column, _sample(frame[frame.columns[position]]))
            if kind is not None:
                found[f"{rel}:#{position}"] = {"kind": kind.value, "source": "column name"}
            elif finding is not None:
                found[f"{rel}:{column}"] = {"kind": finding.kind.value, "source": finding.source}
    if found and not allow_pii:
        listed = ", ".join(f"{k} ({v['kind']})" for k, v in list(found.items())[:10])
        raise ValidationError(
            f"likely personal data in table files of the folder: {listed}"
            f"{' …' if len(found) > 10 else ''}. Files in a folder are stored as they are: "
            "register each table on its own to mask or tokenize it, or pass allow_pii=True "
            "(--allow-pii) to keep the folder as it is; that choice is recorded",
            field="pii",
        )
    for record in found.values():
        record.update(policy=PiiPolicy.KEEP.value, declared=False)
    return found


def apply_plan(df: Any, plan: PiiPlan, key: bytes | None) -> Any:
    """A new frame with every policy applied (mask, tokenize, drop); the input is untouched."""
    out = df.copy()
    for column, policy in plan.policies.items():
        finding = plan.findings.get(column)
        kind = finding.kind if finding else None
        if policy is PiiPolicy.DROP:
            out = out.drop(columns=[column])
        elif policy is PiiPolicy.MASK:
            out[column] = out[column].map(lambda v, k=kind: mask_value(v, k)).astype(object)
        elif policy is PiiPolicy.TOKENIZE:
            if key is None:
                raise StorageError("no PII key available for tokenization")
            out[column] = out[column].map(lambda v: tokenize_value(v, key)).astype(object)
    if out.shape[1] == 0:
        raise ValidationError("every column was dropped by the PII policies", field="pii")
    return out


def load_or_create_key(env_key: str | None, key_file: Path) -> bytes:
    """The tokenization key: ``SHIPYARD_PII_KEY`` (hex) for teams, else a 0600 file in the
    project's state folder — never in the object store, so tokens cannot be reversed from it."""
    if env_key:
        try:
            key = bytes.fromhex(env_key)
        except ValueError:
            raise ValidationError(
                "SHIPYARD_PII_KEY must be hex", field="SHIPYARD_PII_KEY"
            ) from None
        if len(key) < 16:
            raise ValidationError(
                "SHIPYARD_PII_KEY must hold at least 16 bytes (32 hex chars)",
                field="SHIPYARD_PII_KEY",
            )
        return key
    if not key_file.is_file():
        _create_key_file(key_file)
    try:
        key = bytes.fromhex(key_file.read_text().strip())
    except (OSError, ValueError) as e:
        raise StorageError(
            f"the PII key {key_file} cannot be read ({type(e).__name__}); restore it from a "
            "backup (keys/pii.key of a `shipyard backup` folder; `shipyard restore` brings "
            "it back with the project): tokens of registered data depend on it"
        ) from e
    if len(key) < 16:
        raise StorageError(
            f"the PII key {key_file} is too short; restore it from a backup (keys/pii.key of "
            "a `shipyard backup` folder)"
        )
    return key


def _create_key_file(key_file: Path) -> None:
    """Write a new key completely (temp file, fsync) and link it into place: readers never
    see a half-written key, and a concurrent creator's key wins if it got there first."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pii-key-", dir=key_file.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_bytes(32).hex())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key won: use it
            os.link(tmp, key_file)  # atomic create-if-absent
        dir_fd = os.open(key_file.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        os.unlink(tmp)
