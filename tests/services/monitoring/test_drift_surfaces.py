"""``shipyard monitor drift`` and the SDK's drift function, on files and dataset refs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.sdk.monitor_drift import drift
from shipyard.settings import load_settings
from tests.cli import run_cli


def _frame(seed: int, n: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, n),
            "city": rng.choice(["oslo", "rome", "lima"], n, p=[0.6, 0.3, 0.1]),
            "score": rng.uniform(0, 1, n),
        }
    )


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, cwd=project)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    svc = build_services(load_settings({"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        svc.catalog.register("loans", _frame(1, 2000), user="ada")
        svc.catalog.register("loans", _frame(2, 1500, shift=1.0), user="ada")
    finally:
        svc.close()
    _frame(3, 1200).to_csv(tmp_path / "ref.csv", index=False)
    _frame(4, 900, shift=1.0).to_parquet(tmp_path / "cur.parquet")
    return tmp_path


def test_cli_reports_files_and_dataset_refs(project: Path) -> None:
    done = _cli(project, "monitor", "drift", "ref.csv", "cur.parquet", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    verdicts = {r["column"]: r["drifted"] for r in body["results"]}
    assert verdicts == {"age": True, "city": False, "score": False}
    assert body["summary"]["drift_share"] == pytest.approx(1 / 3)
    done = _cli(project, "monitor", "drift", "loans@v1", "loans@v2", "--chunk-size", "1000")
    assert done.returncode == 0, done.stderr
    assert "Drift" in done.stdout and "drift share 33% of 3 columns over 2 chunks" in done.stdout
    done = _cli(project, "monitor", "drift", "loans@v1", "cur.parquet", "--columns", "city")
    assert done.returncode == 0 and "drift share 0% of 1 columns" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ref.csv", "cur.parquet", "--columns", "age,height"), "height"),
        (("ref.csv", "missing.csv"), "current file missing.csv does not exist"),
        (("ref.csv", "loans@v9"), "loans"),
        (("ref.csv", "cur.parquet", "--chunk-size", "0"), "chunk_size"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(project: Path, args, message) -> None:
    done = _cli(project, "monitor", "drift", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_sdk_takes_frames_profiles_and_refs(tmp_path: Path) -> None:
    svc = build_services(load_settings({"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        svc.catalog.register("loans", _frame(1, 2000), user="ada")
        result = drift("loans@v1", _frame(5, 800, shift=1.0), catalog=svc.catalog, chunk_size=300)
        frame = result.to_frame()
        assert frame["chunk"].max() == 2 and set(frame.column) == {"age", "city", "score"}
        assert frame[frame.column == "age"]["drifted"].all()
        again = drift(result.profile, _frame(5, 800, shift=1.0), chunk_size=300).to_frame()
        pd.testing.assert_frame_equal(frame, again)
        with pytest.raises(NotFoundError):
            drift("loans@v7", _frame(5, 100), catalog=svc.catalog)
        with pytest.raises(ValidationError, match="no data catalog") as e:
            drift("loans@v1", _frame(5, 100))
        assert e.value.field == "reference"
    finally:
        svc.close()
