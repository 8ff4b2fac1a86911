"""How the process is ending, so that runs left open at exit end with the right status.

``atexit`` handlers do not learn the exit code, so (like wandb's ``ExitHooks``) the SDK
wraps ``sys.exit`` and ``sys.excepthook`` while a run is active: ``sys.exit(0)`` or a normal
end → FINISHED, ``sys.exit(n)`` with n != 0 or an uncaught exception → FAILED (with the
traceback), ``KeyboardInterrupt`` → KILLED. A bare ``raise SystemExit(n)`` bypasses
``sys.exit`` and is seen as a normal end.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

from shipyard.core.states import RunStatus

__all__ = ["ExitHooks", "exit_status"]


class ExitHooks:
    """Installed once per process while the SDK has runs; ``outcome()`` at exit."""

    def __init__(self) -> None:
        self.code: int | None = None
        self.error: str | None = None
        self.interrupted = False
        self._lock = threading.Lock()
        self._installed = False
        self._orig_exit: Callable[..., NoReturn] | None = None
        self._orig_hook: Callable[..., Any] | None = None

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            self._orig_exit, self._orig_hook = sys.exit, sys.excepthook
            sys.exit = self._exit  # type: ignore[assignment]
            sys.excepthook = self._excepthook
            self._installed = True

    def uninstall(self) -> None:
        with self._lock:
            if not self._installed:
                return
            if sys.exit == self._exit:
                sys.exit = self._orig_exit  # type: ignore[assignment]
            if sys.excepthook == self._excepthook:
                sys.excepthook = self._orig_hook  # type: ignore[assignment]
            self._installed = False

    def _exit(self, code: object = None) -> NoReturn:
        if threading.current_thread() is threading.main_thread():  # elsewhere it ends a thread
            self.code = exit_status(code)
        assert self._orig_exit is not None
        self._orig_exit(code)

    def _excepthook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self.interrupted = True
        else:
            self.error = "".join(traceback.format_exception(kind, value, tb))
        self.code = 130 if self.interrupted else 1
        hook = self._orig_hook or sys.__excepthook__
        hook(kind, value, tb)

    def outcome(self) -> tuple[RunStatus, str | None]:
        """The status (and error text) for a run still open at interpreter exit."""
        if self.interrupted:
            return RunStatus.KILLED, "interrupted (KeyboardInterrupt) before the run ended"
        if self.error is not None:
            return RunStatus.FAILED, self.error
        if self.code:
            return RunStatus.FAILED, f"the process exited with status {self.code} (sys.exit)"
        return RunStatus.FINISHED, None


def exit_status(code: object) -> int:
    """What the interpreter exits with for ``sys.exit(code)`` (``SystemExit(code)``)."""
    if code is None:
        return 0
    if isinstance(code, bool):
        return int(code)
    if isinstance(code, int):
        return code
    return 1  # a message: printed to stderr, status 1
