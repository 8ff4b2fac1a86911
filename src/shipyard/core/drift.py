"""Drift statistics of a current window against a reference profile, and their verdicts.

Numeric columns: two-sample Kolmogorov-Smirnov (statistic and p-value), Wasserstein
distance divided by the reference's standard deviation, PSI and Jensen-Shannon distance
on the reference's quantile bins. Categorical columns: the chi-square test of homogeneity
on the 2 x k table of reference and current counts (the reference is a sample too, not
the truth: this is not a goodness-of-fit test), Jensen-Shannon, PSI and L-infinity on the
reference's categories plus one "other/unseen" bucket.

Verdicts compare an effect size with a threshold that does not depend on the sample size
(``DEFAULT_THRESHOLDS``), so that large windows do not flag negligible shifts:

* ``wasserstein`` 0.1 — the mean moved by a tenth of a reference standard deviation (a
  location shift's W1 is the shift itself): half of Cohen's "small" effect;
* ``psi`` 0.2 — the usual credit-scoring rule (< 0.1 stable, 0.1-0.2 moderate, > 0.2 shift);
* ``jensenshannon`` 0.1 — natural-log distance (range 0-0.83, scipy's default base);
* ``linf`` 0.2 — some category's share moved by 20 percentage points.

``ks`` and ``chi2`` are tests: their verdict is a Benjamini-Hochberg adjusted p-value below
the threshold (alpha = 0.05), the false discovery rate controlled across the window's columns.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from shipyard.core.errors import ValidationError
from shipyard.core.profiles import CategoricalProfile, NumericProfile, finite_sorted

__all__ = [
    "ASYMPTOTIC_KS_EN",
    "DEFAULT_METHODS",
    "DEFAULT_MIN_ROWS",
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "NOT_ENOUGH_DATA",
    "PSI_EPSILON",
    "ColumnStats",
    "Verdict",
    "benjamini_hochberg",
    "categorical_stats",
    "check_methods",
    "check_thresholds",
    "chi2_homogeneity",
    "jensenshannon",
    "judge",
    "ks_p_value",
    "ks_wasserstein",
    "numeric_stats",
    "psi",
]

METHODS = {
    "numeric": ("wasserstein", "ks", "psi", "jensenshannon"),
    "categorical": ("jensenshannon", "chi2", "psi", "linf"),
}
DEFAULT_METHODS = {"numeric": "wasserstein", "categorical": "jensenshannon"}
DEFAULT_THRESHOLDS = {
    "wasserstein": 0.1,
    "psi": 0.2,
    "jensenshannon": 0.1,
    "linf": 0.2,
    "ks": 0.05,
    "chi2": 0.05,
}
P_VALUES = {"ks": "ks_p_value", "chi2": "chi2_p_value"}
PSI_EPSILON = 1e-4  # a bin empty on one side counts as this share (PSI stays finite)
DEFAULT_MIN_ROWS = 100  # fewer non-missing values in a window: "not enough data"
NOT_ENOUGH_DATA = "not_enough_data"
EXACT_KS_MAX = 10_000  # scipy's ks_2samp computes exact p-values up to this sample size
ASYMPTOTIC_KS_EN = 100_000  # above: Stephens' corrected limit instead of scipy's series


# ---------------------------------------------------------------------- primitives
def ks_wasserstein(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """The KS statistic and the Wasserstein-1 distance of two sorted, non-empty samples.

    Both are symmetric, so ``u`` is made the smaller sample; the work is then a few passes
    over the larger one (the reference keeps at most ``SAMPLE_SIZE`` values, a window can
    hold millions).
    """
    if u.size > v.size:
        u, v = v, u
    return _ks_statistic(u, v), _wasserstein(u, v)


def _ks_statistic(u: np.ndarray, v: np.ndarray) -> float:
    """max |F_u - F_v| over the data points. On ``[a_k, a_k+1)`` between distinct values of
    ``u``, F_u is constant and F_v monotone, so only F_v's values at both ends matter:
    right at ``a_k`` and just left of ``a_k+1`` (and left of the first value of ``u``)."""
    last = np.append(u[1:] != u[:-1], True)
    a = u[last]
    f_u = (np.flatnonzero(last) + 1) / u.size
    right = np.searchsorted(v, a, side="right") / v.size
    left = np.searchsorted(v, a, side="left") / v.size
    d = max(float(np.max(np.abs(f_u - right))), float(left[0]))
    if a.size > 1:
        d = max(d, float(np.max(np.abs(f_u[:-1] - left[1:]))))
    return d


def _wasserstein(u: np.ndarray, v: np.ndarray) -> float:
    """W1 as the integral of |Q_u(t) - Q_v(t)| over t in [0, 1], with ``u.size <= v.size``.

    Piece ``j`` of Q_v, ``[j/nv, (j+1)/nv)``, starts in piece ``floor(j nu / nv)`` of Q_u;
    at most one breakpoint ``i/nu`` of Q_u falls inside it, whose share is corrected after.
    """
    nu, nv = u.size, v.size
    starts = -(-(np.arange(nu + 1, dtype=np.int64) * nv) // nu)  # ceil(i nv / nu)
    gaps = v - np.repeat(u, np.diff(starts))
    np.abs(gaps, out=gaps)
    total = float(gaps.sum()) / nv
    i = np.arange(1, nu, dtype=np.int64)
    i = i[(i * nv) % nu != 0]
    if i.size:
        j = (i * nv) // nu
        share = ((j + 1) * nu - i * nv) / (nu * nv)
        moved = np.abs(v[j] - u[i]) - np.abs(v[j] - u[i - 1])
        total += float(np.dot(share, moved))
    return total


def ks_p_value(d: float, n1: int, n2: int, u: np.ndarray | None, v: np.ndarray) -> float:
    """The two-sided p-value of KS statistic ``d``, as scipy's ``ks_2samp`` computes it:
    exact when both samples are small and ``u`` is the whole reference, else the
    distribution of the one-sample statistic for ``en = n1 * n2 / (n1 + n2)``.

    Above ``en = ASYMPTOTIC_KS_EN``, scipy's series for that distribution can take most of
    a second per column; there Stephens' corrected limit, ``Q_KS((sqrt(en) + 0.12 +
    0.11 / sqrt(en)) d)``, stays within 0.2 % of it where p matters (tested).
    """
    from scipy import special, stats

    if u is not None and max(n1, n2) <= EXACT_KS_MAX:
        with warnings.catch_warnings():  # scipy falls back to the asymptotic form itself
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(stats.ks_2samp(u, v).pvalue)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = np.round(m * n / (m + n))
    if en > ASYMPTOTIC_KS_EN:
        root = math.sqrt(en)
        return float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * d), 0.0, 1.0))
    return float(np.clip(stats.kstwo.sf(d, en), 0.0, 1.0))


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of two count vectors over the same bins."""
    p = np.clip(_shares(np.asarray(reference, dtype=np.float64)), epsilon, None)
    q = np.clip(_shares(np.asarray(current, dtype=np.float64)), epsilon, None)
    return float(np.sum((q - p) * np.log(q / p)))


def jensenshannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) of two count vectors, as scipy defines it."""
    p = _shares(np.asarray(reference, dtype=np.float64))
    q = _shares(np.asarray(current, dtype=np.float64))
    m = (p + q) / 2.0

    def rel_entr(x: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.where(x > 0, x * np.log(x / m), 0.0)))

    return math.sqrt(max((rel_entr(p) + rel_entr(q)) / 2.0, 0.0))


def chi2_homogeneity(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, int]:
    """Chi-square test of homogeneity on the 2 x k table (statistic, p-value, dof), as
    ``scipy.stats.chi2_contingency`` computes it (Yates' correction when dof is 1);
    categories empty on both sides are left out."""
    from scipy import stats

    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof <= 0 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, max(dof, 0)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if dof == 1:
        diff = expected - table
        table = table + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, dof)), dof


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``)."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.clip(adjusted, 0.0, 1.0)
    return out


# ---------------------------------------------------------------------- one column
@dataclass(frozen=True)
class ColumnStats:
    """Every statistic of one column in one window, before any verdict."""

    kind: str  # "numeric" | "categorical"
    rows: int  # values in the window, missing included
    n: int  # non-missing values in the window
    reference_n: int
    missing_share: float
    reference_missing_share: float
    statistics: Mapping[str, float] = field(default_factory=dict)
    unseen_share: float = 0.0  # share of the window's values in categories the reference lacks
    unseen: tuple[str, ...] = ()  # up to ten of them


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _scale(profile: NumericProfile) -> float:
    """What divides the Wasserstein distance: the reference's standard deviation; a constant
    reference has none, so its |mean| (or 1 at zero) keeps a moved constant visible."""
    if profile.std > 0:
        return profile.std
    return abs(profile.mean) or 1.0


def numeric_stats(profile: NumericProfile, values: np.ndarray) -> ColumnStats:
    """KS, normalised Wasserstein, PSI and Jensen-Shannon of ``values`` against ``profile``."""
    v, missing = finite_sorted(values)
    rows = int(v.size + missing)
    base = ColumnStats(
        "numeric",
        rows,
        int(v.size),
        profile.n,
        _share(missing, rows),
        _share(profile.missing, profile.n + profile.missing),
    )
    if v.size == 0 or profile.n == 0:
        return base
    d, w = ks_wasserstein(profile.sample, v)
    exact = profile.sample if profile.sample_exact else None
    edges = np.asarray(profile.edges, dtype=np.float64)
    inner = np.searchsorted(v, edges, side="right")
    current = np.diff(np.concatenate(([0], inner, [v.size])))
    reference = np.asarray(profile.counts, dtype=np.float64)
    stats = {
        "ks": d,
        "ks_p_value": ks_p_value(d, profile.n, int(v.size), exact, v),
        "wasserstein": w / _scale(profile),
        "psi": psi(reference, current),
        "jensenshannon": jensenshannon(reference, current),
    }
    return replace(base, statistics=stats)


def categorical_stats(
    profile: CategoricalProfile, counts: Mapping[str, int], missing: int
) -> ColumnStats:
    """Chi-square homogeneity, Jensen-Shannon, PSI and L-infinity of category ``counts``
    against ``profile``, on the reference's categories plus one "other/unseen" bucket."""
    n = int(sum(counts.values()))
    rows = n + int(missing)
    names = list(profile.categories)
    current = np.array([counts.get(c, 0) for c in names] + [0], dtype=np.float64)
    current[-1] = n - current[:-1].sum()
    unseen = sorted(c for c in counts if c not in profile.categories and counts[c] > 0)
    base = ColumnStats(
        "categorical",
        rows,
        n,
        profile.n,
        _share(int(missing), rows),
        _share(profile.missing, profile.n + profile.missing),
        unseen_share=_share(sum(counts[c] for c in unseen), n),
        unseen=tuple(unseen[:10]),
    )
    if n == 0 or profile.n == 0:
        return base
    reference = np.array([*profile.categories.values(), profile.other], dtype=np.float64)
    chi2, p, dof = chi2_homogeneity(reference, current)
    stats = {
        "chi2": chi2,
        "chi2_p_value": p,
        "chi2_dof": float(dof),
        "jensenshannon": jensenshannon(reference, current),
        "psi": psi(reference, current),
        "linf": float(np.max(np.abs(_shares(reference) - _shares(current)))),
    }
    return replace(base, statistics=stats)


# ---------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """One column in one window: the chosen method's value against its threshold."""

    column: str
    method: str
    value: float | None  # None when there is not enough data
    threshold: float
    drifted: bool
    state: str  # "ok" | "drift" | "not_enough_data"
    stats: ColumnStats
    p_value: float | None = None
    p_adjusted: float | None = None


def check_methods(kinds: Mapping[str, str], methods: Mapping[str, str] | None) -> dict[str, str]:
    """The method of each column: ``methods`` maps a column or a kind (``numeric``,
    ``categorical``) to a method; the rest get ``DEFAULT_METHODS``."""
    chosen: dict[str, str] = {}
    given = dict(methods or {})
    for key in given:
        if key not in kinds and key not in METHODS:
            raise ValidationError(
                f"methods names {key!r}, which is neither a compared column nor a kind "
                f"({', '.join(METHODS)})",
                field="methods",
            )
    for column, kind in kinds.items():
        method = given.get(column, given.get(kind, DEFAULT_METHODS[kind]))
        if method not in METHODS[kind]:
            raise ValidationError(
                f"method {method!r} does not apply to {kind} column {column!r}; "
                f"choose one of {', '.join(METHODS[kind])}",
                field="methods",
            )
        chosen[column] = method
    return chosen


def check_thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """``DEFAULT_THRESHOLDS`` with ``thresholds`` (method → positive number) over them."""
    limits = dict(DEFAULT_THRESHOLDS)
    for method, limit in (thresholds or {}).items():
        if method not in DEFAULT_THRESHOLDS:
            raise ValidationError(
                f"thresholds names {method!r}; methods are {', '.join(DEFAULT_THRESHOLDS)}",
                field="thresholds",
            )
        ok = isinstance(limit, int | float) and not isinstance(limit, bool)
        if not ok or not (0 < float(limit) < math.inf):
            raise ValidationError(
                f"threshold of {method!r} must be a positive number, got {limit!r}",
                field="thresholds",
            )
        limits[method] = float(limit)
    return limits


def judge(
    stats: Mapping[str, ColumnStats],
    methods: Mapping[str, str],
    thresholds: Mapping[str, float] | None = None,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> list[Verdict]:
    """The verdict of every column of one window (p-value methods adjusted together)."""
    limits = check_thresholds(thresholds)
    enough = {c: s.n >= min_rows and s.reference_n >= min_rows for c, s in stats.items()}
    tested = [c for c in stats if enough[c] and methods[c] in P_VALUES]
    raw = [stats[c].statistics[P_VALUES[methods[c]]] for c in tested]
    adjusted = dict(zip(tested, benjamini_hochberg(raw).tolist(), strict=True))
    out = []
    for column, s in stats.items():
        method = methods[column]
        limit = float(limits[method])
        if not enough[column]:
            out.append(Verdict(column, method, None, limit, False, NOT_ENOUGH_DATA, s))
            continue
        value = float(s.statistics[method])
        p = s.statistics.get(P_VALUES.get(method, ""))
        q = adjusted.get(column)
        drifted = bool(q < limit) if q is not None else value > limit
        state = "drift" if drifted else "ok"
        out.append(Verdict(column, method, value, limit, drifted, state, s, p, q))
    return out
