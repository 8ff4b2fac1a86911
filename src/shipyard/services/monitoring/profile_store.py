"""Which reference profile a model version uses, and profiles in the content store.

A profile is stored as canonical JSON in the content store (its digest names it). Which
profile belongs to which model version is a small JSON pointer under a deterministic key
of the same storage, ``monitoring/profiles/<model>/v<version>.json`` (``{"format": 1,
"profile": <digest>, "source": ..., "created": <ms>}``): no table or migration, and writing
it again for the same version replaces the pointer (the old profile stays addressable).
The profile maths (numpy, pandas) load on first use, not when the service is built.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.services.ports import DatasetTables, ModelVersionLookup
from shipyard.stores.blobs import ContentStore

if TYPE_CHECKING:
    from shipyard.core.profiles import Profile

__all__ = ["POINTER_FORMAT", "ProfileService"]


POINTER_FORMAT = 1


class ProfileService:
    """Reference profiles in the content store, and which one a model version uses."""

    def __init__(
        self,
        blobs: ContentStore,
        *,
        catalog: DatasetTables | None = None,
        models: ModelVersionLookup | None = None,
    ) -> None:
        self.blobs = blobs
        self.catalog = catalog
        self.models = models

    def compute(self, source: Any, *, columns: Sequence[str] | None = None) -> Profile:
        """The profile of a DataFrame or of a table dataset version (``loans@v2``)."""
        from shipyard.services.monitoring.profiles import check_frame, profile_frame

        if isinstance(source, str):
            if self.catalog is None:
                raise ValidationError(
                    f"{source!r} names a dataset, but no data catalog is configured",
                    field="reference",
                )
            version = self.catalog.get_version(source)
            frame = self.catalog.load_frame(version.ref, columns=None)
            return profile_frame(frame, columns, source=version.ref)
        check_frame(source, "reference")
        return profile_frame(source, columns)

    def store(self, profile: Profile) -> str:
        """Store ``profile`` as JSON; its digest names it."""
        body = json.dumps(profile.to_dict(), sort_keys=True, separators=(",", ":"))
        return self.blobs.put_bytes(body.encode())

    def load(self, digest: str) -> Profile:
        """The profile stored under ``digest`` (its bytes verified on read)."""
        from shipyard.core.profiles import Profile

        return Profile.from_dict(json.loads(self.blobs.get_bytes(digest)))

    def attach(self, model_ref: str, source: Any, *, columns: Sequence[str] | None = None) -> str:
        """Compute, store and record the reference profile of a model version; the digest."""
        version = self._models().get_version(model_ref)
        profile = self.compute(source, columns=columns)
        digest = self.store(profile)
        pointer = {
            "format": POINTER_FORMAT,
            "profile": digest,
            "source": profile.source,
            "created": now_ms(),
        }
        backend = self.blobs.backend
        with tempfile.NamedTemporaryFile(
            dir=backend.staging_dir(), suffix=".json", delete=False
        ) as fh:
            fh.write(json.dumps(pointer).encode())
        backend.put_file(Path(fh.name), _pointer_key(version.name, version.version), move=True)
        return digest

    def digest_for(self, model_ref: str) -> str:
        """The digest of the profile recorded for a model version; NotFoundError if none."""
        version = self._models().get_version(model_ref)
        key = _pointer_key(version.name, version.version)
        backend = self.blobs.backend
        if not backend.exists(key):
            raise NotFoundError(
                f"no reference profile is recorded for {version.ref}; compute one with "
                "a reference dataset or DataFrame",
            )
        with backend.open_read(key) as f:
            pointer = json.loads(f.read())
        if pointer.get("format", 0) > POINTER_FORMAT:
            raise ValidationError(
                f"the profile record of {version.ref} has format {pointer['format']}, written "
                f"by a newer Shipyard; this one reads up to {POINTER_FORMAT}",
                field="format",
            )
        return str(pointer["profile"])

    def for_model(self, model_ref: str) -> Profile:
        """The reference profile recorded for a model version."""
        return self.load(self.digest_for(model_ref))

    def _models(self) -> ModelVersionLookup:
        if self.models is None:
            raise ValidationError("no model registry is configured", field="model")
        return self.models


def _pointer_key(name: str, version: int) -> str:
    return f"monitoring/profiles/{name}/v{version}.json"
