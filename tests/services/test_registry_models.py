"""Registered models as a whole on SQLite and PostgreSQL: each change audited, bad input refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.models import ModelVersion, Signature
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


def _version(svc: Services, name: str, run_id: str | None = None) -> ModelVersion:
    """A registered version (the model is created with it when new)."""
    digest = svc.registry.blobs.put_bytes(f"model of {name}".encode())
    return svc.registry.record_version(
        name,
        "sklearn",
        digest,
        Signature((("age", "int64"),), "int64"),
        {"file": {"digest": digest, "size": 1}},
        run_id,
        "",
        "ada",
    )


def _last(svc: Services, obj: str) -> tuple[str, str, dict[str, Any]]:
    entry = svc.audit.log(obj, limit=1)[0]
    return entry.actor, entry.action, json.loads(entry.payload or "{}")


def test_create_describe_and_tag_a_model_each_change_audited(svc: Services) -> None:
    reg = svc.registry
    model = reg.create_model(
        "fraud", user="ada", description="first", tags={"team": "risk"}, audit_extra={"via": "x"}
    )
    assert (model.name, model.description, model.created_by) == ("fraud", "first", "ada")
    assert model.tags == {"team": "risk"} and model.latest_version is None
    assert _last(svc, "model:fraud") == ("ada", "model.create", {"via": "x"})

    assert reg.update_model("fraud", user="bob", description="second").description == "second"
    assert _last(svc, "model:fraud") == ("bob", "model.update", {"description": "second"})

    assert reg.set_model_tag("fraud", "stage", "beta", user="bob").tags == {
        "stage": "beta",
        "team": "risk",
    }
    assert reg.set_model_tag("fraud", "stage", "ga", user="bob").tags["stage"] == "ga"
    assert _last(svc, "model:fraud") == ("bob", "model.tag.set", {"key": "stage", "value": "ga"})
    reg.delete_model_tag("fraud", "team", user="cy")
    assert reg.get_model("fraud").tags == {"stage": "ga"}
    assert _last(svc, "model:fraud") == ("cy", "model.tag.delete", {"key": "team"})
    assert svc.audit.verify().ok


def test_rename_and_delete_a_model_without_versions(svc: Services) -> None:
    reg = svc.registry
    reg.create_model("draft", user="ada", tags={"k": "v"})
    renamed = reg.rename_model("draft", "fraud", user="bob")
    assert (renamed.name, renamed.tags) == ("fraud", {"k": "v"})
    assert _last(svc, "model:fraud") == ("bob", "model.rename", {"from": "draft", "to": "fraud"})
    with pytest.raises(NotFoundError):
        reg.get_model("draft")

    reg.delete_model("fraud", user="cy")
    with pytest.raises(NotFoundError):
        reg.get_model("fraud")
    assert _last(svc, "model:fraud")[:2] == ("cy", "model.delete")
    reg.create_model("fraud", user="ada")  # the name is free again, tags gone
    assert reg.get_model("fraud").tags == {}
    assert svc.audit.verify().ok


def test_alias_removal_is_audited_with_where_it_pointed(svc: Services) -> None:
    reg = svc.registry
    _version(svc, "loans")
    _version(svc, "loans")
    reg.set_alias("loans@2", "champion", user="ada")
    reg.set_alias("loans@2", "challenger", user="ada")
    reg.delete_alias("loans", "champion", user="bob", reason="rollback drill")
    model = reg.get_model("loans")
    assert model.aliases == {"challenger": 2}
    assert reg.get_version("loans@2").aliases == ("challenger",)
    entry = svc.audit.log("model:loans", limit=1)[0]
    assert (entry.actor, entry.action, entry.reason) == ("bob", "model.alias", "rollback drill")
    assert json.loads(entry.payload) == {"alias": "champion", "from": 2, "to": None}
    assert svc.audit.verify().ok


def test_search_versions_across_models_in_one_read(svc: Services) -> None:
    reg = svc.registry
    for name in ("b-model", "a-model", "b-model"):
        _version(svc, name)
    reg.set_alias("b-model@1", "champion", user="ada")
    found = [(v.name, v.version, v.aliases) for v in reg.search_versions()]
    assert found == [("a-model", 1, ()), ("b-model", 1, ("champion",)), ("b-model", 2, ())]
    assert [(v.name, v.version) for v in reg.search_versions(["b-model"])] == [
        ("b-model", 1),
        ("b-model", 2),
    ]
    assert reg.search_versions(["nobody"]) == []
    assert reg.search_versions([]) == []
    with pytest.raises(ValidationError, match="model name"):
        reg.search_versions(["../etc"])


_BAD = [
    pytest.param(
        lambda r: r.create_model("loans", user="u"), AlreadyExistsError, "already", id="duplicate"
    ),
    pytest.param(
        lambda r: r.create_model("-x", user="u"), ValidationError, "model name", id="bad name"
    ),
    pytest.param(
        lambda r: r.create_model("n", user="u", tags={"": "v"}),
        ValidationError,
        "tags must be a non-empty string",
        id="bad tag key",
    ),
    pytest.param(
        lambda r: r.update_model("nope", user="u", description=""),
        NotFoundError,
        "nope",
        id="unknown update",
    ),
    pytest.param(
        lambda r: r.update_model("loans", user="u", description=3),
        ValidationError,
        "text",
        id="bad description",
    ),
    pytest.param(
        lambda r: r.rename_model("nope", "n2", user="u"), NotFoundError, "nope", id="unknown rename"
    ),
    pytest.param(
        lambda r: r.rename_model("empty", "loans", user="u"),
        AlreadyExistsError,
        "loans",
        id="rename taken",
    ),
    pytest.param(
        lambda r: r.rename_model("empty", "a b", user="u"),
        ValidationError,
        "model name",
        id="rename bad",
    ),
    pytest.param(
        lambda r: r.rename_model("loans", "n2", user="u"),
        ConflictError,
        "1 version",
        id="rename versioned",
    ),
    pytest.param(
        lambda r: r.delete_model("nope", user="u"), NotFoundError, "nope", id="unknown delete"
    ),
    pytest.param(
        lambda r: r.delete_model("loans", user="u"), ConflictError, "archive", id="delete versioned"
    ),
    pytest.param(
        lambda r: r.set_model_tag("nope", "k", "v", user="u"),
        NotFoundError,
        "nope",
        id="unknown tag model",
    ),
    pytest.param(
        lambda r: r.set_model_tag("loans", "a/../b", "v", user="u"),
        ValidationError,
        "key",
        id="bad tag",
    ),
    pytest.param(
        lambda r: r.delete_model_tag("loans", "k", user="u"),
        NotFoundError,
        "no tag",
        id="missing tag",
    ),
    pytest.param(
        lambda r: r.delete_alias("nope", "champion", user="u"),
        NotFoundError,
        "nope",
        id="unknown alias model",
    ),
    pytest.param(
        lambda r: r.delete_alias("loans", "champion", user="u"),
        NotFoundError,
        "no alias",
        id="missing alias",
    ),
    pytest.param(
        lambda r: r.delete_alias("loans", "latest", user="u"),
        ValidationError,
        "alias",
        id="bad alias",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), _BAD)
def test_bad_input_is_a_clear_error_and_leaves_no_trace(
    svc: Services, call: Callable[[Any], Any], error: type[Exception], message: str
) -> None:
    _version(svc, "loans")
    svc.registry.create_model("empty", user="ada")
    before = svc.audit.log(limit=1000)
    with pytest.raises(error, match=message):
        call(svc.registry)
    assert svc.audit.log(limit=1000) == before  # nothing half-done, nothing audited
    assert svc.audit.verify().ok
