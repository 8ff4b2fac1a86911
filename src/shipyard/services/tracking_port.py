"""The tracking interface the SDK needs: the local ``TrackingService`` and the HTTP client both."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shipyard.core.entities import Experiment, FileInfo, Metric, Run, RunPage
    from shipyard.core.states import RunStatus

__all__ = ["Tracker"]


class Tracker(Protocol):
    """Experiments, runs and what is logged to them, wherever they are stored.

    ``user`` and ``actor`` name who acts; a server takes them from the caller's token instead.
    """

    def get_experiment_by_name(self, name: str) -> Experiment: ...

    def get_or_create_experiment(self, name: str) -> Experiment: ...

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        user: str = "unknown",
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        error: str | None = None,
        metrics: Sequence[Metric] = (),
        load: bool = True,
        actor: str | None = None,
    ) -> Run | None:
        """Change status/name/end time; ``metrics`` land in the same transaction."""
        ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        """The one write primitive of logging: ``log_metric`` is a one-item batch."""
        ...

    def metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    def search_runs(
        self,
        experiment_ids: Iterable[str] = (),
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: str = "ACTIVE_ONLY",
    ) -> RunPage: ...

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileInfo]:
        """Store a file or a folder (recursively) under ``artifact_path`` of the run."""
        ...

    def log_artifact_bytes(self, run_id: str, data: bytes, artifact_path: str) -> FileInfo: ...
