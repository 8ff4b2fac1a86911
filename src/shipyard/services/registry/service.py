"""Registered models and versions: log, load (verified), aliases, status; all audited."""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.entities import User
from shipyard.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.models import (
    ModelRef,
    ModelVersion,
    Signature,
    VersionStatus,
    check_alias,
    check_model_name,
    check_version_transition,
)
from shipyard.core.validation import check_run_id
from shipyard.services import provenance
from shipyard.services.ports import RegistrationHooks
from shipyard.services.registry.packaging import (
    check_example,
    dump_model,
    infer_signature,
    load_model,
)
from shipyard.services.registry.registered import RegisteredModels, as_ref
from shipyard.services.registry.retire import check_may_retire
from shipyard.services.tracking import TrackingService
from shipyard.stores.blobs import ContentStore
from shipyard.stores.ports import AuditLog, ModelStore
from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.models_repo import ModelsRepo

__all__ = ["RegistryService"]

log = logging.getLogger(__name__)
_SUFFIX = {"sklearn": "skops", "xgboost": "xgb", "lightgbm": "lgb", "python-pickle": "pkl"}


class RegistryService(RegisteredModels):
    """Versions: log, load verified, aliases, status, gates (models as a whole: the base)."""

    def __init__(
        self,
        db: Database,
        blobs: ContentStore,
        tracking: TrackingService,
        *,
        catalog: Any = None,
        clock: Callable[[], int] = now_ms,
        repo: ModelStore | None = None,
        audit: AuditLog | None = None,
        hooks: Sequence[RegistrationHooks] = (),
    ) -> None:
        self.hooks = list(hooks)  # told of each new version once it is committed
        self.catalog = catalog
        self.db = db
        self.blobs = blobs
        self.tracking = tracking
        self.clock = clock
        self.repo = repo or ModelsRepo()
        self.audit: AuditLog = audit or AuditRepo()

    # ------------------------------------------------------------ logging
    def log_model(
        self,
        model: Any,
        name: str,
        *,
        user: str,
        run_id: str | None = None,
        input_example: Any = None,
        signature: Signature | Mapping[str, Any] | None = None,
        description: str = "",
        allow_pickle: bool = False,
        reference_data: Any = None,
    ) -> ModelVersion:
        """Package ``model`` and register it as the next version of ``name``.

        scikit-learn models also get an ONNX twin when it predicts what they do on
        ``reference_data`` (default: ``input_example``).
        """
        check_model_name(name)
        if run_id is not None:
            self.tracking.get_run(check_run_id(run_id))
        sig = self._signature(model, input_example, signature)
        flavor, data = dump_model(model, allow_pickle=allow_pickle)
        digest = self.blobs.put_bytes(data)
        lock = provenance.environment_lock()
        package = {
            "file": {"digest": digest, "size": len(data)},
            "python": platform.python_version(),
            "lock": self.blobs.put_bytes(lock),
            "libraries": _libraries(model),
        }
        reference = reference_data if reference_data is not None else input_example
        if flavor == "sklearn" and reference is not None:
            package["onnx"] = self._onnx(model, reference, sig)
        if run_id is not None:
            self.tracking.link_artifacts(
                run_id,
                [
                    (f"models/{name}/model.{_SUFFIX[flavor]}", digest, len(data)),
                    (f"models/{name}/requirements.txt", package["lock"], len(lock)),  # type: ignore[list-item]
                ],
            )
        for attempt in range(5):  # a concurrent first log of the name may win its insert
            try:
                return self.record_version(
                    name, flavor, digest, sig, package, run_id, description, user
                )
            except AlreadyExistsError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _onnx(self, model: Any, reference: Any, sig: Signature) -> dict[str, Any]:
        from shipyard.services.registry.onnx_export import export_onnx

        columns = [c for c, _ in sig.inputs]
        if not all(c in getattr(reference, "columns", ()) for c in columns):
            return {"kept": False, "reason": "the reference data lacks signature columns"}
        onnx_bytes, report = export_onnx(model, reference[columns])
        if onnx_bytes is not None:
            report["digest"] = self.blobs.put_bytes(onnx_bytes)
            report["size"] = len(onnx_bytes)
        return report

    def load_onnx(self, ref: str | ModelRef) -> bytes:
        """The verified ONNX twin of a version (NotFoundError when it has none)."""
        version = self.get_version(ref)
        onnx = version.package.get("onnx")
        if not isinstance(onnx, dict) or not onnx.get("kept"):
            why = onnx.get("reason") if isinstance(onnx, dict) else "it was not exported"
            raise NotFoundError(f"{version.ref} has no ONNX twin: {why}", field="ref")
        return self.blobs.get_bytes(str(onnx["digest"]))

    def _signature(self, model: Any, example: Any, given: Any) -> Signature:
        if given is None:
            if example is None:
                raise ValidationError(
                    "log a model with input_example= (a DataFrame of inputs) or signature=",
                    field="signature",
                )
            return infer_signature(model, example)
        sig = given if isinstance(given, Signature) else Signature.from_dict(dict(given))
        check_example(sig, example)
        return sig

    def record_version(
        self,
        name: str,
        flavor: str,
        digest: str,
        sig: Signature,
        package: dict[str, Any],
        run_id: str | None,
        description: str,
        user: str,
        *,
        existing_model: bool = False,
        audit_extra: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """A new version of ``name`` (created unless ``existing_model``), audited."""
        now = self.clock()
        with self.db.write() as conn:
            if existing_model:
                self.repo.model_id(conn, name)  # NotFoundError when it was never created
            model_description = "" if existing_model else description
            model_id = self.repo.ensure_model(conn, name, model_description, user, now, lock=True)
            number = self.repo.add_version(
                conn,
                model_id,
                {
                    "status": VersionStatus.CANDIDATE.value,
                    "status_reason": "",
                    "flavor": flavor,
                    "content_id": digest,
                    "signature_json": json.dumps(sig.to_dict()),
                    "package_json": json.dumps(package, sort_keys=True),
                    "run_id": run_id,
                    "description": description,
                    "created_by": user,
                    "creation_time": now,
                },
            )
            self.repo.touch(conn, model_id, now)
            payload = {
                "version": number,
                "flavor": flavor,
                "content_id": digest,
                "run_id": run_id,
                "inputs": [c for c, _ in sig.inputs],
                **(audit_extra or {}),
            }
            entry = NewEntry(user, "model.version.create", "model", name, payload=payload)
            self.audit.append(conn, [entry], now)
            version = self.repo.get_version(conn, ModelRef(name, version=number))
        for hook in self.hooks:
            try:
                hook.on_registered(version)
            except Exception:  # a hook never fails the registration it follows
                log.exception("after registering %s: %r failed", version.ref, hook)
        return version

    # ------------------------------------------------------------ loading
    def load(self, ref: str | ModelRef, *, user: str, allow_pickle: bool = False) -> Any:
        """The model, its bytes verified against the version's content id first."""
        version = self.get_version(ref)
        data = self.blobs.get_bytes(version.content_id)  # a tampered object raises here
        model = load_model(version.flavor, data, version.content_id, allow_pickle=allow_pickle)
        if version.flavor == "python-pickle":
            self._audit(user, "model.load.pickle", version.name, {"version": version.version})
        return model

    # ------------------------------------------------------------ changes
    def set_alias(
        self, ref: str | ModelRef, alias: str, *, user: str, reason: str = ""
    ) -> ModelVersion:
        """Point ``alias`` (champion, challenger…) at a version; the move is audited."""
        target = as_ref(ref)
        check_alias(alias)
        now = self.clock()
        with self.db.write() as conn:
            version = self.repo.get_version(conn, target)
            if version.status == VersionStatus.ARCHIVED:
                raise ValidationError(
                    f"{version.ref} is archived; an alias cannot point at it", field="ref"
                )
            before = self.repo.set_alias(conn, target, alias, user, now)
            payload = {"alias": alias, "from": before, "to": version.version}
            entry = NewEntry(user, "model.alias", "model", target.name, reason, payload)
            self.audit.append(conn, [entry], now)
            return self.repo.get_version(conn, ModelRef(target.name, version=version.version))

    def set_status(
        self,
        ref: str | ModelRef,
        status: VersionStatus | str,
        *,
        user: str,
        reason: str = "",
        action: str = "model.status",
        expected: frozenset[VersionStatus] | None = None,
    ) -> ModelVersion:
        """Move a version through its state machine; the change and its reason are audited.

        ``expected``: the statuses the caller decided on; checked under the row lock, so a
        concurrent change (a re-gate, another decision) makes this one fail, not slip through.
        """
        new = VersionStatus(status) if isinstance(status, str) else status
        with self.db.write() as conn:
            return self._transition(conn, as_ref(ref), new, user, reason, action, expected)

    def _transition(
        self,
        conn: Any,
        target: ModelRef,
        new: VersionStatus,
        user: str,
        reason: str,
        action: str,
        expected: frozenset[VersionStatus] | None,
        extra: list[NewEntry] | None = None,
    ) -> ModelVersion:
        now = self.clock()
        version = self.repo.get_version(conn, target, lock=True)
        if expected is not None and version.status not in expected:
            raise ConflictError(
                f"{version.ref} became {version.status.value} meanwhile; look again and decide",
                field="status",
            )
        check_version_transition(version.status, new)
        if new in (VersionStatus.ARCHIVED, VersionStatus.REJECTED):
            check_may_retire(conn, version, new, user)
        exact = ModelRef(target.name, version=version.version)
        dropped = self.repo.set_status(conn, exact, new, reason, now)
        payload: dict[str, Any] = {
            "version": version.version,
            "from": version.status.value,
            "to": new.value,
        }
        if dropped:
            payload["aliases_removed"] = dropped
        entry = NewEntry(user, action, "model", target.name, reason, payload)
        self.audit.append(conn, [*(extra or []), entry], now)
        return self.repo.get_version(conn, exact)

    # ------------------------------------------------------------ gates
    def run_gates(
        self,
        ref: str | ModelRef,
        release: Mapping[str, object],
        *,
        user: str,
        holdout: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """Recompute the policy's gates on a holdout; store the evidence; gate_passed|failed."""
        from shipyard.services.registry.gates import GateRunner
        from shipyard.services.registry.policy import parse_policy

        target_ref = as_ref(ref)
        if self.catalog is None:
            raise ValidationError("gates need the data catalog", field="catalog")
        policy = parse_policy(target_ref.name, release)
        runner = GateRunner(self, self.catalog, policy, target_ref, user)
        check_version_transition(runner.version.status, VersionStatus.GATE_PASSED)
        frame, x, y, holdout_ref = runner.holdout(holdout, target)
        results = [_evaluate(runner, gate, frame, x, y) for gate in policy.gates]
        passed = all(r["passed"] for r in results)
        version = runner.version
        exact = ModelRef(version.name, version=version.version)
        report = {
            "version": version.version,
            "holdout": holdout_ref,
            "passed": passed,
            "gates": results,
        }
        now = self.clock()
        status = VersionStatus.GATE_PASSED if passed else VersionStatus.GATE_FAILED
        summary = {
            "version": version.version,
            "holdout": holdout_ref,
            "passed": passed,
            "failed": [r["gate"] for r in results if not r["passed"]],
        }
        with self.db.write() as conn:  # evidence, its audit entry and the status: all or none
            self.repo.add_gate_result(
                conn, exact, passed=passed, holdout=holdout_ref, report=report, user=user, now=now
            )
            gate_entry = NewEntry(user, "model.gate", "model", version.name, "", summary)
            self._transition(
                conn,
                exact,
                status,
                user,
                f"gates on {holdout_ref}",
                "model.status",
                frozenset({version.status}),
                extra=[gate_entry],
            )
        return report

    def gate_results(self, ref: str | ModelRef) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return self.repo.gate_results(conn, as_ref(ref))

    def decide(
        self,
        ref: str | ModelRef,
        user: User,
        *,
        approve: bool,
        reason: str,
        override: bool = False,
    ) -> ModelVersion:
        """Approve or reject with separation of duties (see ``approvals``)."""
        from shipyard.services.registry.approvals import decide

        return decide(self, as_ref(ref), user, approve=approve, reason=reason, override=override)

    def archive(self, ref: str | ModelRef, *, user: str, reason: str = "") -> ModelVersion:
        return self.set_status(ref, VersionStatus.ARCHIVED, user=user, reason=reason)

    def _audit(self, user: str, action: str, name: str, payload: dict[str, Any]) -> None:
        with self.db.write() as conn:
            self.audit.append(
                conn, [NewEntry(user, action, "model", name, "", payload)], self.clock()
            )


def _evaluate(runner: Any, gate: Any, frame: Any, x: Any, y: Any) -> dict[str, Any]:
    """One gate; a failure of the data or the model to fit the gate is a clear 4xx."""
    from shipyard.core.errors import ShipyardError

    try:
        return dict(runner.evaluate(gate, frame, x, y))
    except ShipyardError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise ValidationError(
            f"gate {gate.label} cannot be computed on this holdout: {type(e).__name__}: {e}",
            field="gates",
        ) from None


def _libraries(model: Any) -> dict[str, str]:
    return dict(_versions_for(type(model).__module__.split(".")[0]))


@lru_cache(maxsize=64)
def _versions_for(top: str) -> tuple[tuple[str, str], ...]:
    """Installed versions of the model's library, NumPy and SciPy (read once a process)."""
    from importlib import metadata

    out = []
    names = {"sklearn": ("scikit-learn",), "xgboost": ("xgboost", "xgboost-cpu")}.get(top, (top,))
    for dist in (*names, "numpy", "scipy"):
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)
