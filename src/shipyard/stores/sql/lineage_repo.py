"""Lineage in SQL: which runs read which dataset versions (``run_inputs``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.stores.sql.tables import dataset_versions, datasets, run_inputs, runs

__all__ = ["LineageRepo", "RunInput"]


@dataclass(frozen=True)
class RunInput:
    """A lineage edge: a run read a dataset version."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    ref: str
    context: str
    creation_time: int


class LineageRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def runs_reading(self, conn: Connection, version_id: int, ref: str) -> list[RunInput]:
        """Runs that declared this dataset version (``ref`` names it) as an input."""
        found = conn.execute(
            sa.select(runs, run_inputs.c.context, run_inputs.c.creation_time.label("linked"))
            .join(run_inputs, run_inputs.c.run_id == runs.c.id)
            .where(run_inputs.c.version_id == version_id)
            .order_by(run_inputs.c.creation_time)
        )
        return [
            RunInput(
                run_id=r.id,
                run_name=r.name,
                experiment_id=str(r.experiment_id),
                status=r.status,
                ref=ref,
                context=r.context,
                creation_time=r.linked,
            )
            for r in found
        ]

    def inputs_of_run(self, conn: Connection, run_id: str) -> list[RunInput]:
        """Dataset versions a run read."""
        found = conn.execute(
            sa.select(
                datasets.c.name,
                dataset_versions.c.version,
                run_inputs.c.context,
                run_inputs.c.creation_time,
                runs.c.name.label("run_name"),
                runs.c.experiment_id,
                runs.c.status,
            )
            .join(dataset_versions, dataset_versions.c.id == run_inputs.c.version_id)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .join(runs, runs.c.id == run_inputs.c.run_id)
            .where(run_inputs.c.run_id == run_id)
            .order_by(datasets.c.name, dataset_versions.c.version)
        )
        return [
            RunInput(
                run_id=run_id,
                run_name=r.run_name,
                experiment_id=str(r.experiment_id),
                status=r.status,
                ref=f"{r.name}@v{r.version}",
                context=r.context,
                creation_time=r.creation_time,
            )
            for r in found
        ]
