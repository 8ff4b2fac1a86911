"""Quality gates: recompute every number on a holdout dataset version, compare with the
policy's thresholds, store the evidence on the version, move its status (all audited).

Nothing the training run logged is trusted: the model is loaded (verified) and scored here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.models import ModelRef
from shipyard.services.registry.policy import LOWER_IS_BETTER, Gate, Policy

__all__ = ["GateRunner", "score"]


def score(metric: str, model: Any, x: Any, y: Any) -> float:
    """A scikit-learn metric of ``model`` on (x, y)."""
    from sklearn import metrics as m

    if metric in ("roc_auc", "log_loss"):
        if not hasattr(model, "predict_proba"):
            raise ValidationError(f"{metric} needs a model with predict_proba", field="metric")
        proba = model.predict_proba(x)
        if metric == "log_loss":
            return float(m.log_loss(y, proba))
        return float(
            m.roc_auc_score(y, proba[:, 1] if proba.shape[1] == 2 else proba, multi_class="ovr")
        )
    predicted = model.predict(x)
    simple: dict[str, Callable[[Any, Any], float]] = {
        "accuracy": m.accuracy_score,
        "f1": m.f1_score,
        "precision": m.precision_score,
        "recall": m.recall_score,
        "r2": m.r2_score,
        "mae": m.mean_absolute_error,
        "mse": m.mean_squared_error,
    }
    if metric == "rmse":
        return math.sqrt(float(m.mean_squared_error(y, predicted)))
    return float(simple[metric](y, predicted))


class GateRunner:
    """One gate run of one version: what it needs and what it found."""

    def __init__(self, registry: Any, catalog: Any, policy: Policy, ref: ModelRef, user: str):
        self.registry, self.catalog, self.policy, self.user = registry, catalog, policy, user
        self.version = registry.get_version(ref)
        self.model = registry.load(ModelRef(ref.name, version=self.version.version), user=user)
        self.holdout_ref = ""

    def holdout(self, holdout: str | None, target: str | None) -> tuple[Any, Any, Any, str]:
        ref = holdout or self.policy.holdout
        label = target or self.policy.target
        if not ref or not label:
            raise ValidationError(
                "gates need a holdout dataset version and its label column: --holdout REF "
                "--target COLUMN, or holdout/target in the release policy",
                field="holdout",
            )
        data_version = self.catalog.get_version(ref)
        if data_version.ref in self.training_refs():
            raise ValidationError(
                f"holdout {data_version.ref} was read by {self.version.ref}'s training: gates "
                "must score data the model has not seen",
                field="holdout",
            )
        frame = self.catalog.load_frame(data_version.ref)
        columns = [c for c, _ in self.version.signature.inputs]
        missing = [c for c in [*columns, label] if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"holdout {data_version.ref} has no column(s) {missing} that "
                f"{self.version.ref} needs",
                field="holdout",
            )
        self.holdout_ref = data_version.ref
        return frame, frame[columns], frame[label], data_version.ref

    def evaluate(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        handler = getattr(self, f"_{gate.kind}")
        result: dict[str, Any] = handler(gate, frame, x, y)
        return {"gate": gate.label, "kind": gate.kind, **result}

    def training_refs(self) -> list[str]:
        """Dataset versions read by the training run and its parents (a pipeline run)."""
        chain = self.registry.tracking.run_chain(self.version.run_id)
        return [i.ref for run in chain for i in self.catalog.inputs_of_run(run.run_id)]

    def _metric(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        value = score(gate.name, self.model, x, y)
        low, high = gate.params.get("min"), gate.params.get("max")
        passed = (low is None or value >= low) and (high is None or value <= high)
        return {"value": value, "threshold": gate.params, "passed": passed}

    def _baseline(self) -> Any:
        """What a candidate is compared with: the champion if it is an approved other
        version, else the latest approved other version (never the version under test)."""
        from shipyard.core.models import VersionStatus

        try:
            champion = self.registry.get_version(f"{self.version.name}@champion")
            if champion.status == VersionStatus.APPROVED and champion.version != (
                self.version.version
            ):
                return champion
        except NotFoundError:
            pass
        approved = [
            v
            for v in self.registry.versions(self.version.name)
            if v.status == VersionStatus.APPROVED and v.version != self.version.version
        ]
        return approved[-1] if approved else None

    def _vs_champion(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        baseline = self._baseline()
        if baseline is None:
            return {"value": None, "passed": True, "note": "no approved champion yet"}
        columns = [c for c, _ in baseline.signature.inputs]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"gate {gate.label}: the holdout lacks {missing}, inputs of {baseline.ref}",
                field="holdout",
            )
        ref = ModelRef(baseline.name, version=baseline.version)
        theirs = score(gate.name, self.registry.load(ref, user=self.user), frame[columns], y)
        ours = score(gate.name, self.model, x, y)
        drop = ours - theirs if gate.name in LOWER_IS_BETTER else theirs - ours
        return {
            "value": ours,
            "champion": {
                "version": baseline.version,
                "value": theirs,
                "aliases": list(baseline.aliases),
            },
            "drop": drop,
            "threshold": gate.params,
            "passed": drop <= gate.params["max_drop"],
        }

    def _fairness(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        from fairlearn import metrics as fm
        from sklearn.metrics import accuracy_score

        column = gate.params["sensitive"]
        if column not in frame.columns:
            raise ValidationError(
                f"gate {gate.label}: the holdout has no sensitive column {column!r}",
                field="sensitive",
            )
        labels = set(y.dropna().unique().tolist())
        if not labels <= {0, 1}:
            raise ValidationError(
                f"gate {gate.label}: fairness measures need 0/1 labels (1 = the favourable "
                f"outcome); the target holds {sorted(map(str, labels))[:5]}",
                field="target",
            )
        predicted = self.model.predict(x)
        measure = getattr(fm, gate.name)
        value = float(measure(y, predicted, sensitive_features=frame[column]))
        frame_by_group = fm.MetricFrame(
            metrics={"accuracy": accuracy_score, "selection_rate": fm.selection_rate},
            y_true=y,
            y_pred=predicted,
            sensitive_features=frame[column],
        ).by_group
        groups = {
            str(k): {m: float(v) for m, v in row.items()} for k, row in frame_by_group.iterrows()
        }
        return {
            "value": value,
            "threshold": gate.params,
            "passed": value <= gate.params["max"],
            "groups": groups,
        }

    def _latency_p99_ms(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        row = x.head(1)
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            self.model.predict(row)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        batch = x.head(1000)
        started = time.perf_counter()
        self.model.predict(batch)
        batch_ms = (time.perf_counter() - started) * 1000
        p99 = timings[int(len(timings) * 0.99) - 1]
        return {
            "value": p99,
            "p50_ms": timings[len(timings) // 2],
            "batch_ms": batch_ms,
            "batch_rows": len(batch),
            "threshold": gate.params,
            "passed": p99 <= gate.params["max"],
        }

    def _score_rows(self, x: Any) -> Any:
        if hasattr(self.model, "predict_proba"):
            proba = self.model.predict_proba(x)
            return proba[:, -1] if proba.shape[1] == 2 else proba.max(axis=1)
        return self.model.predict(x)

    def _check_features(self, gate: Gate, features: list[str], x: Any) -> None:
        missing = [f for f in features if f not in x.columns]
        if missing:
            raise ValidationError(
                f"gate {gate.label}: {missing} are not inputs of the model "
                f"({', '.join(x.columns)})",
                field="features",
            )

    def _invariance(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        import numpy as np

        features = list(gate.params["features"])
        self._check_features(gate, features, x)
        shuffled = x.copy()
        rng = np.random.default_rng(0)
        for feature in features:
            shuffled[feature] = rng.permutation(shuffled[feature].to_numpy())
        before, after = self.model.predict(x), self.model.predict(shuffled)
        flips = float(np.mean(before != after))
        return {
            "value": flips,
            "threshold": {"max_flip_rate": gate.params["max_flip_rate"]},
            "passed": flips <= gate.params["max_flip_rate"],
            "note": f"predictions changed for {flips:.1%} of rows when {features} shuffled",
        }

    def _directional(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        import numpy as np

        feature = gate.name
        self._check_features(gate, [feature], x)
        raised = x.copy()
        step = float(x[feature].std()) or 1.0
        raised[feature] = raised[feature] + step
        delta = np.asarray(self._score_rows(raised)) - np.asarray(self._score_rows(x))
        wrong = delta < -1e-9 if gate.params["expect"] == "increase" else delta > 1e-9
        rate = float(np.mean(wrong))
        return {
            "value": rate,
            "threshold": {"max_violations": gate.params["max_violations"]},
            "passed": rate <= gate.params["max_violations"],
            "note": f"raising {feature} by one std should {gate.params['expect']} the score; "
            f"it did not for {rate:.1%} of rows",
        }

    def _data_checks(self, gate: Gate, frame: Any, x: Any, y: Any) -> dict[str, Any]:
        refs = self.training_refs()
        trained = sorted({r for r in refs if r.split("@")[0] == gate.name})
        if not trained:
            return {
                "value": None,
                "passed": False,
                "note": f"the training run read no version of {gate.name!r}",
            }
        checked = [*trained, self.holdout_ref]
        verdicts = {}
        for ref in checked:
            validation = self.catalog.get_version(ref).validation
            verdicts[ref] = None if validation is None else bool(validation.passed)
        return {"value": verdicts, "passed": all(v is True for v in verdicts.values())}
