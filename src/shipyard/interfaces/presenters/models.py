"""Registered models and their versions as JSON; a version named in a URL."""

from __future__ import annotations

from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.models import (
    ModelRef,
    ModelVersion,
    RegisteredModel,
    check_model_name,
    parse_model_ref,
)

__all__ = ["MAX_REASON", "model_json", "version_json", "version_ref"]


MAX_REASON = 2000


def model_json(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "latest_version": m.latest_version,
        "aliases": dict(sorted(m.aliases.items())),
        "tags": dict(sorted(m.tags.items())),
        "created_by": m.created_by,
        "creation_time": m.creation_time,
        "last_update_time": m.last_update_time,
    }


def version_json(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "status": v.status.value,
        "status_reason": v.status_reason,
        "flavor": v.flavor,
        "content_id": v.content_id,
        "signature": v.signature.to_dict(),
        "run_id": v.run_id,
        "aliases": list(v.aliases),
        "package": v.package,
        "description": v.description,
        "created_by": v.created_by,
        "creation_time": v.creation_time,
    }


def version_ref(name: str, version: str) -> ModelRef:
    """``name`` at ``version`` (``3``, ``v3``, an alias or ``latest``); a bad name is an error
    of ``name``, anything wrong with the version one of ``version``."""
    check_model_name(name)
    try:
        return parse_model_ref(f"{name}@{version}")
    except ValidationError as e:
        raise ValidationError(e.message, field="version") from None
