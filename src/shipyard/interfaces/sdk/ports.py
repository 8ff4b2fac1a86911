"""What the SDK facade needs, local or remote: settings, a ``Tracker`` and a data catalog."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shipyard.core.datasets import Dataset, DatasetVersion, ValidationRecord
    from shipyard.services.tracking_port import Tracker
    from shipyard.settings import Settings

__all__ = ["DataCatalog", "SdkServices"]


class DataCatalog(Protocol):
    """The catalog calls behind ``sy.data`` (``CatalogService``, or its HTTP twin)."""

    def register(
        self,
        name: str,
        source: Any,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: Mapping[str, object] | None = None,
        pii: Mapping[str, object] | None = None,
        allow_pii: bool = False,
        format: str = "auto",
        user: str = ...,
        link: bool = False,
    ) -> DatasetVersion: ...

    def get_version(self, ref: str) -> DatasetVersion: ...

    def list_versions(self, name: str) -> list[DatasetVersion]: ...

    def search(
        self, text: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Dataset]: ...

    def set_alias(self, ref: str, alias: str, user: str = ...) -> DatasetVersion: ...

    def record_input(self, run_id: str, ref: str, context: str = "input") -> DatasetVersion: ...

    def validate(
        self, ref: str, spec: Mapping[str, object] | None, user: str = ...
    ) -> ValidationRecord: ...

    def load_frame(self, ref: str, columns: list[str] | None = None) -> Any: ...

    def checkout(
        self, ref: str, path: str | None = None, dest: str | os.PathLike[str] | None = None
    ) -> Path: ...


class SdkServices(Protocol):
    """The object graph a ``Session`` talks to: ``build_services`` or ``RemoteServices``."""

    @property
    def settings(self) -> Settings: ...

    @property
    def tracking(self) -> Tracker: ...

    @property
    def catalog(self) -> DataCatalog: ...

    def close(self) -> None: ...
