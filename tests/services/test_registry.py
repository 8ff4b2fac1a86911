"""The model registry on SQLite and PostgreSQL: log, load verified, aliases, status, audit."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.errors import (
    ArtifactCorruptedError,
    InvalidStateTransitionError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.models import VersionStatus, parse_model_ref
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"age": rng.integers(20, 70, 80), "income": rng.normal(50, 10, 80)})
    return x, (x["income"] > 50).to_numpy(dtype=int)


def _model(c: float = 1.0) -> LogisticRegression:
    x, y = _data()
    return LogisticRegression(C=c).fit(x, y)


class Scaler:  # not scikit-learn: needs pickle
    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(x))


def test_log_load_and_the_version_record(svc: Services) -> None:
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    run = svc.tracking.create_run(exp, user="ada")
    x, _ = _data()
    v1 = svc.registry.log_model(
        _model(), "loans", user="ada", run_id=run.run_id, input_example=x.head()
    )
    assert (v1.version, v1.status, v1.flavor, v1.run_id) == (
        1,
        VersionStatus.CANDIDATE,
        "sklearn",
        run.run_id,
    )
    assert v1.signature.inputs == (("age", "int64"), ("income", "float64"))
    assert v1.signature.output == "int64"
    assert v1.package["libraries"]["scikit-learn"]
    arts = {a.path for a in svc.tracking.all_artifacts(run.run_id)}
    assert {"models/loans/model.skops", "models/loans/requirements.txt"} <= arts
    loaded = svc.registry.load("loans@1", user="bob")
    assert (loaded.predict(x) == _model().predict(x)).all()
    v2 = svc.registry.log_model(_model(0.1), "loans", user="ada", input_example=x)
    assert v2.version == 2 and svc.registry.get_version("loans").version == 2
    assert [m.latest_version for m in svc.registry.list_models("loa")] == [2]


def test_aliases_move_and_every_move_is_audited(svc: Services) -> None:
    x, _ = _data()
    for c in (1.0, 0.5):
        svc.registry.log_model(_model(c), "loans", user="ada", input_example=x)
    svc.registry.set_alias("loans@1", "champion", user="bob", reason="first")
    svc.registry.set_alias("loans@2", "champion", user="bob", reason="better AUC")
    assert svc.registry.get_version("loans@champion").version == 2
    assert svc.registry.get_model("loans").aliases == {"champion": 2}
    moves = [e for e in svc.audit.log("model:loans") if e.action == "model.alias"]
    assert [(e.actor, e.reason) for e in moves] == [("bob", "better AUC"), ("bob", "first")]
    assert '"from":1' in moves[0].payload and '"to":2' in moves[0].payload
    assert svc.audit.verify().ok


def test_status_follows_the_state_machine(svc: Services) -> None:
    x, _ = _data()
    svc.registry.log_model(_model(), "loans", user="ada", input_example=x)
    with pytest.raises(
        InvalidStateTransitionError, match="that is candidate cannot become approved"
    ):
        svc.registry.set_status("loans@1", "approved", user="carol")
    svc.registry.set_status("loans@1", "gate_passed", user="ci", reason="gates")
    svc.registry.set_status("loans@1", "approved", user="carol", reason="ok")
    archived = svc.registry.archive("loans@1", user="carol", reason="superseded")
    assert archived.status == VersionStatus.ARCHIVED and archived.status_reason == "superseded"
    with pytest.raises(InvalidStateTransitionError):
        svc.registry.set_status("loans@1", "approved", user="carol")
    with pytest.raises(ValidationError, match="archived"):
        svc.registry.set_alias("loans@1", "champion", user="bob")
    actions = [e.action for e in svc.audit.log("model:loans")]
    assert actions.count("model.status") == 3


def test_a_tampered_model_file_is_refused_at_load(svc: Services, tmp_path: Path) -> None:
    x, _ = _data()
    version = svc.registry.log_model(_model(), "loans", user="ada", input_example=x)
    algo, hexdigest = version.content_id.split(":")
    path = tmp_path / "objects" / "v1" / algo / hexdigest[:2] / hexdigest[2:]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"LogisticRegression", b"LogisticRegressioN"))
    with pytest.raises(ArtifactCorruptedError):
        svc.registry.load("loans@1", user="bob")


def test_pickle_models_need_an_explicit_opt_in_recorded_in_the_ledger(svc: Services) -> None:
    x, _ = _data()
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        svc.registry.log_model(Scaler(), "scaler", user="ada", input_example=x)
    svc.registry.log_model(Scaler(), "scaler", user="ada", input_example=x, allow_pickle=True)
    with pytest.raises(ValidationError, match="stored with pickle"):
        svc.registry.load("scaler@1", user="bob")
    assert isinstance(svc.registry.load("scaler@1", user="bob", allow_pickle=True), Scaler)
    assert [e.actor for e in svc.audit.log("model:scaler") if e.action == "model.load.pickle"] == [
        "bob"
    ]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s, x: s.registry.get_version("loans@champion"), NotFoundError, "no alias"),
        (lambda s, x: s.registry.get_version("loans@9"), NotFoundError, "no version 9"),
        (lambda s, x: s.registry.get_version("nope@1"), NotFoundError, "no registered model"),
        (lambda s, x: s.registry.get_version("bad name@1"), ValidationError, "model name"),
        (
            lambda s, x: s.registry.set_alias("loans@1", "Latest", user="b"),
            ValidationError,
            "alias",
        ),
        (
            lambda s, x: s.registry.log_model(_model(), "loans", user="a"),
            ValidationError,
            "input_example",
        ),
        (
            lambda s, x: s.registry.log_model(
                _model(),
                "loans",
                user="a",
                input_example=x,
                signature={"inputs": [["age", "int64"], ["debt", "float64"]]},
            ),
            ValidationError,
            r"missing columns \['debt'\]",
        ),
        (
            lambda s, x: s.registry.log_model(
                _model(), "loans", user="a", input_example=x.rename(columns={"age": "years"})
            ),
            ValidationError,
            "cannot predict on input_example",
        ),
        (
            lambda s, x: s.registry.log_model(
                _model(), "loans", user="a", input_example=x, run_id="0" * 32
            ),
            NotFoundError,
            "no run",
        ),
    ],
)
def test_bad_input_is_a_clear_error(svc: Services, call, error, message) -> None:
    x, _ = _data()
    svc.registry.log_model(_model(), "loans", user="ada", input_example=x)
    with pytest.raises(error, match=message):
        call(svc, x)


def test_concurrent_logs_get_distinct_version_numbers(svc: Services) -> None:
    x, _ = _data()
    model = _model()
    errors: list[BaseException] = []

    def log() -> None:
        try:
            svc.registry.log_model(model, "loans", user="w", input_example=x)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=log) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [v.version for v in svc.registry.versions("loans")] == [1, 2, 3, 4]


def test_model_refs_parse() -> None:
    assert str(parse_model_ref("loans@v3")) == "loans@v3"
    assert parse_model_ref("loans@3").version == 3
    assert parse_model_ref("loans@champion").alias == "champion"
    assert parse_model_ref("loans").version is None
    with pytest.raises(ValidationError):
        parse_model_ref("loans@0")


def test_archiving_drops_the_versions_aliases(svc: Services) -> None:
    x, _ = _data()
    svc.registry.log_model(_model(), "loans", user="ada", input_example=x)
    before = svc.registry.get_model("loans").last_update_time
    svc.registry.set_alias("loans@1", "champion", user="bob")
    svc.registry.archive("loans@1", user="bob", reason="retired")
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        svc.registry.get_version("loans@champion")
    model = svc.registry.get_model("loans")
    assert model.aliases == {} and model.last_update_time >= before
    assert '"aliases_removed":["champion"]' in svc.audit.log("model:loans", limit=1)[0].payload


def test_an_onnx_twin_is_kept_only_when_it_predicts_the_same(svc: Services) -> None:
    import onnxruntime as ort

    x, _ = _data()
    version = svc.registry.log_model(
        _model(), "loans", user="ada", input_example=x.head(), reference_data=x
    )
    onnx = version.package["onnx"]
    assert onnx["kept"] and onnx["rows_checked"] == len(x) and onnx["max_abs_diff"] < 1e-4
    session = ort.InferenceSession(svc.registry.load_onnx("loans@1"))
    labels = session.run(None, {session.get_inputs()[0].name: x.to_numpy(dtype="float32")})[0]
    assert (labels == _model().predict(x)).all()

    texts = x.assign(region=["north", "south"] * 40)
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    mixed = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(texts, _data()[1])
    v2 = svc.registry.log_model(mixed, "loans", user="ada", input_example=texts)
    assert v2.package["onnx"] == {"kept": False, "reason": "ONNX export needs numeric inputs only"}
    with pytest.raises(NotFoundError, match="no ONNX twin: ONNX export needs numeric inputs"):
        svc.registry.load_onnx("loans@2")


def test_versions_page_newest_first_with_their_aliases(svc: Services) -> None:
    x, _ = _data()
    for c in (1.0, 0.5, 0.2, 0.1, 0.05):
        svc.registry.log_model(_model(c), "loans", user="ada", input_example=x.head())
    svc.registry.set_alias("loans@2", "champion", user="bob")
    svc.registry.set_alias("loans@5", "challenger", user="bob")
    first = svc.registry.page_versions("loans", limit=2)
    assert [v.version for v in first.items] == [5, 4] and first.total == 5
    assert first.items[0].aliases == ("challenger",)
    second = svc.registry.page_versions("loans", cursor=first.next_cursor, limit=2)
    assert [v.version for v in second.items] == [3, 2] and second.items[1].aliases == ("champion",)
    last = svc.registry.page_versions("loans", cursor=second.next_cursor, limit=2)
    assert [v.version for v in last.items] == [1] and last.next_cursor is None
    with pytest.raises(ValidationError, match="cursor 'nope' is not valid"):
        svc.registry.page_versions("loans", cursor="nope")
    with pytest.raises(ValidationError, match=r"limit must be 1\.\.10000"):
        svc.registry.page_versions("loans", limit=0)
    with pytest.raises(NotFoundError, match="no registered model named 'nope'"):
        svc.registry.page_versions("nope")
