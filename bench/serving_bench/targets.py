"""The targets, judged from the figures: [target, Shipyard, reference, figure, result] rows."""

from __future__ import annotations

from typing import Any

from .common import (
    TARGET_CANARY,
    TARGET_OF_FASTAPI,
    TARGET_P99_S,
    TARGET_RATE,
    TARGET_X_BENTOML,
    TARGET_X_MLFLOW,
)
from .report import ms, num, rps


def _judge(ok: bool | None) -> str:
    return "not judged" if ok is None else ("PASS" if ok else "MISSED")


class _Rows(list[list[str]]):
    def ratio(self, label: str, sy: Any, ref: Any, ref_label: str, want: float) -> None:
        """Shipyard's req/s over the reference's, judged against ``want``."""
        value = sy / ref if sy and ref else None
        self.append(
            [
                label,
                f"{num(sy)} req/s",
                f"{ref_label} {num(ref)} req/s",
                "—" if value is None else f"{value:.2f}x",
                _judge(None if value is None else value >= want),
            ]
        )

    def info(self, *args: Any) -> None:
        """The same as ``ratio``, shown but not judged."""
        self.ratio(*args)
        self[-1][-1] = "info"


def _lr_ratios(rows: _Rows, lr: dict[str, Any], workers: list[int]) -> None:
    sy1 = rps(lr, "shipyard-1", 1, "invocations")
    mlflows = [(rps(lr, k, 1), k) for k in ("mlflow", "mlflow-nosig")]
    fastest, which = max(((v, k) for v, k in mlflows if v), default=(None, "mlflow"))
    rows.ratio(
        f">= {TARGET_X_MLFLOW:g}x MLflow (its faster setup), LR 1 row",
        sy1,
        fastest,
        "MLflow" + (", no signature," if which == "mlflow-nosig" else ""),
        TARGET_X_MLFLOW,
    )
    rows.ratio(
        f">= {TARGET_X_BENTOML:g}x BentoML, LR 1 row",
        sy1,
        rps(lr, "bentoml", 1),
        "BentoML",
        TARGET_X_BENTOML,
    )
    rows.info(
        "  info: vs BentoML with adaptive batching",
        sy1,
        rps(lr, "bentoml-batched", 1),
        "BentoML batched",
        TARGET_X_BENTOML,
    )
    for n in workers:
        rows.ratio(
            f">= {TARGET_OF_FASTAPI:.0%} of bare FastAPI, LR 1 row, {n} worker{'s' * (n > 1)}",
            rps(lr, f"shipyard-{n}", 1, "invocations"),
            rps(lr, f"fastapi-{n}", 1),
            "FastAPI",
            TARGET_OF_FASTAPI,
        )


def _rf_ratios(rows: _Rows, rf: dict[str, Any]) -> None:
    """Judged on the default path (the ONNX twin, if the version has one); the scikit-learn
    path with batching (``--no-onnx``) next to it, so batching alone can be seen."""
    bento = rps(rf, "bentoml-batched", 1)
    rows.ratio(
        ">= BentoML with batching, RF 1 row (default: ONNX twin)",
        rps(rf, "shipyard-1", 1, "invocations"),
        bento,
        "BentoML batched",
        1.0,
    )
    rows.info(
        "  info: the same on the sklearn path, batching (--no-onnx)",
        rps(rf, "shipyard-1-sklearn", 1, "invocations"),
        bento,
        "BentoML batched",
        1.0,
    )


def _p99_row(lr: dict[str, Any], rate: float) -> list[str]:
    fr = (lr.get("shipyard-1") or {}).get("fixed_rate") or {}
    p99 = fr.get("p99_s")
    return [
        f"p99 < {TARGET_P99_S * 1000:.0f} ms at {TARGET_RATE} req/s, LR 1 row",
        f"p99 {ms(p99)}" if p99 else fr.get("skipped", "—"),
        f"measured at {rate:,.0f} req/s" if rate != TARGET_RATE else "",
        "",
        _judge(
            None
            if p99 is None or rate != TARGET_RATE
            else p99 < TARGET_P99_S and not fr.get("errors")
        ),
    ]


def _canary_row(lr: dict[str, Any]) -> list[str]:
    plain = rps(lr, "shipyard-1", 1, "invocations")
    canary = rps(lr, "shipyard-1-canary", 1, "invocations")
    loss = 1 - canary / plain if plain and canary else None
    return [
        f"canary overhead < {TARGET_CANARY:.0%}, LR 1 row, 1 worker",
        f"{num(canary)} req/s with canary",
        f"without {num(plain)} req/s",
        "—" if loss is None else f"{loss:+.1%}",
        _judge(None if loss is None else loss < TARGET_CANARY),
    ]


def targets(results: dict[str, Any], opts: Any) -> list[list[str]]:
    """[target, Shipyard, reference, figure, result] rows."""
    lr, rf = results.get("lr", {}), results.get("rf", {})
    rows = _Rows()
    _lr_ratios(rows, lr, opts.workers)
    _rf_ratios(rows, rf)
    rows.append(_p99_row(lr, opts.rate))
    rows.append(_canary_row(lr))
    return list(rows)
