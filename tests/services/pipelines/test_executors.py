"""The same pipeline gives the same outputs on every executor (the contract), on a real Dask
cluster with an S3 object store, and on Ray (smoke test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.services.pipelines.executors import DaskExecutor, make_executor
from tests.services.pipelines import flows
from tests.services.pipelines.conftest import make_services


def _content_ids(svc, result) -> dict[str, str]:
    return {
        (n if i is None else f"{n}[{i}]"): e.output["content_id"]
        for (n, i), e in svc.pipelines.latest_executions(result.run_id).items()
    }


def _run_everywhere(tmp_path: Path, executors: dict) -> dict[str, dict[str, str]]:
    ids = {}
    for name, executor in executors.items():
        svc = make_services(tmp_path / name)  # a separate project each: nothing cached
        try:
            result = svc.pipelines.run(
                flows.fanout, {"n": 3}, actor="tester", executor=executor, seed=11
            )
            assert result.ok, f"{name}: {result.error}"
            ids[name] = _content_ids(svc, result)
        finally:
            svc.close()
    return ids


def test_every_executor_gives_identical_outputs(tmp_path: Path, dask_address: str) -> None:
    ids = _run_everywhere(
        tmp_path,
        {
            "local": "local",
            "process": make_executor("process", workers=2),
            "dask": DaskExecutor(dask_address),
        },
    )
    # make_frame, segments, 3 train_segment items, split, 4 sweep trials, summarise_fanout
    assert len(ids["local"]) == 11
    assert ids["process"] == ids["local"]
    assert ids["dask"] == ids["local"]


def test_dask_workers_write_straight_to_an_s3_store(
    tmp_path: Path, dask_address: str, s3_bucket: str, moto_endpoint: str
) -> None:
    svc = make_services(
        tmp_path,
        artifacts_url=f"s3://{s3_bucket}/objects",
        storage_options={"client_kwargs": {"endpoint_url": moto_endpoint}},
    )
    try:
        result = svc.pipelines.run(
            flows.training, {}, actor="tester", executor=DaskExecutor(dask_address)
        )
        assert result.ok, result.error
        fit = svc.pipelines.latest_executions(result.run_id)[("fit", None)]
        assert fit.worker and not fit.worker.endswith(f":{__import__('os').getpid()}")
        assert svc.blobs.exists(fit.output["digest"])
        assert result.output("summarise")["r2"] > 0.9
    finally:
        svc.close()


def test_ray_executor_smoke(tmp_path: Path) -> None:
    from tests.conftest import require

    try:
        import ray  # noqa: F401
    except ImportError:
        require(False, "ray is not installed (pip install 'shipyard[ray]')")
    svc = make_services(tmp_path)
    try:
        result = svc.pipelines.run(
            flows.training, {}, actor="tester", executor=make_executor("ray", workers=2)
        )
        assert result.ok, result.error
        local = make_services(tmp_path / "local")
        try:
            expected = local.pipelines.run(flows.training, {}, actor="tester")
            assert _content_ids(svc, result) == _content_ids(local, expected)
        finally:
            local.close()
    finally:
        svc.close()


def test_executor_dask_by_name_uses_the_configured_scheduler_or_starts_a_cluster(
    tmp_path: Path, dask_address: str
) -> None:
    from shipyard.settings import load_settings

    settings = load_settings(env={"DASK_SCHEDULER_ADDRESS": dask_address}, cwd=tmp_path)
    assert settings.dask_scheduler_address == dask_address
    svc = make_services(tmp_path / "configured", dask_scheduler_address=dask_address)
    try:
        result = svc.pipelines.run(
            flows.failing, {"flag_file": __file__}, actor="t", executor="dask"
        )
        assert result.ok, result.error
        assert svc.pipelines.get_run(result.run_id).executor == "dask"
    finally:
        svc.close()
    own = make_services(tmp_path / "own")
    try:  # no address: a LocalCluster of its own, shut down afterwards
        result = own.pipelines.run(
            flows.failing, {"flag_file": __file__}, actor="t", executor="dask", workers=1
        )
        assert result.ok, result.error
        assert result.output("plus_one_2") == 5
    finally:
        own.close()


def test_an_unreachable_dask_scheduler_is_a_clear_error(monkeypatch) -> None:
    from shipyard.core.errors import StorageError
    from shipyard.services.pipelines import executors
    from tests.conftest import free_port

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(StorageError, match=f"cannot reach the Dask scheduler {address}"):
        DaskExecutor(address)
