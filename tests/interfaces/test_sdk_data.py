"""``sy.data`` and ``shipyard data`` in fresh processes: PII never stored, lineage, CLI."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

from tests.cli import run_cli
from tests.interfaces.test_sdk import _py

EMAILS = ["alice.martin@example.com", "bob.stone@example.org", "carol.king@example.net"]
CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009"]
PHONES = ["+44 20 7946 0958", "+1 415 555 2671", "+33 1 42 68 53 00"]
FRAME = f"""
import pandas as pd
df = pd.DataFrame({{
    "email": {EMAILS!r} * 40,
    "card": {CARDS!r} * 40,
    "phone": {PHONES!r} * 40,
    "amount": [float(i) for i in range(120)],
}})
"""


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, columns=None)


def _everything_stored(state: Path) -> bytes:
    """Every byte under .shipyard/, plus every Parquet object decoded to text, plus a
    text dump of the SQLite database: raw PII must be in none of it."""
    chunks = []
    for path in state.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        chunks.append(data)
        if data[:4] == b"PAR1":
            chunks.append(pq.read_table(io.BytesIO(data)).to_pandas().to_csv().encode())
        if path.name == "shipyard.db":
            conn = sqlite3.connect(path)
            chunks.append("\n".join(conn.iterdump()).encode())
            conn.close()
    return b"\n".join(chunks)


def test_pii_policies_leave_no_raw_value_anywhere(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        FRAME
        + """
import logging, shipyard as sy
logging.basicConfig(level=logging.DEBUG)
try:
    sy.data.register("customers", df)
except Exception as e:
    print("REFUSED", e)
v = sy.data.register(
    "customers", df, pii={"email": "tokenize", "card": "mask", "phone": "drop"}
)
back = sy.data.get(v.ref)
print("COLUMNS", list(back.columns))
print("CARD", back["card"][0])
print("TOKEN", back["email"][0])
sy.data.register("other", df[["email"]].head(3), pii={"email": "tokenize"})
print("JOIN", sy.data.get("other")["email"][0] == back["email"][0])
""",
    )
    log = out.stdout + out.stderr
    assert "REFUSED likely personal data in undeclared column(s)" in log
    assert "COLUMNS ['email', 'card', 'amount']" in log
    assert "CARD ************1111" in log
    assert "TOKEN tok_" in log and "JOIN True" in log
    stored = _everything_stored(tmp_path / ".shipyard")
    for raw in [*EMAILS, *CARDS, *PHONES, "alice.martin", "4111111111111111", "7946 0958"]:
        assert raw.encode() not in stored, raw
        assert raw not in log.replace(EMAILS[0], ""), raw  # printed only by our test code
    key = tmp_path / ".shipyard" / "keys" / "pii.key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    assert not any("pii.key" in str(p) for p in (tmp_path / ".shipyard" / "objects").rglob("*"))


def test_the_scanner_would_see_kept_values(tmp_path: Path) -> None:
    """Control for the test above: with allow_pii the raw values are stored, and found."""
    out = _py(
        tmp_path,
        FRAME
        + """
import shipyard as sy
v = sy.data.register("customers", df, allow_pii=True)
print(v.pii_allowed, sorted(v.pii))
""",
    )
    assert out.stdout.strip() == "True ['card', 'email', 'phone']"
    assert EMAILS[0].encode() in _everything_stored(tmp_path / ".shipyard")


def test_pii_in_column_names_and_index(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
import pandas as pd, shipyard as sy
wide = pd.DataFrame({"dora.explorer@example.com": [1, 2], "x": [3, 4]})
try:
    sy.data.register("wide", wide)
except Exception as e:
    print("NAME", e)
indexed = pd.DataFrame({"spend": [1.0, 2.0, 3.0]},
                       index=pd.Index(["a@example.com", "b@example.com", "c@example.com"],
                                      name="customer"))
try:
    sy.data.register("indexed", indexed)
except Exception as e:
    print("INDEX", e)
v = sy.data.register("indexed", indexed, pii={"customer": "tokenize"})
print("COLS", [c for c, _ in v.columns])
""",
    )
    assert "NAME the name of column #0 looks like personal data (email)" in out.stdout
    assert "dora.explorer" not in out.stdout + out.stderr
    assert "INDEX likely personal data in undeclared column(s): customer (email)" in out.stdout
    assert "COLS ['customer', 'spend']" in out.stdout


def test_lineage_from_inputs_and_reads_inside_a_run(tmp_path: Path) -> None:
    out = _py(
        tmp_path,
        """
import json, pandas as pd, shipyard as sy
sy.data.register("loans", pd.DataFrame({"a": [1, 2, 3]}))
sy.data.register("loans", pd.DataFrame({"a": [1, 2, 4]}))
sy.data.alias("loans@v1", "training")
with sy.start_run(experiment="e", inputs=["loans@training"], log_environment=False) as run:
    sy.data.get("loans")            # latest, recorded automatically
    sy.log_input("loans@v2", context="holdout")
catalog = sy._get_session().services.catalog
print(json.dumps([[i.ref, i.context] for i in catalog.inputs_of_run(run.run_id)]))
print(json.dumps([r.run_id == run.run_id for r in catalog.runs_reading("loans@v1")]))
""",
    )
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[0]) == [["loans@v1", "input"], ["loans@v2", "input"]]
    assert json.loads(lines[1]) == [True]


def test_cli_register_show_diff_validate_lineage(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(
        textwrap.dedent(
            """
            [data.loans.checks]
            row_count = { min = 3 }
            [data.loans.checks.columns.age]
            type = "int"
            min = 18
            """
        )
    )
    (tmp_path / "v1.csv").write_text("age,grade\n30,A\n41,B\n17,C\n")
    (tmp_path / "v2.csv").write_text("age,grade\n30,A\n41,B\n19,C\n55,A\n")
    first = _cli(tmp_path, "data", "register", "loans", str(tmp_path / "v1.csv"), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["ref"] == "loans@v1"
    again = _cli(tmp_path, "data", "register", "loans", str(tmp_path / "v1.csv"), "--json")
    assert json.loads(again.stdout)["created"] is False
    assert _cli(tmp_path, "data", "register", "loans", str(tmp_path / "v2.csv")).returncode == 0
    failed = _cli(tmp_path, "data", "validate", "loans@v1")
    assert failed.returncode == 1
    assert "age" in failed.stdout and "17" in failed.stdout
    assert _cli(tmp_path, "data", "validate", "loans@v2").returncode == 0
    shown = json.loads(_cli(tmp_path, "data", "show", "loans@v2", "--json").stdout)
    assert shown["validation"]["passed"] is True and len(shown["versions"]) == 2
    diff = json.loads(_cli(tmp_path, "data", "diff", "loans@v1", "loans@v2", "--json").stdout)
    assert diff["rows"] == {"old": 3, "new": 4, "delta": 1}
    found = json.loads(_cli(tmp_path, "data", "search", "grade", "--json").stdout)
    assert [d["name"] for d in found] == ["loans"]
    graph = json.loads(_cli(tmp_path, "data", "lineage", "loans@v2", "--json").stdout)
    assert graph["root"] == "dataset:loans@v2" and graph["edges"] == []
    unknown = _cli(tmp_path, "data", "show", "loans@v9")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("error: dataset 'loans' has no version v9")
    bad = _cli(tmp_path, "data", "register", "loans", str(tmp_path / "v1.csv"), "--pii", "age")
    assert bad.returncode == 2 and "--pii takes KEY=VALUE" in bad.stderr


def test_cli_folder_register_status_and_get(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    for i in range(5):
        (tree / "sub" / f"{i}.txt").write_text(f"file {i}")
    assert _cli(tmp_path, "data", "register", "docs", str(tree)).returncode == 0
    status = json.loads(_cli(tmp_path, "data", "status", "docs", str(tree), "--json").stdout)
    assert status["up_to_date"] is True
    (tree / "sub" / "0.txt").write_text("edited")
    status = json.loads(_cli(tmp_path, "data", "status", "docs", str(tree), "--json").stdout)
    assert status["up_to_date"] is False and status["counts"]["changed"] == 1
    out = tmp_path / "out"
    got = _cli(tmp_path, "data", "get", "docs@v1", "--path", "sub/3.txt", "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert (out / "sub" / "3.txt").read_text() == "file 3"
    assert sorted(os.listdir(out / "sub")) == ["3.txt"]
