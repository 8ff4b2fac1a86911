"""``shipyard reproduce RUN``: re-run a pipeline run from what it recorded, and compare.

The recorded commit is checked out in a temporary git worktree (with the recorded
uncommitted patch applied when the run was dirty), the pipeline runs there in a fresh
process with the recorded params, seed and the exact dataset versions it read, and every
output is compared: identical (same content id), within tolerance (numbers), or different.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.services import provenance
from shipyard.services.pipelines.codec import Stored, decode_value

__all__ = ["compare_values", "reproduce_run"]


def compare_values(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """True when ``a`` and ``b`` match within tolerance (numbers, arrays, frames, nests)."""
    import numpy as np
    import pandas as pd

    if isinstance(a, pd.DataFrame | pd.Series) and type(a) is type(b):
        try:
            check = (
                pd.testing.assert_frame_equal
                if isinstance(a, pd.DataFrame)
                else (pd.testing.assert_series_equal)
            )
            check(a, b, check_exact=False, rtol=rtol, atol=atol)
            return True
        except AssertionError:
            return False
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return False
        return all(compare_values(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(compare_values(a[k], b[k], rtol, atol) for k in a)
    return bool(a == b) if type(a) is type(b) and isinstance(a, str | type(None)) else False


@contextmanager
def _worktree(top: Path, commit: str, patch: bytes | None):
    with tempfile.TemporaryDirectory(prefix="shipyard-reproduce-") as tmp:
        tree = Path(tmp) / "tree"
        out = subprocess.run(
            ["git", "worktree", "add", "--detach", "--end-of-options", str(tree), commit],
            cwd=top,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise ValidationError(
                f"cannot check out commit {commit[:12]}: {out.stderr.strip()}", field="commit"
            )
        try:
            if patch:
                applied = subprocess.run(
                    ["git", "apply", "--binary", "-"], cwd=tree, input=patch, capture_output=True
                )
                if applied.returncode != 0:
                    raise ValidationError(
                        "the recorded uncommitted changes do not apply to "
                        f"{commit[:12]}: {applied.stderr.decode(errors='replace').strip()}",
                        field="patch",
                    )
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=top, capture_output=True
            )


_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _checked_source(tags: dict[str, str]) -> tuple[str, str]:
    """The recorded commit (a full hex id, never an option) and import root (inside the tree)."""
    commit = tags.get("shipyard.git.commit", "")
    if not _COMMIT.fullmatch(commit):
        raise ValidationError(
            f"the recorded commit {commit[:60]!r} is not a full git commit id", field="commit"
        )
    root = tags.get("shipyard.git.import_root", ".")
    parts = PurePosixPath(root).parts
    if PurePosixPath(root).is_absolute() or ".." in parts or "\\" in root:
        raise ValidationError(
            f"the recorded import root {root[:200]!r} is not a folder inside the repository",
            field="import_root",
        )
    return commit, root


def _rerun(svc: Any, row: Any, cwd: Path, executor: str | None) -> dict[str, Any]:
    settings = svc.settings
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
        "SHIPYARD_PROJECT_DIR": str(settings.project_dir),
        "SHIPYARD_DB_URL": settings.db_url,
        "SHIPYARD_ARTIFACTS": settings.artifacts_url,
    }
    command = [
        sys.executable,
        "-m",
        "shipyard",
        "pipeline",
        "run",
        row.pipeline,
        "--params-json",
        json.dumps(row.params),
        "--seed",
        str(row.seed),
        "--no-cache",
        "--executor",
        executor or row.executor,
        "--json",
    ]
    for ref, pinned in (row.spec.get("datasets") or {}).items():
        command += ["--pin-data", f"{ref}={pinned}"]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ValidationError(
            f"the re-run did not start: {done.stderr.strip()[-2000:]}", field="run_id"
        ) from None


def reproduce_run(
    svc: Any,
    run_id: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    executor: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    pipelines = svc.pipelines
    row = pipelines.get_run(run_id)
    if row.status != "FINISHED":
        raise ValidationError(
            f"run {run_id} is {row.status.lower()}; only a finished run can be reproduced",
            field="run_id",
        )
    tags = svc.tracking.get_run(run_id).tags
    top = provenance.git_toplevel(Path.cwd())
    if tags.get("shipyard.git.commit") and top is not None:
        commit, import_root = _checked_source(tags)
        patch = None
        if tags.get("shipyard.git.dirty") == "true":
            patch = _artifact(svc, run_id, "code/uncommitted.patch")
            log(f"run {run_id} was made with uncommitted changes: applying its recorded patch")
        with _worktree(top, commit, patch) as tree:
            cwd = tree / import_root
            log(f"re-running {row.pipeline} at commit {commit[:12]} in a fresh worktree")
            rerun = _rerun(svc, row, cwd, executor)
    else:
        log("no git commit recorded (or not in a git repository): re-running the current code")
        rerun = _rerun(svc, row, Path.cwd(), executor)
    return _report(svc, run_id, rerun, rtol, atol)


def _artifact(svc: Any, run_id: str, path: str) -> bytes | None:
    try:
        _, stream = svc.tracking.open_artifact(run_id, path)
    except Exception:
        return None
    with stream:
        return stream.read()


def _outputs(svc: Any, run_id: str | None) -> dict[str, dict[str, Any]]:
    if not run_id:
        return {}
    return {
        node if index is None else f"{node}[{index}]": e.output
        for (node, index), e in svc.pipelines.latest_executions(run_id).items()
        if e.output
    }


def _verdict(svc: Any, recorded: dict[str, Any], new: dict[str, Any] | None, tol: tuple) -> str:
    if new is None:
        return "missing"
    if new["content_id"] == recorded["content_id"]:
        return "identical"
    a = decode_value(Stored.from_dict(recorded), svc.blobs)
    b = decode_value(Stored.from_dict(new), svc.blobs)
    return "within tolerance" if compare_values(a, b, *tol) else "different"


def _report(
    svc: Any, run_id: str, rerun: dict[str, Any], rtol: float, atol: float
) -> dict[str, Any]:
    reproduced = _outputs(svc, rerun.get("run_id"))
    outputs = []
    for label, recorded in sorted(_outputs(svc, run_id).items()):
        new = reproduced.get(label)
        outputs.append(
            {
                "node": label,
                "verdict": _verdict(svc, recorded, new, (rtol, atol)),
                "recorded": recorded["content_id"],
                "reproduced": new["content_id"] if new else None,
            }
        )
    verdicts = ("identical", "within tolerance", "different", "missing")
    counts = {v: sum(o["verdict"] == v for o in outputs) for v in verdicts}
    finished = rerun.get("status") == "FINISHED"
    ok = finished and not counts["different"] and not counts["missing"]
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no outputs"
    if not finished:
        summary = f"the re-run failed: {rerun.get('error')}"
    return {
        "run_id": run_id,
        "new_run_id": rerun.get("run_id"),
        "ok": ok,
        "summary": summary,
        "outputs": outputs,
    }
