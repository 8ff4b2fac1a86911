"""``sy.models``: log a model from a run, load it by version or alias, move aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError

if TYPE_CHECKING:
    from shipyard.core.models import ModelVersion, RegisteredModel
    from shipyard.interfaces.sdk.fluent import Session

__all__ = ["ModelsAPI"]


class ModelsAPI:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _registry(self) -> Any:
        services = self._session.services
        if not hasattr(services, "registry"):
            raise ValidationError(
                "the model registry needs the database and object store directly; unset "
                "SHIPYARD_TRACKING_URI (registry over HTTP is not available yet)",
                field="tracking_uri",
            )
        return services.registry

    @property
    def _user(self) -> str:
        return str(self._session.services.settings.actor)

    def log(
        self,
        model: Any,
        name: str,
        *,
        input_example: Any = None,
        signature: Mapping[str, Any] | None = None,
        description: str = "",
        allow_pickle: bool = False,
        reference_data: Any = None,
    ) -> ModelVersion:
        """Register ``model`` as the next version of ``name``, linked to the active run.

        ``reference_data`` (default ``input_example``) checks its ONNX twin.
        """
        active = self._session.active_run()
        if active is not None:
            self._session.flush()
        return self._registry.log_model(
            model,
            name,
            user=self._user,
            run_id=active.run_id if active is not None else None,
            input_example=input_example,
            signature=signature,
            description=description,
            allow_pickle=allow_pickle,
            reference_data=reference_data,
        )

    def load(self, ref: str, *, allow_pickle: bool = False) -> Any:
        """``"loans@champion"``, ``"loans@3"`` or ``"loans"`` (latest); verified first."""
        return self._registry.load(ref, user=self._user, allow_pickle=allow_pickle)

    def get(self, ref: str) -> ModelVersion:
        return self._registry.get_version(ref)

    def list(self, search: str | None = None) -> list[RegisteredModel]:
        return self._registry.list_models(search)

    def alias(self, ref: str, alias: str, reason: str = "") -> ModelVersion:
        return self._registry.set_alias(ref, alias, user=self._user, reason=reason)

    def archive(self, ref: str, reason: str = "") -> ModelVersion:
        return self._registry.archive(ref, user=self._user, reason=reason)
