"""The remote SDK raises the class the server's ``error_code`` names, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.core import errors
from shipyard.core.entities import Metric, Role
from shipyard.interfaces.sdk.remote import RemoteTracking


@pytest.fixture
def remote(live_server) -> Iterator[RemoteTracking]:
    client = RemoteTracking(live_server.url, live_server.admin_token)
    yield client
    client.http.close()


def test_already_exists_comes_back_as_itself(remote: RemoteTracking) -> None:
    remote._call("POST", "/experiments", json={"name": "churn"})
    with pytest.raises(errors.AlreadyExistsError) as err:
        remote._call("POST", "/experiments", json={"name": "churn"})
    assert type(err.value) is errors.AlreadyExistsError
    assert "churn" in err.value.message


def test_not_found(remote: RemoteTracking) -> None:
    with pytest.raises(errors.NotFoundError) as err:
        remote.get_run("0" * 32)
    assert type(err.value) is errors.NotFoundError


def test_validation_keeps_its_field(remote: RemoteTracking) -> None:
    with pytest.raises(errors.ValidationError) as err:
        remote.search_runs(filter_string="metrics.auc >")
    assert type(err.value) is errors.ValidationError
    assert err.value.field == "filter"


def test_conflict_and_invalid_state(remote: RemoteTracking) -> None:
    experiment = remote.get_or_create_experiment("conflicts")
    run = remote.create_run(experiment.experiment_id, run_name="r")
    remote.log_batch(run.run_id, params={"model": "rf"})
    with pytest.raises(errors.ConflictError) as err:
        remote.log_batch(run.run_id, params={"model": "gbm"})
    assert type(err.value) is errors.ConflictError
    remote.update_run(run.run_id, status="FINISHED", metrics=[Metric("auc", 0.9, 1, 0)])
    with pytest.raises(errors.InvalidStateTransitionError):
        remote.update_run(run.run_id, status="SCHEDULED")


def test_permission_denied_and_unauthenticated(live_server) -> None:
    live_server.services.access.add_user("vera", Role.VIEWER)
    viewer = RemoteTracking(live_server.url, live_server.services.access.issue_token("vera"))
    stranger = RemoteTracking(live_server.url, "shp_not-a-token")
    try:
        with pytest.raises(errors.PermissionDeniedError) as err:
            viewer.get_or_create_experiment("not-for-viewers")
        assert type(err.value) is errors.PermissionDeniedError
        with pytest.raises(errors.AuthenticationError):
            stranger.get_run("0" * 32)
    finally:
        viewer.http.close()
        stranger.http.close()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("RESOURCE_ALREADY_EXISTS", 400, errors.AlreadyExistsError),
        ("INVALID_PARAMETER_VALUE", 400, errors.ValidationError),
        ("INVALID_PARAMETER_VALUE", 409, errors.ConflictError),
        ("INVALID_STATE", 409, errors.InvalidStateTransitionError),
        ("SCHEMA_VERSION_MISMATCH", 503, errors.SchemaVersionError),
        ("RESOURCE_DOES_NOT_EXIST", 502, errors.NotFoundError),  # a code alone decides
        (None, 404, errors.NotFoundError),  # no code (a proxy's page): the status decides
        ("SOMETHING_NEW", 418, errors.ShipyardError),
    ],
)
def test_error_class_table(code: str | None, status: int, expected: type) -> None:
    assert errors.error_class(code, status) is expected


def test_every_error_of_the_tree_round_trips() -> None:
    def tree(cls: type[errors.ShipyardError]) -> list[type[errors.ShipyardError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in tree(sub))]

    for cls in tree(errors.ShipyardError):
        if cls.__module__ != errors.__name__ or cls is errors.FilterSyntaxError:
            continue  # FilterSyntaxError is a ValidationError on the wire (same code, status)
        assert errors.error_class(cls.code, cls.http_status) is cls, cls
