"""``sy.data``: register, fetch and alias dataset versions; reads inside a run are recorded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.datasets import Dataset, DatasetKind, DatasetVersion, ValidationRecord
from shipyard.core.errors import ValidationError

if TYPE_CHECKING:
    from shipyard.interfaces.sdk.fluent import Session
    from shipyard.interfaces.sdk.ports import DataCatalog

__all__ = ["DataAPI"]


class DataAPI:
    """The data catalog as the SDK shows it (``import shipyard as sy; sy.data.register(...)``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _catalog(self) -> DataCatalog:
        """The local catalog, or its HTTP twin when SHIPYARD_TRACKING_URI names a server."""
        return self._session.services.catalog

    def _user(self) -> str:
        return self._session.services.settings.actor

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
        link: bool = False,
    ) -> DatasetVersion:
        """Store a DataFrame, a CSV/Parquet/JSON-lines file, any file or a folder as ``name@vN``.

        ``pii`` maps columns to ``keep|mask|tokenize|drop``; policies from ``[data.<name>.pii]``
        in shipyard.toml apply when not given. Likely personal data in a column without a
        policy is refused unless ``allow_pii=True`` (recorded on the version).
        ``link=True`` hard-links large files into a local store instead of copying them
        (instant; the files become read-only, as with DVC's ``cache.type = hardlink``).
        """
        settings = self._session.services.settings
        declared = pii if pii is not None else settings.data_pii(name)
        return self._catalog.register(
            name,
            source,
            description=description,
            owner=owner,
            tags=tags,
            pii=declared,
            allow_pii=allow_pii,
            format=format,
            user=self._user(),
            link=link,
        )

    def get(
        self,
        ref: str,
        *,
        path: str | None = None,
        columns: list[str] | None = None,
        dest: str | os.PathLike[str] | None = None,
    ) -> Any:
        """A table version as a DataFrame, or a folder version (or one file / sub-folder of it,
        with ``path=``) as a local path. Inside a run the version read is recorded as input."""
        catalog = self._catalog
        version = catalog.get_version(ref)  # resolved once: the data and the lineage agree
        if version.kind is DatasetKind.TABLE:
            if path is not None:
                raise ValidationError(
                    f"{version.ref} is a table: 'path' is for folders", field="path"
                )
            data = catalog.load_frame(version.ref, columns)
        else:
            data = catalog.checkout(version.ref, path, dest)
        active = self._session.active_run()
        if active is not None:  # recorded once the data was actually read (and verified)
            catalog.record_input(active.run_id, version.ref)
        return data

    def version(self, ref: str) -> DatasetVersion:
        """The metadata of a version (schema, profile, PII policies, validation evidence)."""
        return self._catalog.get_version(ref)

    def versions(self, name: str) -> list[DatasetVersion]:
        return self._catalog.list_versions(name)

    def search(self, text: str | None = None, limit: int = 100) -> list[Dataset]:
        """Datasets whose name, description, owner, tags or column names contain ``text``."""
        return self._catalog.search(text, limit)

    def list(self) -> list[Dataset]:
        return self._catalog.search(None, 10_000)

    def alias(self, ref: str, alias: str) -> DatasetVersion:
        """Point ``name@alias`` (e.g. ``loans@training``) at the version ``ref`` names."""
        return self._catalog.set_alias(ref, alias, self._user())

    def validate(self, ref: str, checks: Mapping[str, object] | None = None) -> ValidationRecord:
        """Run the dataset's checks (``checks`` or ``[data.<name>.checks]``) and store the
        result as evidence on the version."""
        settings = self._session.services.settings
        version = self._catalog.get_version(ref)
        spec = checks if checks is not None else settings.data_checks(version.name)
        return self._catalog.validate(version.ref, spec, self._user())

    def log_input(self, ref: str, context: str = "input") -> DatasetVersion:
        """Record that the active run read ``ref`` (resolved to its version now)."""
        active = self._session.active_run()
        if active is None:
            raise ValidationError("no active run: call sy.start_run() first", field="run")
        return self._catalog.record_input(active.run_id, ref, context)
