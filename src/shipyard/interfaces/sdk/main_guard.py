"""Catch ``pipeline.run(executor="process")`` written at a script's top level.

The ``process`` executor and a Dask LocalCluster start worker processes that re-import the
script that started them (Python's ``forkserver``/``spawn``), so an unguarded top-level call
would run the pipeline again inside every worker, which fails far from its cause ("Nanny
failed to start", a broken process pool). The call is refused up front with what to change.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import FrameType

from shipyard.core.errors import ValidationError

__all__ = ["check_main_guard", "starts_processes"]


def starts_processes(executor: str, dask_address: str | None) -> bool:
    """Whether ``executor`` starts worker processes here that re-import ``__main__``."""
    return executor == "process" or (executor == "dask" and not dask_address)


def check_main_guard(pipeline: str, executor: str, frame: FrameType | None) -> None:
    """Raise when ``frame`` (run's caller) is a script's module-level code outside an
    ``if __name__ == "__main__":`` block."""
    if frame is None or frame.f_code.co_name != "<module>":
        return
    if frame.f_globals.get("__name__") not in ("__main__", "__mp_main__"):
        return
    path = Path(frame.f_code.co_filename)
    if not path.is_file() or _guarded(path, frame.f_lineno):
        return
    raise ValidationError(
        f"pipeline {pipeline!r}: run(executor={executor!r}) is called at the top level of "
        f"{path.name}:{frame.f_lineno}; its worker processes re-import {path.name} and would "
        'run the pipeline again. Put the call under `if __name__ == "__main__":` (or use '
        'executor="local")',
        field="executor",
    )


def _guarded(path: Path, line: int) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return True  # cannot tell: do not block
    return any(
        isinstance(node, ast.If)
        and _is_main_test(node.test)
        and any(_spans(child, line) for child in node.body)
        for node in tree.body
    )


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    texts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return isinstance(test.ops[0], ast.Eq) and bool(names) and bool(texts)


def _spans(node: ast.stmt, line: int) -> bool:
    end = getattr(node, "end_lineno", None) or node.lineno
    return node.lineno <= line <= end
