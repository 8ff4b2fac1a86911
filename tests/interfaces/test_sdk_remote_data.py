"""``sy.data`` through a real server (SHIPYARD_TRACKING_URI): reads verified, lineage kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd


def _remote(live_server, tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHIPYARD_TRACKING_URI": live_server.url,
        "SHIPYARD_TOKEN": live_server.admin_token,
        "SHIPYARD_PROJECT_DIR": str(tmp_path / "client"),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def _seed(live_server, tmp_path: Path) -> pd.DataFrame:
    catalog = live_server.services.catalog
    frame = pd.DataFrame({"age": [30, 41, 52], "grade": ["A", "B", "C"]})
    catalog.register("loans", frame.head(2), tags={"team": "risk"}, user="alice")
    catalog.register("loans", frame, user="alice")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.txt").write_text("alpha")
    (tree / "b.txt").write_text("beta")
    catalog.register("docs", tree, user="alice")
    return frame


def test_remote_reads_lineage_alias_and_validate(live_server, tmp_path: Path) -> None:
    frame = _seed(live_server, tmp_path)
    out = _remote(
        live_server,
        tmp_path,
        """
        import json, shipyard as sy
        from shipyard.core.errors import ValidationError
        result = {}
        with sy.start_run(experiment="remote-data", log_environment=False) as run:
            df = sy.data.get("loans")
            one = sy.data.get("docs@v1", path="sub/a.txt", dest="out")
        result["run"] = run.run_id
        result["rows"] = df.to_dict(orient="list")
        result["file"] = one.read_text()
        result["found"] = [d.name for d in sy.data.search("team")]
        result["alias"] = sy.data.alias("loans@v1", "training").ref
        result["versions"] = [v.ref for v in sy.data.versions("loans")]
        record = sy.data.validate("loans@v2", {"columns": {"age": {"type": "int", "min": 35}}})
        result["valid"] = [record.passed, record.failed]
        try:
            sy.data.register("new", df)
        except ValidationError as e:
            result["register"] = e.field
        print(json.dumps(result))
        """,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout)
    assert got["rows"] == frame.to_dict(orient="list")
    assert got["file"] == "alpha" and (tmp_path / "out" / "sub" / "a.txt").is_file()
    assert got["found"] == ["loans"] and got["alias"] == "loans@v1"
    assert got["versions"] == ["loans@v2", "loans@v1"]
    assert got["valid"] == [False, 1]
    assert got["register"] == "SHIPYARD_TRACKING_URI"
    inputs = live_server.services.catalog.inputs_of_run(got["run"])
    assert [i.ref for i in inputs] == ["docs@v1", "loans@v2"]
    assert live_server.services.catalog.get_version("loans@v2").validation.passed is False


def test_remote_read_of_a_corrupted_object_fails_cleanly(live_server, tmp_path: Path) -> None:
    _seed(live_server, tmp_path)
    version = live_server.services.catalog.get_version("loans@v2")
    algo, hexdigest = version.object_digest.split(":")
    stored = Path(live_server.services.blobs.url) / "v1" / algo / hexdigest[:2] / hexdigest[2:]
    os.chmod(stored, 0o644)
    stored.write_bytes(b"garbage" + stored.read_bytes()[7:])
    out = _remote(
        live_server,
        tmp_path,
        """
        import shipyard as sy
        from shipyard.core.errors import ShipyardError
        try:
            sy.data.get("loans@v2")
        except ShipyardError as e:
            print(type(e).__name__, e.message)
        """,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ConflictError") and "blake3" in out.stdout
    assert "Traceback" not in out.stderr
