"""What a run records about where it came from: code version and environment."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

__all__ = [
    "code_version",
    "environment_lock",
    "environment_tags",
    "git_toplevel",
    "uncommitted_diff",
]


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode(errors="replace")


def code_version(cwd: Path) -> dict[str, str]:
    """Git commit, dirty flag and a hash of the uncommitted diff; empty outside a repository."""
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return {}
    diff = _git(["diff", "HEAD"], cwd) or ""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
    tags = {
        "shipyard.git.commit": commit.strip(),
        "shipyard.git.dirty": str(bool(status.strip())).lower(),
    }
    if diff:
        tags["shipyard.git.diff_sha256"] = hashlib.sha256(diff.encode()).hexdigest()
    return tags


def environment_tags() -> dict[str, str]:
    return {
        "shipyard.python": platform.python_version(),
        "shipyard.platform": platform.platform(),
    }


@lru_cache(maxsize=1)
def environment_lock() -> bytes:
    """Installed distributions as ``name==version`` lines, sorted (computed once a process)."""
    from importlib import metadata

    found: set[str] = set()
    for dist in metadata.distributions():
        meta = dist.metadata  # parsed on every access: read it once
        if meta["Name"]:
            found.add(f"{meta['Name']}=={meta['Version']}")
    lines = sorted(found, key=str.lower)
    header = f"# python {sys.version.split()[0]} on {platform.platform()}\n"
    return (header + "\n".join(lines) + "\n").encode()


def git_toplevel(cwd: Path) -> Path | None:
    """The root of the git work tree holding ``cwd``, if any."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    return Path(top.strip()) if top and top.strip() else None


def uncommitted_diff(cwd: Path) -> bytes:
    """``git diff HEAD`` as bytes (tracked files only): what a dirty checkout adds."""
    try:
        out = subprocess.run(
            ["git", "diff", "HEAD", "--binary"], cwd=cwd, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return b""
    return out.stdout if out.returncode == 0 else b""
