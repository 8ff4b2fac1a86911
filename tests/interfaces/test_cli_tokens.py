"""``shipyard users token|tokens|revoke`` as a real subprocess: bounded lifetimes (exit 2
naming --ttl-days), listings without secrets, revoking one or all (owner or admin)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def _cli(project: Path, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user=user, pythonpath=[REPO])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "owner", "init", str(tmp_path)).returncode == 0
    assert _cli(tmp_path, "owner", "users", "add", "vera", "--role", "viewer").returncode == 0
    return tmp_path


def _one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "sy_" not in r.stdout
    return r.stderr


@pytest.mark.parametrize("ttl", ["0", "-1", "3651", "99999999999999999999"])
def test_ttl_days_out_of_bounds_is_exit_2_naming_the_option(project: Path, ttl: str) -> None:
    err = _one_line_error(_cli(project, "vera", "users", "token", "vera", "--ttl-days", ttl))
    assert "--ttl-days" in err and "3650" in err
    listed = json.loads(_cli(project, "vera", "users", "tokens", "--json").stdout)
    assert listed == []


def test_list_and_revoke_own_tokens(project: Path) -> None:
    first = _cli(project, "vera", "users", "token", "vera", "--ttl-days", "7", "--name", "laptop")
    assert first.returncode == 0 and first.stdout.startswith("sy_"), first.stderr
    second = _cli(project, "vera", "users", "token", "vera").stdout.strip()
    listed = _cli(project, "vera", "users", "tokens", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["state"], r["user"]) for r in rows] == [
        ("default", "active", "vera"),
        ("laptop", "active", "vera"),
    ]
    assert rows[1]["expires"] - rows[1]["created"] == 7 * 86_400_000 and rows[0]["expires"] is None
    assert first.stdout.strip() not in listed.stdout and second not in listed.stdout
    table = _cli(project, "vera", "users", "tokens")
    assert (
        table.returncode == 0
        and rows[0]["prefix"] in table.stdout
        and "showing 2 of 2" in table.stdout
    )
    assert second not in table.stdout

    revoked = _cli(project, "vera", "users", "revoke", str(rows[1]["id"]), "--json")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["state"] == "revoked"
    again = _one_line_error(_cli(project, "vera", "users", "revoke", str(rows[1]["id"])))
    assert "already revoked" in again
    states = [
        r["state"] for r in json.loads(_cli(project, "vera", "users", "tokens", "--json").stdout)
    ]
    assert states == ["active", "revoked"]
    trail = json.loads(_cli(project, "owner", "audit", "log", "--json").stdout)
    assert ("vera", "token.revoke", "vera") in [
        (e["actor"], e["action"], e["object_id"]) for e in trail
    ]


def test_only_the_owner_or_an_admin(project: Path) -> None:
    assert _cli(project, "vera", "users", "token", "vera").returncode == 0
    owner_token = _cli(project, "owner", "users", "token", "owner").stdout
    assert owner_token.startswith("sy_")
    err = _one_line_error(_cli(project, "vera", "users", "tokens", "owner"))
    assert "'vera' (viewer) may list only their own tokens" in err
    theirs = json.loads(_cli(project, "owner", "users", "tokens", "owner", "--json").stdout)
    err = _one_line_error(_cli(project, "vera", "users", "revoke", str(theirs[0]["id"])))
    assert "may revoke only their own" in err
    _one_line_error(_cli(project, "vera", "users", "revoke", "--all", "owner"))

    everything = _cli(project, "owner", "users", "revoke", "--all", "vera", "--json")
    assert json.loads(everything.stdout) == {"user": "vera", "revoked": 1}
    vera = json.loads(_cli(project, "owner", "users", "tokens", "vera", "--json").stdout)
    assert [r["state"] for r in vera] == ["revoked"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "give a TOKEN_ID or --all USER"),
        (("3", "--all", "vera"), "give a TOKEN_ID or --all USER"),
        (("12345",), "no token with id 12345"),
        (("--all", "nobody"), "no user named 'nobody'"),
    ],
)
def test_bad_revoke_arguments_are_exit_2(project: Path, args: tuple[str, ...], says: str) -> None:
    assert says in _one_line_error(_cli(project, "owner", "users", "revoke", *args))


def test_help_names_the_commands(project: Path) -> None:
    out = _cli(project, "owner", "users", "--help").stdout
    assert "tokens" in out and "revoke" in out
    assert "--all" in _cli(project, "owner", "users", "revoke", "--help").stdout
