"""``data = "feedback"``: the loop retrains on the labelled production data. The champion's
drifted predictions, logged by the real serving log writer in staging, joined with their
true labels, become ``loans-feedback@v1`` (the label in ``y``, named by the champion's
training lineage) and the next version is trained on it, gated and rolled out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from shipyard.core.retraining import RetrainState
from shipyard.services.formats.predictions import prediction_id
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from tests.services.retraining.conftest import MODEL, open_world
from tests.services.retraining.flows import FEATURES, frame


def test_the_loop_trains_on_the_labelled_production_data(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url, data="feedback")
    svc = world.svc
    try:
        champion = svc.registry.load(f"{MODEL}@v1", user="test")
        traffic = frame(300, 5, shift=1.0)
        log = PredictionLog(svc.blobs.backend, "r1", ServingStats(), 100_000, env="staging")
        now = int(time.time() * 1000) - 60_000
        ids = []
        for n in range(len(traffic)):
            pid = prediction_id("abcd1234", now + n, n + 1)
            rows = traffic.iloc[[n]][FEATURES]
            answer = np.asarray(champion.predict(rows))
            log.add(LogRecord(pid, now + n, MODEL, 1, "live", 1.0, tuple(FEATURES), rows, answer))
            ids.append(pid)
        log.drain()
        truth = dict(zip(ids[:250], traffic["y"][:250].tolist(), strict=True))
        svc.feedback.record(MODEL, truth, user="dana")
        world.alert()
        run = svc.retraining.tick(MODEL)[0]
        assert run.state is RetrainState.DEPLOYED, run.reason
        assert run.data_ref == "loans-feedback@v1"
        exported = svc.catalog.load_frame("loans-feedback@v1")
        assert list(exported.columns) == ["x1", "x2", "y"] and len(exported) == 250
        assert exported["y"].tolist() == traffic["y"][:250].tolist()
        v2 = svc.registry.get_version(f"{MODEL}@v2")
        chain = svc.tracking.run_chain(v2.run_id)
        read = {i.ref for r in chain for i in svc.catalog.inputs_of_run(r.info.run_id)}
        assert "loans-feedback@v1" in read
    finally:
        svc.close()
