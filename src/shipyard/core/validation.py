"""Validation of user-supplied names and values; messages name the field and what to do."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from numbers import Real

from shipyard.core.entities import Metric
from shipyard.core.errors import ValidationError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_BATCH_METRICS",
    "MAX_BATCH_PARAMS_TAGS",
    "MAX_KEY_LENGTH",
    "MAX_PARAM_VALUE",
    "MAX_TAG_VALUE",
    "check_int",
    "check_key",
    "check_metric",
    "check_param_value",
    "check_run_id",
    "check_tag_value",
    "normalize_artifact_path",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 65_536
MAX_BATCH_METRICS = 100_000
MAX_BATCH_PARAMS_TAGS = 10_000
_KEY_RE = re.compile(r"^[\w\-. /:]+$")
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
INT64_MAX = 2**63 - 1  # what a BIGINT column holds, in SQLite and PostgreSQL
INT64_MIN = -(2**63)


def check_key(key: object, field: str) -> str:
    """A metric, param or tag key: letters, digits, ``_ - . / :`` and spaces; no ``..``."""
    if not isinstance(key, str) or not key:
        raise ValidationError(f"{field} must be a non-empty string, got {key!r}", field=field)
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"{field} {key[:40]!r}… is {len(key)} characters; the limit is {MAX_KEY_LENGTH}",
            field=field,
        )
    if not _KEY_RE.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise ValidationError(
            f"{field} {key!r} may only hold letters, digits, spaces and _ - . / : "
            "(no leading '/', no '..' segment)",
            field=field,
        )
    return key


def _as_text(value: object, field: str, limit: int) -> str:
    if isinstance(value, bytes):
        raise ValidationError(f"{field} must be text, got bytes", field=field)
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise ValidationError(
            f"{field} is {len(text)} characters; the limit is {limit}", field=field
        )
    return text


def check_param_value(key: str, value: object) -> str:
    return _as_text(value, f"params.{key}", MAX_PARAM_VALUE)


def check_tag_value(key: str, value: object) -> str:
    return _as_text(value, f"tags.{key}", MAX_TAG_VALUE)


def check_int(value: object, field: str, *, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """An integer request value within ``low..high`` (by default what a 64-bit column holds):
    an int, an integral float or ASCII decimal digits (query strings); anything else, or a
    value beyond the bounds, is a ``ValidationError`` naming ``field``."""
    number: object = value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,40}", value.strip()):
        number = int(value.strip())
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValidationError(f"{field} must be an integer, got {value!r}", field=field)
    if not low <= number <= high:
        raise ValidationError(
            f"{field} must be an integer in {low}..{high}, got {value!r}", field=field
        )
    return number


def _check_int(value: object, field: str) -> int:
    if isinstance(value, str):  # metric timestamps and steps are JSON numbers, never text
        raise ValidationError(f"{field} must be an integer, got {value!r}", field=field)
    return check_int(value, field)


def check_metric(key: object, value: object, timestamp: object, step: object) -> Metric:
    """A metric point; the value must be a real number (NaN and ±inf are kept)."""
    name = check_key(key, "metric key")
    if isinstance(value, bool) or not isinstance(value, Real):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValidationError(
                    f"metrics.{name} must be a number, got {value!r}", field=f"metrics.{name}"
                ) from None
        else:
            raise ValidationError(
                f"metrics.{name} must be a number, got {type(value).__name__} {value!r}",
                field=f"metrics.{name}",
            )
    number = float(value)  # type: ignore[arg-type]
    if not math.isnan(number) and math.isinf(number):
        number = math.copysign(1.7976931348623157e308, number)  # portable ±inf, as MLflow does
    return Metric(
        key=name,
        value=number,
        timestamp=_check_int(timestamp, f"metrics.{name}.timestamp"),
        step=_check_int(step, f"metrics.{name}.step"),
    )


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise ValidationError(
            f"run_id must be 32 lowercase hex characters, got {run_id!r}", field="run_id"
        )
    return run_id


def normalize_artifact_path(path: object, field: str = "path") -> str:
    """A relative POSIX path inside a run's artifact tree; '' is the root. Refuses traversal."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise ValidationError(f"{field} must be a string, got {path!r}", field=field)
    if "\x00" in path or "\\" in path:
        raise ValidationError(f"{field} {path!r} holds a NUL byte or backslash", field=field)
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValidationError(f"{field} {path!r} must be relative, not absolute", field=field)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValidationError(
            f"{field} {path!r} climbs out of the artifact tree with '..'", field=field
        )
    return "/".join(parts)


def check_mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be a mapping, got {type(value).__name__}", field=field)
    return value
