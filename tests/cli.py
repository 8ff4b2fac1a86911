"""Run the installed ``shipyard`` command in a subprocess, the way the CLI tests do.

The command is the console script next to the running interpreter. The caller's ``PYTHONPATH``
is passed through, so a checkout other than the installed one (a worktree) runs its own code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

EXE = Path(sys.executable).parent / "shipyard"


def run_cli(
    project: Path | None,
    *args: str,
    user: str | None = None,
    columns: int | None = 200,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
    pythonpath: Sequence[Path] = (),
    inherit_env: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``shipyard *args`` on ``project``; the result is returned whatever the exit code.

    The environment is ``PATH=/usr/bin:/bin`` and ``HOME`` (``home``, else ``project``), or the
    caller's whole environment with ``inherit_env``; then ``SHIPYARD_PROJECT_DIR`` (unless
    ``project`` is None), ``SHIPYARD_USER`` when ``user`` is given, ``COLUMNS`` unless
    ``columns`` is None, the caller's ``PYTHONPATH`` followed by ``pythonpath``, and last ``env``.
    """
    environ: dict[str, str] = dict(os.environ) if inherit_env else {"PATH": "/usr/bin:/bin"}
    if not inherit_env:
        if (home := home or project) is None:
            raise ValueError("HOME needs home or project")
        environ["HOME"] = str(home)
    if project is not None:
        environ["SHIPYARD_PROJECT_DIR"] = str(project)
    if user is not None:
        environ["SHIPYARD_USER"] = user
    if columns is not None:
        environ["COLUMNS"] = str(columns)
    paths = [os.environ.get("PYTHONPATH", ""), *map(str, pythonpath)]
    if joined := os.pathsep.join(p for p in paths if p):
        environ["PYTHONPATH"] = joined
    environ.update(env or {})
    return subprocess.run(
        [str(EXE), *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
