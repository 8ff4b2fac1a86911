"""Registered models and their versions as data: names, aliases, signatures, the status
state machine (candidate → gated (passed|failed) → approved | rejected → archived)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.core.errors import InvalidStateTransitionError, ValidationError

__all__ = [
    "MAX_VERSION",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "Signature",
    "VersionStatus",
    "check_alias",
    "check_model_name",
    "check_version_transition",
    "parse_model_ref",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")

MAX_VERSION = 2**31 - 1  # versions are 32-bit integers in every database


class VersionStatus(StrEnum):
    CANDIDATE = "candidate"
    GATE_PASSED = "gate_passed"
    GATE_FAILED = "gate_failed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ARCHIVED = "archived"


_S = VersionStatus
VERSION_TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    _S.CANDIDATE: frozenset({_S.GATE_PASSED, _S.GATE_FAILED, _S.ARCHIVED}),
    # gates may run again; a failed gate may still be approved, but only as an override
    _S.GATE_PASSED: frozenset(
        {_S.GATE_PASSED, _S.GATE_FAILED, _S.APPROVED, _S.REJECTED, _S.ARCHIVED}
    ),
    _S.GATE_FAILED: frozenset(
        {_S.GATE_PASSED, _S.GATE_FAILED, _S.APPROVED, _S.REJECTED, _S.ARCHIVED}
    ),
    _S.APPROVED: frozenset({_S.ARCHIVED}),
    _S.REJECTED: frozenset({_S.ARCHIVED}),
    _S.ARCHIVED: frozenset(),
}


def check_version_transition(current: VersionStatus, new: VersionStatus) -> None:
    if new in VERSION_TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(s.value for s in VERSION_TRANSITIONS[current])) or "none"
    raise InvalidStateTransitionError(
        f"a model version that is {current.value} cannot become {new.value}; allowed: {allowed}",
        field="status",
    )


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(
            f"model name {name!r} must be 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or alias == "latest":
        raise ValidationError(
            f"alias {alias!r} must be 1-64 lowercase letters, digits, '_' or '-', starting "
            "with a letter, and not 'latest' (e.g. champion, challenger)",
            field="alias",
        )
    return alias


@dataclass(frozen=True)
class ModelRef:
    """``name@3``, ``name@v3``, ``name@champion`` or ``name`` / ``name@latest``."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@v{self.version}"
        return f"{self.name}@{self.alias or 'latest'}"


def parse_model_ref(text: object) -> ModelRef:
    if not isinstance(text, str) or not text:
        raise ValidationError(f"a model reference is 'name@version', got {text!r}", field="ref")
    name, _, selector = text.partition("@")
    check_model_name(name)
    if not selector or selector == "latest":
        return ModelRef(name)
    digits = selector[1:] if selector[:1] == "v" else selector
    if digits.isdecimal():
        if int(digits) < 1:
            raise ValidationError(f"model versions start at 1, got {selector!r}", field="ref")
        if int(digits) > MAX_VERSION:
            raise ValidationError(
                f"model versions stop at {MAX_VERSION}, got {selector!r}", field="ref"
            )
        return ModelRef(name, version=int(digits))
    return ModelRef(name, alias=check_alias(selector))


@dataclass(frozen=True)
class Signature:
    """What the model takes and gives: input columns with dtypes, and the output."""

    inputs: tuple[tuple[str, str], ...]
    output: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"inputs": [list(c) for c in self.inputs], "output": self.output}

    @classmethod
    def from_dict(cls, data: object) -> Signature:
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
            raise ValidationError(
                "a signature is {'inputs': [[name, dtype], ...]}", field="signature"
            )
        inputs = []
        for item in data["inputs"]:
            if not (
                isinstance(item, list | tuple)
                and len(item) == 2
                and all(isinstance(x, str) and x for x in item)
            ):
                raise ValidationError(
                    f"signature input {item!r} must be [column name, dtype]", field="signature"
                )
            inputs.append((item[0], item[1]))
        if len({n for n, _ in inputs}) != len(inputs):
            raise ValidationError("signature input columns repeat", field="signature")
        return cls(tuple(inputs), str(data.get("output", "")))


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    status: VersionStatus
    flavor: str
    content_id: str  # the model file's digest: verified before loading
    signature: Signature
    run_id: str | None
    created_by: str
    creation_time: int
    description: str = ""
    package: dict[str, object] = field(default_factory=dict)  # files, python, lock digest
    aliases: tuple[str, ...] = ()
    status_reason: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    created_by: str
    creation_time: int
    last_update_time: int
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
