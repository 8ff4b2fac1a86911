"""Step fingerprints: what must match for an earlier execution's outputs to be reused.

A fingerprint covers the step's source code, its literal arguments, the content ids of its
inputs, the versions of its declared dependencies, and the codec version. Anything else
(the machine, the executor, the time) is deliberately left out: the same step on the same
inputs gives the same outputs everywhere.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import textwrap
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["CODEC_VERSION", "canonical_json", "code_fingerprint", "dep_versions", "fingerprint"]

CODEC_VERSION = "1"


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces (raises TypeError otherwise)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """A hash of the function's source (its bytecode when no source is available)."""
    return _code_fingerprint(fn)


@lru_cache(maxsize=4096)
def _code_fingerprint(fn: Callable[..., Any]) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = repr((code.co_code, code.co_consts)) if code is not None else repr(fn)
    return hashlib.sha256(text.encode()).hexdigest()


def dep_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the declared distributions ("missing" when not installed)."""
    from importlib import metadata

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def fingerprint(
    *,
    code: str,
    version: str,
    args: Mapping[str, str],
    deps: Mapping[str, str],
    seed: int,
) -> str:
    """The cache key of one execution; ``args`` maps argument → content id of its value."""
    payload = {
        "codec": CODEC_VERSION,
        "code": code,
        "version": version,
        "args": dict(args),
        "deps": dict(deps),
        "seed": seed,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
