"""scripts/audit_deps.sh: pip-audit over the pinned constraints, as CI runs it. The dry run
parses every pin without the network; the ignore file must give a reason for each entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "audit_deps.sh"
PIP_AUDIT = Path(sys.executable).parent / "pip-audit"


def _run(*args: str, ignore: Path | None = None) -> subprocess.CompletedProcess[str]:
    if not PIP_AUDIT.exists():
        pytest.skip("pip-audit is not installed (it is in the dev extra)")
    env = {**os.environ, "PIP_AUDIT": str(PIP_AUDIT)}
    if ignore is not None:
        env["AUDIT_IGNORE"] = str(ignore)
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120
    )


def _pins() -> list[str]:
    lines = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_every_constraint_is_an_exact_pin_the_audit_can_read() -> None:
    assert all("==" in pin for pin in _pins())
    done = _run("--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"would have audited {len(_pins())} packages" in done.stderr


def test_an_ignored_vulnerability_needs_its_reason(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.txt"
    ignore.write_text("# comment\n\nPYSEC-2099-1\n")
    done = _run("--dry-run", ignore=ignore)
    assert done.returncode == 2
    assert "'PYSEC-2099-1' has no reason" in done.stderr
    ignore.write_text("PYSEC-2099-1  only the CLI of the package is affected; we import it\n")
    assert _run("--dry-run", ignore=ignore).returncode == 0
