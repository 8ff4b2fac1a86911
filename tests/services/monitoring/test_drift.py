"""DataFrame-level drift: chunks, controls, stored profiles and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shipyard.core.drift import NOT_ENOUGH_DATA
from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.profiles import PROFILE_FORMAT
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.monitoring.drift import drift
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.settings import Settings


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    cities = np.array(["oslo", "rome", "lima", "pune"], dtype=object)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, n),
            "income": rng.lognormal(3, 0.5, n),
            "visits": rng.poisson(3, n),
            "city": rng.choice(cities, n, p=p[::-1] if shift else p),
            "member": rng.random(n) < 0.3,
        }
    )


def test_one_row_per_chunk_and_column_with_the_last_partial_chunk_kept() -> None:
    rng = np.random.default_rng(0)
    ref, cur = _frame(rng, 3000), _frame(rng, 2500)
    result = drift(ref, cur, chunk_size=1000)
    frame = result.to_frame()
    assert len(frame) == 3 * 5 and result.chunks == 3
    assert frame["chunk"].tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert frame.loc[frame.chunk == 2, ["start", "end"]].drop_duplicates().values.tolist() == [
        [2000, 2500]
    ]
    expected = {"chunk", "column", "method", "value", "threshold", "drifted", "p_value"}
    assert expected <= set(frame.columns) and frame["drifted"].dtype == bool
    kinds = dict(zip(frame.column, frame.kind, strict=False))
    assert kinds == {
        "age": "numeric",
        "income": "numeric",
        "visits": "numeric",
        "city": "categorical",
        "member": "categorical",
    }
    whole = drift(ref, cur).to_frame()
    assert whole["chunk"].unique().tolist() == [0] and len(whole) == 5


def test_chunk_statistics_equal_scipy_on_that_chunk() -> None:
    rng = np.random.default_rng(1)
    ref, cur = _frame(rng, 4000), _frame(rng, 3000, shift=0.3)
    frame = drift(ref, cur, chunk_size=1200).to_frame()
    row = frame[(frame.chunk == 1) & (frame.column == "age")].iloc[0]
    part = cur["age"].to_numpy()[1200:2400]
    ks = stats.ks_2samp(ref["age"], part)
    assert row["ks"] == pytest.approx(ks.statistic, abs=1e-9)
    assert row["ks_p_value"] == pytest.approx(ks.pvalue, abs=1e-9)
    w = stats.wasserstein_distance(ref["age"], part) / ref["age"].std(ddof=0)
    assert row["value"] == pytest.approx(w, abs=1e-9) and row["method"] == "wasserstein"
    city = frame[(frame.chunk == 1) & (frame.column == "city")].iloc[0]
    r = ref["city"].value_counts()
    c = cur["city"].iloc[1200:2400].value_counts().reindex(r.index, fill_value=0)
    chi2, p, dof, _ = stats.chi2_contingency(np.vstack([r.values, c.values]))
    assert (city["chi2"], city["chi2_p_value"], city["chi2_dof"]) == pytest.approx((chi2, p, dof))


def test_no_drift_control_random_halves_flag_at_most_the_false_alarm_share() -> None:
    data = _frame(np.random.default_rng(2), 40_000)
    order = np.random.default_rng(3).permutation(len(data))
    ref, cur = data.iloc[order[:20_000]], data.iloc[order[20_000:]].reset_index(drop=True)
    for methods in (None, {"numeric": "ks", "categorical": "chi2"}, {"numeric": "psi"}):
        frame = drift(ref, cur, chunk_size=1000, methods=methods).to_frame()
        assert len(frame) == 20 * 5
        assert frame["drifted"].mean() <= 0.05, methods  # the configured false-alarm share
    shifted = drift(ref, _frame(np.random.default_rng(4), 5000, shift=0.5), chunk_size=1000)
    frame = shifted.to_frame()
    for column in ("age", "city"):
        assert frame[frame.column == column]["drifted"].all()
    assert not frame[frame.column.isin(["income", "member"])]["drifted"].any()
    assert shifted.drift_share == pytest.approx(2 / 5)
    assert shifted.summary()["drifted_columns"] == ["age", "city"]


def test_a_stored_profile_gives_the_same_result_as_the_reference_frame() -> None:
    rng = np.random.default_rng(5)
    ref, cur = _frame(rng, 2000), _frame(rng, 1500, shift=0.2)
    direct = drift(ref, cur, chunk_size=500)
    again = drift(direct.profile.to_dict(), cur, chunk_size=500)
    pd.testing.assert_frame_equal(direct.to_frame(), again.to_frame())
    only = drift(direct.profile, cur, columns=["age"]).to_frame()
    assert only["column"].tolist() == ["age"]


def test_missing_values_unseen_categories_constant_and_all_null_columns() -> None:
    rng = np.random.default_rng(6)
    n = 600
    ref = pd.DataFrame(
        {
            "const": np.full(n, 7.0),
            "empty": np.full(n, np.nan),
            "score": rng.normal(0, 1, n),
            "plan": rng.choice(["a", "b"], n),
        }
    )
    cur = ref.copy()
    cur.loc[:99, "score"] = np.nan
    cur.loc[:149, "plan"] = "new"
    cur["empty"] = rng.normal(0, 1, n)
    frame = drift(ref, cur).to_frame().set_index("column")
    assert frame.loc["score", "missing_share"] == pytest.approx(100 / n)
    assert frame.loc["plan", "unseen"] == ["new"]
    assert frame.loc["plan", "unseen_share"] == pytest.approx(150 / n)
    assert frame.loc["const", "value"] == 0 and frame.loc["const", "state"] == "ok"
    assert frame.loc["empty", "state"] == NOT_ENOUGH_DATA
    assert frame.loc["empty", "reference_missing_share"] == 1.0
    numbers = frame.drop(index="empty")[["value", "ks", "psi", "jensenshannon"]]
    assert not numbers.loc[["const", "score"]].isna().any().any()


def test_windows_below_the_minimum_row_count_are_not_enough_data() -> None:
    rng = np.random.default_rng(7)
    result = drift(_frame(rng, 1000), _frame(rng, 1050, shift=1.0), chunk_size=500)
    frame = result.to_frame()
    last = frame[frame.chunk == 2]
    assert (last["state"] == NOT_ENOUGH_DATA).all() and not last["drifted"].any()
    assert (frame[frame.chunk < 2]["state"] == "drift").any()
    assert result.summary()["per_chunk"][2]["drift_share"] == 0.0


def test_the_domain_classifier_sees_a_joint_change_the_columns_do_not() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(0, 1, 3000)
    ref = pd.DataFrame({"a": a, "b": a + rng.normal(0, 0.3, 3000)})
    a2 = rng.normal(0, 1, 1500)
    cur = pd.DataFrame({"a": a2, "b": -a2 + rng.normal(0, 0.3, 1500)})  # same marginals
    result = drift(ref, cur, multivariate=True)
    assert not result.to_frame()["drifted"].any()
    [joint] = result.multivariate
    assert joint.drifted and joint.value is not None and joint.value > 0.9
    control = drift(ref.iloc[:1500], ref.iloc[1500:].reset_index(drop=True), multivariate=True)
    assert control.multivariate[0].value < 0.55 and not control.multivariate[0].drifted
    with pytest.raises(ValidationError, match="reference rows") as e:
        drift(result.profile, cur, multivariate=True)
    assert e.value.field == "multivariate"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"columns": ["age", "height"]}, "columns", r"missing from the reference: \['height'\]"),
        ({"chunk_size": 0}, "chunk_size", "positive whole number"),
        ({"chunk_size": 2.5}, "chunk_size", "positive whole number"),
        ({"min_rows": 0}, "min_rows", "positive whole number"),
        ({"methods": {"city": "ks"}}, "methods", "does not apply to categorical"),
        ({"thresholds": {"psi": "high"}}, "thresholds", "positive number"),
        ({"columns": "age"}, "columns", "list of column names"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field, message) -> None:
    rng = np.random.default_rng(9)
    with pytest.raises(ValidationError, match=message) as e:
        drift(_frame(rng, 200), _frame(rng, 200), **kwargs)
    assert e.value.field == field


def test_bad_frames_name_the_column() -> None:
    rng = np.random.default_rng(10)
    ref, cur = _frame(rng, 300), _frame(rng, 300)
    with pytest.raises(ValidationError, match=r"missing from the current data: \['city'\]"):
        drift(ref, cur.drop(columns=["city"]))
    mixed = cur.astype({"city": object})
    mixed.loc[5, "city"] = 12
    with pytest.raises(ValidationError, match="column 'city' mixes types") as e:
        drift(ref, mixed)
    assert e.value.field == "city"
    retyped = cur.assign(visits=cur["visits"].astype(str))
    with pytest.raises(ValidationError, match="'visits' is numeric in the reference") as e:
        drift(ref, retyped)
    assert e.value.field == "visits"
    with pytest.raises(ValidationError, match="no rows"):
        drift(ref, cur.iloc[:0])
    with pytest.raises(ValidationError, match="reference must be"):
        drift([1, 2], cur)
    with pytest.raises(ValidationError, match="current must be"):
        drift(ref, "cur.csv")
    dates = ref.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(ValidationError, match="'when' has type"):
        drift(dates, cur.assign(when=pd.Timestamp("2024-01-01")))
    newer = {**drift(ref, cur).profile.to_dict(), "format": PROFILE_FORMAT + 1}
    with pytest.raises(ValidationError, match="newer Shipyard"):
        drift(newer, cur)


# --------------------------------------------------------------------- stored profiles
@pytest.fixture
def svc(tmp_path: Path):
    services = build_services(
        Settings(
            project_dir=tmp_path,
            db_url=f"sqlite:///{tmp_path / 'shipyard.db'}",
            artifacts_url=str(tmp_path / "objects"),
        )
    )
    yield services
    services.close()


def test_profiles_of_dataset_versions_are_stored_for_model_versions(svc: Services) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(11)
    train = _frame(rng, 500)
    svc.catalog.register("loans", train, user="ada")
    x = train[["age", "income"]]
    model = LogisticRegression().fit(x, (train["income"] > 20).astype(int))
    svc.registry.log_model(model, "scorer", user="ada", input_example=x.head())
    profiles = ProfileService(svc.blobs, catalog=svc.catalog, models=svc.registry)
    digest = profiles.attach("scorer@1", "loans@v1", columns=["age", "city"])
    assert profiles.digest_for("scorer@1") == digest
    stored = profiles.for_model("scorer@1")
    assert stored.source == "loans@v1" and list(stored.columns) == ["_proba", "age", "city"]
    features = {k: v for k, v in stored.to_dict()["columns"].items() if k != "_proba"}
    assert features == profiles.compute(train, columns=["age", "city"]).to_dict()["columns"]
    frame = drift(stored, _frame(rng, 400, shift=1.0)).to_frame()  # no output: features only
    scored = _frame(rng, 400).assign(
        _proba=model.predict_proba(_frame(rng, 400)[["age", "income"]])[:, 1]
    )
    assert "_proba" in set(drift(stored, scored).to_frame()["column"])  # with it: compared
    assert frame.set_index("column")["drifted"].to_dict() == {"age": True, "city": True}
    with pytest.raises(NotFoundError, match="no reference profile"):
        svc.registry.log_model(model, "scorer", user="ada", input_example=x.head())
        profiles.digest_for("scorer@2")
    with pytest.raises(NotFoundError):
        profiles.attach("nobody@1", train)
    with pytest.raises(NotFoundError):
        profiles.compute("nothing@v1")
    with pytest.raises(ValidationError, match="reference must be a pandas DataFrame"):
        profiles.compute(42)
