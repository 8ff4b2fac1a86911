"""The SDK's HTTP backend: the same calls as the local TrackingService, over /api/v1."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from shipyard.core import errors
from shipyard.core.entities import Experiment, FileInfo, Metric, Run, RunInfo, RunPage
from shipyard.core.states import RunStatus
from shipyard.interfaces.sdk.remote_data import RemoteCatalog
from shipyard.interfaces.sdk.remote_monitor import RemoteMonitoring
from shipyard.services.tracking import artifact_sources
from shipyard.settings import Settings

__all__ = ["RemoteServices", "RemoteTracking"]


# A corrupted object in the server's store reaches the client as the 409 it is (a
# ConflictError naming the object and the fix); ArtifactCorruptedError is for this process's
# own store, whose objects the client can delete and upload again.
_BY_STATUS_ONLY = frozenset({errors.ArtifactCorruptedError.code})


def _metrics_json(metrics: Sequence[Metric]) -> list[dict[str, Any]]:
    return [
        {
            "key": m.key,
            "value": m.value if m.value == m.value else "NaN",  # NaN is not valid JSON
            "timestamp": m.timestamp,
            "step": m.step,
        }
        for m in metrics
    ]


def _metric(d: Mapping[str, Any]) -> Metric:
    return Metric(d["key"], float(d["value"]), d["timestamp"], d["step"])


def _run(d: Mapping[str, Any]) -> Run:
    i, data = d["info"], d["data"]
    info = RunInfo(
        run_id=i["run_id"],
        experiment_id=i["experiment_id"],
        run_name=i["run_name"],
        user=i["user_id"],
        status=RunStatus(i["status"]),
        start_time=i["start_time"],
        end_time=i.get("end_time"),
        lifecycle_stage=i["lifecycle_stage"],
        parent_run_id=i.get("parent_run_id"),
    )
    return Run(
        info=info,
        params={p["key"]: p["value"] for p in data["params"]},
        metrics={m["key"]: _metric(m) for m in data["metrics"]},
        tags={t["key"]: t["value"] for t in data["tags"]},
    )


def _experiment(d: Mapping[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=d["artifact_location"],
        lifecycle_stage=d["lifecycle_stage"],
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        tags={t["key"]: t["value"] for t in d["tags"]},
    )


def _raise_for_error(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):  # not our server's answer (a proxy's page, say)
        body = {"message": resp.text[:500]}
    code = body.get("error_code")
    cls = errors.error_class(None if code in _BY_STATUS_ONLY else code, resp.status_code)
    raise cls(body.get("message", f"HTTP {resp.status_code}"), field=body.get("field"))


class RemoteTracking:
    """A ``Tracker`` over a Shipyard server; errors come back as the same ShipyardError
    classes, chosen by the ``error_code`` the server sends."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=60)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        with self._unreachable():
            resp = self.http.request(method, "/api/v1" + path, **kw)
        _raise_for_error(resp)
        return resp.json() if resp.content else {}

    @contextmanager
    def stream(self, path: str, params: Mapping[str, Any]) -> Iterator[Iterator[bytes]]:
        """A GET under /api/v1 whose body arrives in chunks (downloads)."""
        with self._unreachable(), self.http.stream("GET", "/api/v1" + path, params=params) as resp:
            if resp.status_code >= 400:
                resp.read()
                _raise_for_error(resp)
            yield resp.iter_bytes(1 << 20)

    @contextmanager
    def _unreachable(self) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as e:
            raise errors.StorageError(
                f"cannot reach the Shipyard server at {self.http.base_url}: {e}; "
                "check SHIPYARD_TRACKING_URI"
            ) from e

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self._call("GET", "/experiments", params={"name": name})["experiments"]
        if not found:
            raise errors.NotFoundError(f"no experiment named {name!r}", field="experiment_name")
        return _experiment(found[0])

    def get_or_create_experiment(self, name: str) -> Experiment:
        try:
            return self.get_experiment_by_name(name)
        except errors.NotFoundError:
            pass
        try:
            return _experiment(
                self._call("POST", "/experiments", json={"name": name})["experiment"]
            )
        except errors.AlreadyExistsError:
            return self.get_experiment_by_name(name)

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        user: str = "unknown",  # the server records the token's user
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": start_time,
            "tags": dict(tags or {}),
            "parent_run_id": parent_run_id,
        }
        return _run(self._call("POST", "/runs", json=body)["run"])

    def get_run(self, run_id: str) -> Run:
        return _run(self._call("GET", f"/runs/{run_id}")["run"])

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
        actor: str | None = None,  # the server records the token's user
    ) -> Run | None:
        fields = {"status": status, "end_time": end_time, "run_name": run_name, "error": error}
        body: dict[str, Any] = {
            k: (v.value if isinstance(v, RunStatus) else v)
            for k, v in fields.items()
            if v is not None
        }
        if metrics:  # the last metrics and the status change travel in one request
            body["metrics"] = _metrics_json(metrics)
        run = _run(self._call("PATCH", f"/runs/{run_id}", json=body)["run"])
        return run if load else None

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        body = {
            "metrics": _metrics_json(metrics),
            "params": {k: str(v) for k, v in (params or {}).items()},
            "tags": {k: str(v) for k, v in (tags or {}).items()},
        }
        self._call(
            "POST",
            f"/runs/{run_id}/batch",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        return [_metric(m) for m in self._call("GET", f"/runs/{run_id}/metrics/{key}")["metrics"]]

    def search_runs(
        self,
        experiment_ids: Iterable[str] = (),
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: str = "ACTIVE_ONLY",
    ) -> RunPage:
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter_string,
            "order_by": list(order_by or []),
            "max_results": max_results,
            "page_token": page_token,
            "view_type": view_type,
        }
        out = self._call("POST", "/runs/search", json=body)
        return RunPage([_run(r) for r in out["runs"]], out.get("next_page_token"))

    def log_artifact_bytes(self, run_id: str, data: bytes, artifact_path: str) -> FileInfo:
        f = self._call("PUT", f"/runs/{run_id}/artifacts/{artifact_path}", content=data)["file"]
        return FileInfo(path=f["path"], is_dir=False, size=f.get("file_size"))

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileInfo]:
        return [
            self.log_artifact_bytes(run_id, p.read_bytes(), dest)
            for p, dest in artifact_sources(local_path, artifact_path)
        ]


@dataclass
class RemoteServices:
    """The ``SdkServices`` of a process whose tracking URI names a server."""

    settings: Settings
    tracking: RemoteTracking
    catalog: RemoteCatalog
    alerts: RemoteMonitoring  # the computed windows ``sy.monitor.report`` reads

    @classmethod
    def connect(cls, settings: Settings) -> RemoteServices:
        """Tracking, catalog and monitoring sharing one HTTP client to the server."""
        assert settings.tracking_uri is not None
        tracking = RemoteTracking(settings.tracking_uri, settings.token)
        catalog = RemoteCatalog(tracking._call, tracking.stream, settings.state_dir / "checkouts")
        return cls(settings, tracking, catalog, RemoteMonitoring(tracking._call))

    def close(self) -> None:
        self.tracking.http.close()
