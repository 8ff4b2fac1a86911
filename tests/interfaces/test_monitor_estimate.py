"""``estimate_performance`` through the SDK module (DataFrames, files, dataset refs) and
``shipyard monitor estimate`` in a fresh process (files and dataset refs, ``--json``, errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.sdk.monitor_estimate import estimate_performance
from shipyard.settings import load_settings
from tests.cli import run_cli


def _frame(seed: int, n: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    truth = 1.0 / (1.0 + np.exp(-(2.0 * x - 0.5)))
    return pd.DataFrame(
        {"x": x, "label": (rng.random(n) < truth).astype(int), "proba": truth.round(6)}
    )


def _services(root: Path) -> Any:
    return build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(root)}))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with two registered tables (closed again: the CLI opens its own)."""
    svc = _services(tmp_path)
    try:
        svc.catalog.register("scored-ref", _frame(1, 3000, 0.0), user="tester")
        svc.catalog.register("scored-cur", _frame(2, 2500, 0.8), user="tester")
    finally:
        svc.close()
    return tmp_path


@pytest.fixture
def catalog(project: Path) -> Iterator[Any]:
    svc = _services(project)
    try:
        yield svc.catalog
    finally:
        svc.close()


def test_sdk_reads_dataframes_files_and_dataset_refs(project: Path, catalog: Any) -> None:
    root = project
    reference, current = _frame(1, 3000, 0.0), _frame(2, 2500, 0.8)
    reference.to_parquet(root / "ref.parquet")
    current.to_csv(root / "cur.csv", index=False)
    args = {"y_true": "label", "y_pred_proba": "proba", "chunk_size": 1000}
    frames = [
        estimate_performance(reference, current, **args).to_frame(),
        estimate_performance(root / "ref.parquet", str(root / "cur.csv"), **args).to_frame(),
        estimate_performance("scored-ref", "scored-cur@v1", catalog=catalog, **args)
        .to_frame(),
    ]  # fmt: skip
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    first = current.iloc[:1000]
    row = frames[0].iloc[0]
    assert row["metric"] == "roc_auc"
    assert row["realized"] == pytest.approx(roc_auc_score(first["label"], first["proba"]))


def test_sdk_names_what_it_cannot_read(project: Path, catalog: Any) -> None:
    root = project
    with pytest.raises(ValidationError) as info:
        estimate_performance("scored-ref", _frame(2, 10, 0.0), y_true="label", y_pred_proba="p")
    assert info.value.field == "reference"
    with pytest.raises(ValidationError) as info:
        estimate_performance(
            _frame(1, 10, 0.0), root / "nope.csv", y_true="label", y_pred_proba="proba"
        )
    assert info.value.field == "current"
    with pytest.raises(ValidationError) as info:  # options are checked before any read
        estimate_performance(
            "no-such-data", "scored-cur", catalog=catalog, y_true="label", y_pred_proba="p",
            chunk_size=0,
        )  # fmt: skip
    assert info.value.field == "chunk_size"
    with pytest.raises(NotFoundError):
        estimate_performance(
            "no-such-data", "scored-cur", catalog=catalog, y_true="label", y_pred_proba="p"
        )


def test_cli_estimates_from_files_and_refs(project: Path) -> None:
    root = project
    current = _frame(2, 2500, 0.8)
    _frame(1, 3000, 0.0).to_parquet(root / "ref.parquet")
    current.drop(columns="label").to_csv(root / "cur.csv", index=False)
    done = run_cli(
        root, "monitor", "estimate", str(root / "ref.parquet"), str(root / "cur.csv"),
        "--y-true", "label", "--y-pred-proba", "proba", "--chunk-size", "1000", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [(r["chunk"], r["metric"]) for r in rows] == [
        (c, m) for c in range(3) for m in ("roc_auc", "accuracy")
    ]
    assert rows[-1]["rows"] == 500 and "realized" not in rows[0]

    done = run_cli(
        root, "monitor", "estimate", "scored-ref", "scored-cur", "--y-true", "label",
        "--y-pred-proba", "proba", "--metrics", "accuracy,f1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Estimated performance" in done.stdout and "f1" in done.stdout
    realized = accuracy_score(current["label"], current["proba"] >= 0.5)
    assert f"{realized:.4f} (2500 labeled)" in done.stdout


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--y-pred-proba", "score"], "y_pred_proba: column 'score'"),
        (["--y-pred-proba", "proba", "--metrics", "auc"], "metrics:"),
        (["--y-pred-proba", "proba", "--chunk-size", "0"], "chunk_size:"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(project: Path, extra: list[str], needle: str) -> None:
    root = project
    done = run_cli(
        root, "monitor", "estimate", "scored-ref", "scored-cur", "--y-true", "label", *extra
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_missing_file_is_named(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path, "monitor", "estimate", str(tmp_path / "ref.parquet"), "cur.csv",
        "--y-true", "label", "--y-pred-proba", "proba",
    )  # fmt: skip
    assert done.returncode == 2 and "reference: no file" in done.stderr
