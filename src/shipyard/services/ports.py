"""What one service needs from another, as ``typing.Protocol``s: siblings meet one layer up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shipyard.core.datasets import DatasetVersion
    from shipyard.core.models import ModelVersion

__all__ = ["DatasetInputs", "ModelVersionLookup"]


class DatasetInputs(Protocol):
    """What the pipeline runner needs from the data catalog: resolve a ref, record a read."""

    def get_version(self, ref: str) -> DatasetVersion: ...

    def record_input(self, run_id: str, ref: str, context: str = "input") -> DatasetVersion: ...


class ModelVersionLookup(Protocol):
    """What deployments need from the model registry: the version a ref names."""

    def get_version(self, ref: str) -> ModelVersion: ...
