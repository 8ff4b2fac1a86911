"""Which reference profile a model version uses, and profiles in the content store.

A profile is stored as canonical JSON in the content store (its digest names it). Which
profile belongs to which model version is a small JSON pointer under a deterministic key
of the same storage, ``monitoring/profiles/<model>/v<version>.json`` (``{"format": 1,
"profile": <digest>, "source": ..., "created": <ms>}``): no table or migration, and writing
it again for the same version replaces the pointer (the old profile stays addressable).

From a labelled reference of a probabilistic binary classifier, ``attach`` also scores the
reference with the model and stores the estimation reference (calibration map, reference
metrics, sampling error, rows; ``EstimationReference.to_dict`` with its own format version)
as another content-addressed object, named in the pointer as ``"estimation"`` with its
``"target"`` column. The key is additive: readers of pointer format 1 that do not know it
read the profile unchanged. The label column is ``target=``, else the model's release
policy's ``target`` (``label_columns``) when the reference has it; without one, no
estimation reference is stored.
The profile maths (numpy, pandas) load on first use, not when the service is built.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import NotFoundError, ShipyardError, ValidationError
from shipyard.core.models import ModelVersion
from shipyard.services.ports import DatasetTables, MonitoredModels
from shipyard.stores.blobs import ContentStore

if TYPE_CHECKING:
    from shipyard.core.estimation import EstimationReference
    from shipyard.core.profiles import Profile
    from shipyard.services.monitoring.reference_fit import ModelOutputs

log = logging.getLogger(__name__)
_USER = "shipyard-monitor"

__all__ = ["OUTPUT_COLUMNS", "POINTER_FORMAT", "ProfileService"]


POINTER_FORMAT = 1
# The model's output in a profile, named like the prediction log's columns holding it: a
# binary classifier's positive class probability, a regressor's prediction.
OUTPUT_COLUMNS = ("_proba", "_prediction")


class ProfileService:
    """Reference profiles in the content store, and which one a model version uses."""

    def __init__(
        self,
        blobs: ContentStore,
        *,
        catalog: DatasetTables | None = None,
        models: MonitoredModels | None = None,
        label_columns: Mapping[str, str] | None = None,
    ) -> None:
        self.blobs = blobs
        self.catalog = catalog
        self.models = models
        self.label_columns = dict(label_columns or {})  # model name → its label column

    def compute(self, source: Any, *, columns: Sequence[str] | None = None) -> Profile:
        """The profile of a DataFrame or of a table dataset version (``loans@v2``)."""
        from shipyard.services.monitoring.profiles import profile_frame

        frame, name = self._frame(source)
        return profile_frame(frame, columns, source=name)

    def _frame(self, source: Any) -> tuple[Any, str]:
        """A DataFrame and where it came from (a dataset ref is read through the catalog)."""
        from shipyard.services.monitoring.profiles import check_frame

        if isinstance(source, str):
            if self.catalog is None:
                raise ValidationError(
                    f"{source!r} names a dataset, but no data catalog is configured",
                    field="reference",
                )
            version = self.catalog.get_version(source)
            return self.catalog.load_frame(version.ref, columns=None), version.ref
        check_frame(source, "reference")
        return source, "DataFrame"

    def store(self, profile: Profile) -> str:
        """Store ``profile`` as JSON; its digest names it."""
        body = json.dumps(profile.to_dict(), sort_keys=True, separators=(",", ":"))
        return self.blobs.put_bytes(body.encode())

    def load(self, digest: str) -> Profile:
        """The profile stored under ``digest`` (its bytes verified on read)."""
        from shipyard.core.profiles import Profile

        return Profile.from_dict(json.loads(self.blobs.get_bytes(digest)))

    def attach(
        self,
        model_ref: str,
        source: Any,
        *,
        columns: Sequence[str] | None = None,
        target: str | None = None,
    ) -> str:
        """Compute, store and record the reference profile of a model version; the digest.

        The profile also holds the model's output on the reference (``_proba`` of a binary
        classifier, ``_prediction`` of a regressor) when the model can score it. With a label
        column (``target``, else the release policy's when the reference has it) and a
        probabilistic binary classifier, the estimation reference is stored too.
        """
        from shipyard.services.monitoring.profiles import profile_frame, select_columns

        version = self._models().get_version(model_ref)
        frame, name = self._frame(source)
        label = self._target(frame, target, version.name)
        available = [str(c) for c in frame.columns if str(c) != label]
        chosen = select_columns(available, columns, "reference")
        outputs = self._outputs(version, frame, explicit=target is not None)
        if outputs is not None and outputs.column not in chosen:
            frame = frame.assign(**{outputs.column: outputs.values})
            chosen.append(outputs.column)
        profile = profile_frame(frame, chosen, source=name)
        digest = self.store(profile)
        pointer: dict[str, Any] = {
            "format": POINTER_FORMAT,
            "profile": digest,
            "source": profile.source,
            "created": now_ms(),
        }
        if label is not None:
            fitted = self._estimation(version, outputs, frame[label], label, target is not None)
            if fitted is not None:
                pointer |= {"estimation": fitted, "target": label}
        self._write_pointer(version, pointer)
        return digest

    def _target(self, frame: Any, target: str | None, model: str) -> str | None:
        columns = [str(c) for c in frame.columns]
        if target is None:
            found = self.label_columns.get(model)
            return found if found is not None and found in columns else None
        if not isinstance(target, str) or target not in columns:
            raise ValidationError(
                f"target column {target!r} is not in the reference; its columns: "
                f"{', '.join(columns[:10])}",
                field="target",
            )
        return target

    def _outputs(self, version: ModelVersion, frame: Any, *, explicit: bool) -> ModelOutputs | None:
        """The model's answers on the reference; None for a model monitoring cannot load
        (a pickle, which it never unpickles), cannot score on these rows (unless a label
        column was named: then the error stands) or that has no single output."""
        from shipyard.services.monitoring.reference_fit import score_reference

        try:
            model = self._models().load(version.ref, user=_USER)
            return score_reference(model, version, frame)
        except ShipyardError as e:
            if explicit:
                raise
            log.info("%s: reference not scored (%s)", version.ref, e.message)
        except (ValueError, TypeError) as e:  # the model refused the rows
            if explicit:
                raise ValidationError(
                    f"{version.ref} cannot score the reference: {e}", field="reference"
                ) from None
            log.warning("%s: reference not scored (%s)", version.ref, e)
        return None

    def _estimation(
        self,
        version: ModelVersion,
        outputs: ModelOutputs | None,
        labels: Any,
        label: str,
        explicit: bool,
    ) -> str | None:
        """The digest of the stored estimation reference, or None when the model is not a
        probabilistic binary classifier (an explicit ``target`` then is an error)."""
        from shipyard.services.monitoring.reference_fit import fit_estimation

        if outputs is None or outputs.classes is None:
            if explicit:
                raise ValidationError(
                    f"{version.ref} is not a probabilistic binary classifier that monitoring "
                    "can load; performance estimation needs one (leave target out)",
                    field="target",
                )
            return None
        try:
            fitted = fit_estimation(outputs, labels, label)
        except ValidationError as e:
            if explicit:
                raise
            log.warning("%s: no estimation reference (%s)", version.ref, e.message)
            return None
        body = json.dumps(fitted.to_dict(), sort_keys=True, separators=(",", ":"))
        return self.blobs.put_bytes(body.encode())

    def _write_pointer(self, version: ModelVersion, pointer: dict[str, Any]) -> None:
        self._write_json(_pointer_key(version.name, version.version), pointer)

    def _write_json(self, key: str, body: dict[str, Any]) -> None:
        backend = self.blobs.backend
        with tempfile.NamedTemporaryFile(
            dir=backend.staging_dir(), suffix=".json", delete=False
        ) as fh:
            fh.write(json.dumps(body).encode())
        backend.put_file(Path(fh.name), key, move=True)

    def record_status(self, version: ModelVersion, state: str, source: str, detail: str) -> None:
        """Record how computing a version's profile at registration went (``computed``,
        ``skipped`` or ``failed`` with why), next to its pointer; the latest one wins."""
        body = {"state": state, "source": source, "detail": detail, "time": now_ms()}
        self._write_json(_status_key(version.name, version.version), body)

    def status_for(self, model_ref: str) -> dict[str, Any] | None:
        """How computing the version's profile at registration went; None if never tried."""
        version = self._models().get_version(model_ref)
        key = _status_key(version.name, version.version)
        if not self.blobs.backend.exists(key):
            return None
        with self.blobs.backend.open_read(key) as f:
            found: dict[str, Any] = json.loads(f.read())
        return found

    def _pointer(self, model_ref: str) -> tuple[ModelVersion, dict[str, Any] | None]:
        """The version and its pointer (None when no profile is recorded); a pointer of a
        newer format is refused."""
        version = self._models().get_version(model_ref)
        key = _pointer_key(version.name, version.version)
        backend = self.blobs.backend
        if not backend.exists(key):
            return version, None
        with backend.open_read(key) as f:
            pointer = json.loads(f.read())
        if pointer.get("format", 0) > POINTER_FORMAT:
            raise ValidationError(
                f"the profile record of {version.ref} has format {pointer['format']}, written "
                f"by a newer Shipyard; this one reads up to {POINTER_FORMAT}",
                field="format",
            )
        return version, pointer

    def digest_for(self, model_ref: str) -> str:
        """The digest of the profile recorded for a model version; NotFoundError if none."""
        version, pointer = self._pointer(model_ref)
        if pointer is None:
            raise NotFoundError(
                f"no reference profile is recorded for {version.ref}; compute one with "
                "a reference dataset or DataFrame",
            )
        return str(pointer["profile"])

    def has_profile(self, model_ref: str) -> bool:
        """Whether a reference profile is recorded for the model version."""
        return self.record_for(model_ref) is not None

    def record_for(self, model_ref: str) -> dict[str, Any] | None:
        """The version's profile record (``profile``, ``source``, ``created`` and, with an
        estimation reference, ``estimation`` and ``target``); None without one."""
        return self._pointer(model_ref)[1]

    def for_model(self, model_ref: str) -> Profile:
        """The reference profile recorded for a model version."""
        return self.load(self.digest_for(model_ref))

    def estimation_for(self, model_ref: str) -> EstimationReference | None:
        """The estimation reference recorded for a model version; None when it has none (no
        profile, no labelled reference, or not a probabilistic binary classifier). One
        written by a newer format is refused (ValidationError naming the format)."""
        from shipyard.core.estimation import EstimationReference

        _, pointer = self._pointer(model_ref)
        if pointer is None or not pointer.get("estimation"):
            return None
        body = json.loads(self.blobs.get_bytes(str(pointer["estimation"])))
        return EstimationReference.from_dict(body)

    def _models(self) -> MonitoredModels:
        if self.models is None:
            raise ValidationError("no model registry is configured", field="model")
        return self.models


def _pointer_key(name: str, version: int) -> str:
    return f"monitoring/profiles/{name}/v{version}.json"


def _status_key(name: str, version: int) -> str:
    return f"monitoring/profiles/{name}/v{version}.status.json"
