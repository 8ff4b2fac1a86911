"""Reference profiles computed when a model version is registered, from the training dataset
version its lineage names: the table dataset versions read by its run and the run's parents
(a pipeline run), the first one holding every input column of the version's signature.

The registry calls ``on_registered`` after the version committed (``RegistrationHooks``);
the work runs on one background thread, so registering stays as quick as before (loading a
training set and scoring it take longer than registering). Best effort: whatever goes wrong
is logged and recorded as the version's profile status (``ProfileService.status_for``),
never raised into the registration. ``ProfileService.attach`` stays the on-demand way.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from shipyard.core.errors import ShipyardError
from shipyard.core.models import ModelVersion
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.services.ports import DatasetTables, RunChain, RunInputs

__all__ = ["LineageProfiler"]

log = logging.getLogger(__name__)


class LineageProfiler:
    """A ``RegistrationHooks``: profiles each new version from its training data."""

    def __init__(
        self,
        profiles: ProfileService,
        *,
        runs: RunChain,
        inputs: RunInputs,
        tables: DatasetTables,
        background: bool = True,
    ) -> None:
        self.profiles = profiles
        self.runs = runs
        self.inputs = inputs
        self.tables = tables
        self.background = background
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[str | None]] = []
        self._lock = threading.Lock()

    def on_registered(self, version: ModelVersion) -> None:
        if version.run_id is None:  # no lineage: profiles come on demand
            return
        if not self.background:
            self.profile(version)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="shipyard-profile")
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._pool.submit(self.profile, version))

    def profile(self, version: ModelVersion) -> str | None:
        """Compute and attach the version's profile from its training data; the profile's
        digest, or None when there is none to use or it failed (recorded either way)."""
        source = ""
        try:
            if self.profiles.has_profile(version.ref):  # attached on demand meanwhile
                return None
            source = self.training_ref(version) or ""
            if not source:
                self.profiles.record_status(
                    version, "skipped", "", "its run read no table dataset version holding "
                    "the signature's input columns; attach a reference on demand",
                )  # fmt: skip
                return None
            features = [c for c, _ in version.signature.inputs]  # what serving logs
            digest = self.profiles.attach(version.ref, source, columns=features)
            self.profiles.record_status(version, "computed", source, digest)
            return digest
        except Exception as e:  # best effort: the registration stands
            detail = e.message if isinstance(e, ShipyardError) else f"{type(e).__name__}: {e}"
            log.warning("reference profile of %s from %s failed: %s", version.ref, source, detail)
            try:
                self.profiles.record_status(version, "failed", source, detail)
            except Exception:
                log.exception("recording the profile status of %s failed", version.ref)
            return None

    def training_ref(self, version: ModelVersion) -> str | None:
        """The first table dataset version read by the version's run chain that holds all
        of its signature's input columns; None without one."""
        wanted = {c for c, _ in version.signature.inputs}
        seen: set[str] = set()
        for run in self.runs.run_chain(version.run_id):
            for item in self.inputs.inputs_of_run(run.run_id):
                ref = str(item.ref)
                if ref in seen:
                    continue
                seen.add(ref)
                found = self.tables.get_version(ref)
                if found.columns and wanted <= {c for c, _ in found.columns}:
                    return found.ref
        return None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the profiles queued so far (tests, and ``close``)."""
        with self._lock:
            pending = list(self._pending)
        for f in pending:
            f.exception(timeout)

    def close(self) -> None:
        """Finish the queued profiles, then stop the thread."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
