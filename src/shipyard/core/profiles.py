"""Reference profiles: what monitoring keeps of a reference table instead of its rows.

A numeric column keeps quantile bin edges and counts, moments, and a sorted sample of at
most ``SAMPLE_SIZE`` values: the values themselves when the column is that small (so KS and
Wasserstein against it are exact), else the values at evenly spaced ranks (an empirical
distribution within ``1/SAMPLE_SIZE`` of the reference's in KS distance). A categorical
column keeps its ``top_k`` category counts and one count for the rest. Profiles carry
``PROFILE_FORMAT``; a reader refuses a newer format instead of misreading it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.core.errors import ValidationError

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_TOP_K",
    "PROFILE_FORMAT",
    "SAMPLE_SIZE",
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "Profile",
    "categorical_profile",
    "finite_sorted",
    "numeric_profile",
]

PROFILE_FORMAT = 1
DEFAULT_BINS = 10
DEFAULT_TOP_K = 100
SAMPLE_SIZE = 20_000


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """A numeric column: ``counts[i]`` values in ``(edges[i-1], edges[i]]`` (open ends)."""

    n: int  # finite values
    missing: int  # NaN, None, ±inf
    mean: float
    std: float  # population standard deviation (ddof=0)
    min: float
    max: float
    edges: tuple[float, ...]
    counts: tuple[int, ...]  # len(edges) + 1
    sample: np.ndarray = field(repr=False)  # sorted float64
    sample_exact: bool = True

    kind = "numeric"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "missing": self.missing,
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            "max": self.max,
            "edges": list(self.edges),
            "counts": list(self.counts),
            "sample": self.sample.tolist(),
            "sample_exact": self.sample_exact,
        }


@dataclass(frozen=True)
class CategoricalProfile:
    """A categorical column: its ``top_k`` most frequent categories and the rest as one count."""

    n: int  # non-missing values
    missing: int
    categories: Mapping[str, int]
    other: int  # values of categories beyond the top k
    distinct: int

    kind = "categorical"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "missing": self.missing,
            "categories": dict(self.categories),
            "other": self.other,
            "distinct": self.distinct,
        }


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class Profile:
    """The reference profile of a table: one entry per column, and the row count."""

    rows: int
    columns: Mapping[str, ColumnProfile]
    source: str = ""  # where it came from, e.g. ``loans@v2`` or ``DataFrame``
    format: int = PROFILE_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "source": self.source,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Profile:
        """Read a profile written by ``to_dict``; a newer format is refused by name."""
        if not isinstance(body, Mapping) or not isinstance(body.get("format"), int):
            raise ValidationError(
                "a reference profile is a mapping with an integer 'format'", field="format"
            )
        if body["format"] > PROFILE_FORMAT:
            raise ValidationError(
                f"the reference profile has format {body['format']}, written by a newer "
                f"Shipyard; this one reads formats up to {PROFILE_FORMAT}: upgrade Shipyard "
                "or compute the profile again",
                field="format",
            )
        try:
            columns = {str(k): _column_from_dict(v) for k, v in body["columns"].items()}
            return cls(int(body["rows"]), columns, str(body.get("source", "")), body["format"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValidationError(
                f"the reference profile is malformed ({type(e).__name__}: {e})", field="profile"
            ) from None


def _column_from_dict(body: Mapping[str, Any]) -> ColumnProfile:
    if body["kind"] == "numeric":
        return NumericProfile(
            n=int(body["n"]),
            missing=int(body["missing"]),
            mean=float(body["mean"]),
            std=float(body["std"]),
            min=float(body["min"]),
            max=float(body["max"]),
            edges=tuple(float(e) for e in body["edges"]),
            counts=tuple(int(c) for c in body["counts"]),
            sample=np.asarray(body["sample"], dtype=np.float64),
            sample_exact=bool(body["sample_exact"]),
        )
    if body["kind"] == "categorical":
        return CategoricalProfile(
            n=int(body["n"]),
            missing=int(body["missing"]),
            categories={str(k): int(v) for k, v in body["categories"].items()},
            other=int(body["other"]),
            distinct=int(body["distinct"]),
        )
    raise ValueError(f"unknown column kind {body['kind']!r}")


def finite_sorted(values: np.ndarray) -> tuple[np.ndarray, int]:
    """The finite values of ``values`` as sorted float64, and how many were not finite."""
    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x)
    kept = x if bool(ok.all()) else x[ok]
    return np.sort(kept), int(x.size - kept.size)


def _sorted_quantiles(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(x, q)`` (linear interpolation) of an already sorted ``x``, without
    numpy's partition pass over the whole column."""
    at = q * (x.size - 1)
    lo = np.floor(at).astype(np.int64)
    hi = np.minimum(lo + 1, x.size - 1)
    t = at - lo
    a, b = x[lo], x[hi]
    return np.where(t < 0.5, a + (b - a) * t, b - (b - a) * (1 - t))


def numeric_profile(
    values: np.ndarray, *, bins: int = DEFAULT_BINS, sample_size: int = SAMPLE_SIZE
) -> NumericProfile:
    """The profile of a numeric column; non-finite values count as missing."""
    if bins < 2:
        raise ValidationError(f"bins must be at least 2, got {bins}", field="bins")
    x, missing = finite_sorted(values)
    n = int(x.size)
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        return NumericProfile(0, missing, 0.0, 0.0, 0.0, 0.0, (), (0,), empty, True)
    # Interior cut points at the reference's quantiles; ties collapse (a constant column
    # has one edge, so two bins: its value and anything above).
    edges = np.unique(_sorted_quantiles(x, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    counts = np.diff(np.concatenate(([0], np.searchsorted(x, edges, side="right"), [n])))
    if n <= sample_size:
        sample, exact = x, True
    else:
        sample, exact = x[np.linspace(0, n - 1, sample_size).round().astype(np.int64)], False
    mean = float(x.mean())
    std = float(np.sqrt(np.mean((x - mean) ** 2)))
    return NumericProfile(
        n=n,
        missing=missing,
        mean=mean,
        std=std if math.isfinite(std) else 0.0,
        min=float(x[0]),
        max=float(x[-1]),
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
        sample=sample.copy(),
        sample_exact=exact,
    )


def categorical_profile(
    counts: Mapping[str, int], missing: int, *, top_k: int = DEFAULT_TOP_K
) -> CategoricalProfile:
    """The profile of a categorical column from its category counts (missing apart)."""
    if top_k < 1:
        raise ValidationError(f"top_k must be at least 1, got {top_k}", field="top_k")
    ranked = sorted(((str(k), int(v)) for k, v in counts.items() if v > 0), key=_by_count)
    kept = dict(ranked[:top_k])
    total = sum(v for _, v in ranked)
    return CategoricalProfile(
        n=total,
        missing=int(missing),
        categories=kept,
        other=total - sum(kept.values()),
        distinct=len(ranked),
    )


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])
