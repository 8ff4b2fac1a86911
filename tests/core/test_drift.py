"""Drift statistics against scipy on the same data, and the verdict rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from shipyard.core import drift
from shipyard.core.errors import ValidationError
from shipyard.core.profiles import (
    PROFILE_FORMAT,
    SAMPLE_SIZE,
    Profile,
    categorical_profile,
    numeric_profile,
)

TOL = 1e-9


def _pair(rng: np.random.Generator, n1: int, n2: int, decimals: int | None = None):
    u = rng.normal(0, 2, n1)
    v = rng.normal(0.3, 2.5, n2)
    if decimals is not None:  # ties inside and across the samples
        u, v = np.round(u, decimals), np.round(v, decimals)
    return u, v


@pytest.mark.parametrize(
    ("n1", "n2", "decimals"),
    [(40, 60, None), (500, 500, 1), (3000, 7000, None), (8000, 9000, 0), (15000, 12000, 2)],
)
def test_ks_and_wasserstein_match_scipy(n1: int, n2: int, decimals: int | None) -> None:
    u, v = _pair(np.random.default_rng(n1), n1, n2, decimals)
    prof = numeric_profile(u)
    assert prof.sample_exact
    got = drift.numeric_stats(prof, v).statistics
    ks = stats.ks_2samp(u, v)
    assert got["ks"] == pytest.approx(ks.statistic, abs=TOL)
    assert got["ks_p_value"] == pytest.approx(ks.pvalue, abs=TOL, rel=TOL)
    w = stats.wasserstein_distance(u, v)
    assert got["wasserstein"] == pytest.approx(w / np.std(u), abs=TOL, rel=TOL)


def test_the_primitive_matches_scipy_in_both_argument_orders() -> None:
    u, v = _pair(np.random.default_rng(9), 700, 300, 1)
    for a, b in ((u, v), (v, u)):
        d, w = drift.ks_wasserstein(np.sort(a), np.sort(b))
        assert d == pytest.approx(stats.ks_2samp(a, b).statistic, abs=TOL)
        assert w == pytest.approx(stats.wasserstein_distance(a, b), abs=TOL, rel=TOL)


def test_large_references_keep_a_quantile_sample_close_to_the_full_data() -> None:
    rng = np.random.default_rng(5)
    u, v = rng.normal(0, 1, 200_000), rng.normal(0.05, 1, 50_000)
    prof = numeric_profile(u)
    assert not prof.sample_exact and prof.sample.size == SAMPLE_SIZE
    got = drift.numeric_stats(prof, v).statistics
    full = stats.ks_2samp(u, v)
    assert got["ks"] == pytest.approx(full.statistic, abs=2 / SAMPLE_SIZE)
    assert got["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(u, v) / np.std(u), abs=1e-3
    )
    # the asymptotic p-value of scipy's own mode, with the real sample sizes
    want = stats.kstwo.sf(got["ks"], np.round(200_000 * 50_000 / 250_000))
    assert got["ks_p_value"] == pytest.approx(want, rel=TOL)


@pytest.mark.parametrize("en", [150_000, 500_000, 5_000_000])
def test_large_window_p_values_stay_within_two_tenths_of_a_percent_of_scipy(en: int) -> None:
    assert en > drift.ASYMPTOTIC_KS_EN
    for z in (0.5, 1.0, 1.3, 1.6, 2.0):
        d = z / np.sqrt(en)
        want = stats.kstwo.sf(d, en)
        got = drift.ks_p_value(d, 2 * en, 2 * en, None, np.empty(0))
        assert got == pytest.approx(want, rel=2e-3)


def test_psi_and_jensenshannon_on_reference_quantile_bins() -> None:
    rng = np.random.default_rng(2)
    u, v = rng.normal(0, 1, 5000), rng.normal(0.4, 1, 3000)
    prof = numeric_profile(u, bins=10)
    edges = np.quantile(u, np.linspace(0, 1, 11)[1:-1])
    assert prof.edges == pytest.approx(tuple(edges), rel=1e-12, abs=1e-12)
    ref = np.histogram(u, np.concatenate(([-np.inf], edges, [np.inf])))[0]
    cur = np.histogram(v, np.concatenate(([-np.inf], edges, [np.inf])))[0]
    assert prof.counts == tuple(ref)  # right-closed bins: no value of u sits on an edge here
    got = drift.numeric_stats(prof, v).statistics
    p, q = ref / ref.sum(), cur / cur.sum()
    assert got["psi"] == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=TOL)
    assert got["jensenshannon"] == pytest.approx(scipy_js(ref, cur), abs=TOL)


def test_psi_smooths_empty_bins() -> None:
    value = drift.psi(np.array([10, 0, 5]), np.array([0, 10, 5]))
    assert np.isfinite(value) and value > 1


def _table(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    t = np.vstack([ref, cur])
    return t[:, t.sum(axis=0) > 0]


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ({"a": 50, "b": 30, "c": 20}, {"a": 20, "b": 30, "c": 45}),
        ({"a": 50, "b": 30}, {"a": 40, "b": 45}),  # dof 1: Yates' correction, as scipy
        ({"a": 50, "b": 30, "c": 5}, {"a": 40, "b": 45, "z": 7}),  # c vanished, z unseen
        ({"a": 900, "b": 100}, {"a": 450, "b": 50}),  # identical shares
    ],
)
def test_chi_square_is_a_test_of_homogeneity_as_scipy_computes_it(ref, cur) -> None:
    prof = categorical_profile(ref, missing=3)
    got = drift.categorical_stats(prof, cur, missing=2)
    names = list(prof.categories)
    r = np.array([ref[c] for c in names] + [0])
    c = np.array([cur.get(k, 0) for k in names] + [sum(v for k, v in cur.items() if k not in ref)])
    chi2, p, dof, _ = stats.chi2_contingency(_table(r, c))
    assert got.statistics["chi2"] == pytest.approx(chi2, abs=TOL, rel=TOL)
    assert got.statistics["chi2_p_value"] == pytest.approx(p, abs=TOL, rel=TOL)
    assert got.statistics["chi2_dof"] == dof
    assert got.statistics["jensenshannon"] == pytest.approx(scipy_js(r, c), abs=TOL)
    linf = np.max(np.abs(r / r.sum() - c / c.sum()))
    assert got.statistics["linf"] == pytest.approx(linf, abs=TOL)
    assert got.missing_share == pytest.approx(2 / (sum(cur.values()) + 2))


def test_unseen_categories_are_reported_and_counted_in_the_other_bucket() -> None:
    prof = categorical_profile({"a": 60, "b": 40}, missing=0)
    got = drift.categorical_stats(prof, {"a": 50, "b": 30, "zz": 15, "yy": 5}, missing=0)
    assert got.unseen == ("yy", "zz") and got.unseen_share == pytest.approx(0.2)
    assert got.statistics["chi2_p_value"] < 1e-4  # p > 0 is not guaranteed, but no NaN
    assert np.isfinite(list(got.statistics.values())).all()


def test_top_k_keeps_the_most_frequent_and_counts_the_rest() -> None:
    prof = categorical_profile({"a": 5, "b": 9, "c": 1, "d": 9}, missing=1, top_k=2)
    assert dict(prof.categories) == {"b": 9, "d": 9} and prof.other == 6 and prof.distinct == 4


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(1).uniform(0, 0.2, 40)
    assert drift.benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p), abs=1e-12)
    assert drift.benjamini_hochberg([]).size == 0


def test_constant_and_all_null_columns_give_no_nan(recwarn: pytest.WarningsRecorder) -> None:
    const = numeric_profile(np.full(500, 3.0))
    assert const.std == 0 and const.edges == (3.0,)
    same = drift.numeric_stats(const, np.full(200, 3.0)).statistics
    assert same["ks"] == 0 and same["wasserstein"] == 0 and same["psi"] == pytest.approx(0)
    moved = drift.numeric_stats(const, np.full(200, 4.5)).statistics
    assert moved["wasserstein"] == pytest.approx(0.5) and moved["ks"] == 1
    assert all(np.isfinite(v) for v in [*same.values(), *moved.values()])
    empty = numeric_profile(np.full(50, np.nan))
    assert (empty.n, empty.missing) == (0, 50)
    got = drift.numeric_stats(const, np.array([np.nan, np.inf, None], dtype=float))
    assert got.statistics == {} and got.missing_share == 1.0
    [v] = drift.judge({"x": got}, {"x": "wasserstein"})
    assert (v.state, v.drifted, v.value) == (drift.NOT_ENOUGH_DATA, False, None)
    assert not recwarn.list


def test_verdicts_by_effect_size_and_by_adjusted_p_values() -> None:
    rng = np.random.default_rng(3)
    ref = numeric_profile(rng.normal(0, 1, 5000))
    columns = {
        "same": drift.numeric_stats(ref, rng.normal(0, 1, 5000)),
        "moved": drift.numeric_stats(ref, rng.normal(0.5, 1, 5000)),
        "few": drift.numeric_stats(ref, rng.normal(3, 1, 20)),
    }
    by = {v.column: v for v in drift.judge(columns, dict.fromkeys(columns, "wasserstein"))}
    assert by["moved"].drifted and by["moved"].state == "drift"
    assert not by["same"].drifted and by["same"].state == "ok" and by["same"].p_value is None
    assert by["few"].state == drift.NOT_ENOUGH_DATA
    by = {v.column: v for v in drift.judge(columns, dict.fromkeys(columns, "ks"), min_rows=10)}
    raw = [columns[c].statistics["ks_p_value"] for c in ("same", "moved", "few")]
    adjusted = stats.false_discovery_control(raw)
    for name, q in zip(("same", "moved", "few"), adjusted, strict=True):
        assert by[name].p_adjusted == pytest.approx(q, abs=1e-12)
        assert by[name].drifted == (q < 0.05)
    assert by["moved"].drifted and not by["same"].drifted


def test_methods_and_thresholds_are_checked() -> None:
    kinds = {"age": "numeric", "city": "categorical"}
    assert drift.check_methods(kinds, {"numeric": "psi"}) == {
        "age": "psi",
        "city": "jensenshannon",
    }
    with pytest.raises(ValidationError, match="'chi2' does not apply to numeric column 'age'"):
        drift.check_methods(kinds, {"age": "chi2"})
    with pytest.raises(ValidationError, match="'income'") as e:
        drift.check_methods(kinds, {"income": "psi"})
    assert e.value.field == "methods"
    with pytest.raises(ValidationError, match="positive number") as e:
        drift.check_thresholds({"psi": -1})
    assert e.value.field == "thresholds"
    with pytest.raises(ValidationError, match="'kl'"):
        drift.check_thresholds({"kl": 0.1})


def test_profiles_round_trip_through_json_and_refuse_newer_formats() -> None:
    rng = np.random.default_rng(4)
    prof = Profile(
        rows=300,
        columns={
            "x": numeric_profile(np.append(rng.normal(0, 1, 299), np.nan)),
            "c": categorical_profile({"a": 2, "b": 1}, missing=297),
        },
        source="loans@v2",
    )
    back = Profile.from_dict(json.loads(json.dumps(prof.to_dict())))
    assert back.to_dict() == prof.to_dict() and back.format == PROFILE_FORMAT
    newer = {**prof.to_dict(), "format": PROFILE_FORMAT + 1}
    with pytest.raises(ValidationError, match="newer Shipyard") as e:
        Profile.from_dict(newer)
    assert e.value.field == "format"
    with pytest.raises(ValidationError, match="malformed"):
        Profile.from_dict({"format": 1, "rows": 3, "columns": {"x": {"kind": "image"}}})
    with pytest.raises(ValidationError, match="bins"):
        numeric_profile(np.ones(3), bins=1)
