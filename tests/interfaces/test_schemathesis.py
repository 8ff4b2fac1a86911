"""A bounded schemathesis run over the whole OpenAPI document of a live ``shipyard server``:
cases generated from ``/openapi.json`` (valid and invalid ones) for every operation, sent
over real HTTP as the admin to a project seeded with runs, a dataset, a model and a
deployment; half the cases of an operation with ids in its path or query name those real
objects.
No answer may be a 5xx, and every answer must conform to the document (status, content
type, headers, body schema)."""

from __future__ import annotations

import os
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.entities import Metric
from tests.interfaces.conftest import LiveServer, _serve

schemathesis = pytest.importorskip("schemathesis")  # pinned in the dev extra

pytestmark = [pytest.mark.schemathesis, pytest.mark.timeout(900)]

# Examples per operation and generation mode: ~100 operations x 2 modes x this many cases
# keeps the run to a minute or two per backend on two cores; a deeper run sets
# SHIPYARD_SCHEMATHESIS_EXAMPLES (e.g. 100).
MAX_EXAMPLES = int(os.environ.get("SHIPYARD_SCHEMATHESIS_EXAMPLES", "12"))


@dataclass
class Tally:
    cases: int = 0
    answered_2xx: int = 0
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)


def _seed(server: LiveServer) -> dict[str, str]:
    """Runs, a dataset, a model with versions and a deployment; the ids paths can name."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    svc: Any = server.services
    exp = svc.tracking.get_or_create_experiment("fuzzed").experiment_id
    runs = []
    for i in range(3):
        run = svc.tracking.create_run(exp, user="admin", run_name=f"r{i}")
        metrics = [Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(5)]
        svc.tracking.log_batch(run.run_id, metrics=metrics, params={"lr": 0.1}, tags={"k": "v"})
        svc.tracking.log_artifact_bytes(run.run_id, b"hello", "a.txt")
        runs.append(run.run_id)
    svc.tracking.update_run(runs[0], status="FINISHED", actor="admin")
    svc.catalog.register("loans", pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), user="admin")
    svc.catalog.set_alias("loans@v1", "training", user="admin")
    x = np.random.default_rng(0).normal(size=(40, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    signature = {"inputs": [["a", "float64"], ["b", "float64"]], "output": "int64"}
    for _ in range(2):
        version = svc.registry.log_model(model, "loans", user="admin", signature=signature)
    svc.registry.set_alias("loans@1", "training", user="admin")
    svc.deployments.deploy("loans", version.version, "staging", svc.access.get_user("admin"))
    return {
        "run_id": runs[1],
        "experiment_id": str(exp),
        "name": "loans",
        "model": "loans",
        "version": "1",
        "alias": "training",
        "path": "a.txt",
        "env": "staging",
        "environment": "staging",
        "key": "loss",
        "obj": "dataset:loans@v1",
    }


@contextmanager
def _database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the project's SQLite file) or a fresh PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    import sqlalchemy as sa

    admin = sa.create_engine(
        request.getfixturevalue("postgres_admin_url"), isolation_level="AUTOCOMMIT"
    )
    name = f"shipyard_st_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict]]:
    project: Path = tmp_path_factory.mktemp("schemathesis")
    with _database(request) as db_url:
        for server in _serve(project, "token", db_url):
            yield server, _seed(server)


def _use_real_ids(case: Any, real: dict[str, str]) -> None:
    """Every other case (by a stable hash) names the seeded objects in its path and query."""
    for params in (case.path_parameters, case.query):
        known = [k for k in params or {} if k in real]
        if known and zlib.crc32(repr(sorted(params.items())).encode()) % 2 == 0:
            for k in known:
                params[k] = real[k]


def _run_operation(op: Any, mode: Any, url: str, headers: dict, real: dict, tally: Tally) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    label = f"{op.method.upper()} {op.path} [{mode.value}]"

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        if op.method.upper() != "DELETE":
            _use_real_ids(case, real)
        tally.cases += 1
        response = case.call(base_url=url, headers=headers, timeout=30)
        tally.answered_2xx += response.status_code < 300
        if response.status_code >= 500:
            tally.server_errors.append(f"{label}: {response.status_code} {case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:  # record every failed check, keep generating
            for failure in group.exceptions:
                tally.nonconforming.append(f"{label} -> {response.status_code}: {failure.title}")

    try:
        check()
    except Unsatisfiable:  # nothing to negate: an operation without parameters or body
        assert mode.value == "negative", label


def test_no_5xx_and_every_answer_conforms_to_the_document(
    seeded: tuple[LiveServer, dict],
) -> None:
    from schemathesis import GenerationMode

    server, real = seeded
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 90
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    tally = Tally()
    started = time.monotonic()
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(op, mode, server.url, headers, real, tally)
    elapsed = time.monotonic() - started
    print(
        f"schemathesis: {len(operations)} operations, {tally.cases} cases "
        f"({tally.answered_2xx} answered 2xx) in {elapsed:.0f}s"
    )
    assert tally.cases >= min(MAX_EXAMPLES, 10) * len(operations)
    assert tally.answered_2xx >= len(operations)  # the seeded objects were reached
    assert tally.server_errors == [], "\n".join(tally.server_errors[:20])
    assert tally.nonconforming == [], "\n".join(sorted(set(tally.nonconforming)))
