"""``sy.monitor`` as a data scientist calls it: drift and performance estimation on
DataFrames and dataset refs, and the report of the windows ``monitor run`` computed."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.interfaces.test_sdk import _py

SCRIPT = """
import json
import numpy as np
import pandas as pd
import shipyard as sy
from scipy.stats import ks_2samp

rng = np.random.default_rng(0)
ref = pd.DataFrame({"age": rng.normal(40, 10, 3000), "city": rng.choice(["a", "b"], 3000)})
cur = pd.DataFrame({"age": rng.normal(55, 10, 1000), "city": rng.choice(["a", "b"], 1000)})
sy.data.register("people", ref)
drift = sy.monitor.drift("people@v1", cur, chunk_size=500, methods={"age": "ks"})
frame = drift.to_frame()
age = frame[frame.column == "age"]
want = [ks_2samp(ref.age, cur.age[i:i + 500]).statistic for i in (0, 500)]

p = rng.uniform(0, 1, 4000)
labeled = pd.DataFrame({"proba": p, "y": (rng.uniform(0, 1, 4000) < p).astype(int)})
est = sy.monitor.estimate_performance(
    labeled.iloc[:2000], labeled.iloc[2000:], y_true="y", y_pred_proba="proba",
    metrics=["accuracy"], chunk_size=1000,
).to_frame()
report = sy.monitor.report("nothing-deployed", window="1h").to_frame()
try:
    sy.monitor.feedback("nothing-deployed", {"p-1": 1})
    unknown = None
except Exception as e:
    unknown = type(e).__name__
print(json.dumps({
    "chunks": sorted(set(frame.chunk)),
    "ks": age.value.tolist(), "want": want, "drifted": bool(age.drifted.all()),
    "city_drifted": bool(frame[frame.column == "city"].drifted.any()),
    "est_rows": len(est), "inside": bool(((est.lower <= est.realized)
                                          & (est.realized <= est.upper)).all()),
    "report_rows": len(report), "unknown": unknown,
}))
"""


def test_sy_monitor_drift_estimate_and_report(tmp_path: Path) -> None:
    out = _py(tmp_path, textwrap.dedent(SCRIPT))
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["chunks"] == [0, 1]
    assert all(abs(a - b) < 1e-9 for a, b in zip(got["ks"], got["want"], strict=True))
    assert got["drifted"] is True and got["city_drifted"] is False
    assert got["est_rows"] == 2 and got["inside"] is True
    assert got["report_rows"] == 0
    assert got["unknown"] == "NotFoundError"  # feedback for a model that is not registered
