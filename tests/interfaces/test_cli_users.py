"""``shipyard users``: only an admin adds users or gives roles; the first admin is whoever
ran ``shipyard init``; tokens for somebody else need an admin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli import run_cli


def _cli(project: Path, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user=user)


def _roles(project: Path) -> dict[str, str]:
    listed = json.loads(_cli(project, "owner", "users", "ls", "--json").stdout)
    return {u["name"]: u["role"] for u in listed}


def test_only_admins_add_users_and_the_first_is_who_ran_init(tmp_path: Path) -> None:
    init = _cli(tmp_path, "owner", "init", str(tmp_path))
    assert init.returncode == 0 and "owner is the project's first admin" in init.stdout
    again = _cli(tmp_path, "mallory", "init", str(tmp_path))  # a second init crowns nobody
    assert again.returncode == 0 and "first admin" not in again.stdout
    assert _cli(tmp_path, "owner", "users", "add", "cody", "--role", "contributor").returncode == 0

    for who in ("cody", "mallory"):  # a contributor, and somebody who is not a user at all
        r = _cli(tmp_path, who, "users", "add", "root", "--role", "deployer")
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
        assert who in r.stderr and "admin" in r.stderr
        assert "Traceback" not in r.stderr
    r = _cli(tmp_path, "cody", "users", "add", "cody2", "--role", "admin")
    assert r.returncode == 2 and "needs the admin role" in r.stderr
    assert _roles(tmp_path) == {"cody": "contributor", "local-admin": "admin", "owner": "admin"}

    assert _cli(tmp_path, "owner", "users", "add", "root", "--role", "deployer").returncode == 0
    assert _roles(tmp_path)["root"] == "deployer"


def test_tokens_for_somebody_else_need_an_admin(tmp_path: Path) -> None:
    assert _cli(tmp_path, "owner", "init", str(tmp_path)).returncode == 0
    assert _cli(tmp_path, "owner", "users", "add", "cody", "--role", "contributor").returncode == 0
    own = _cli(tmp_path, "cody", "users", "token", "cody")
    assert own.returncode == 0 and own.stdout.startswith("sy_")
    theirs = _cli(tmp_path, "cody", "users", "token", "owner")
    assert theirs.returncode == 2 and "needs an admin" in theirs.stderr
    assert "sy_" not in theirs.stdout
    assert _cli(tmp_path, "owner", "users", "token", "cody").stdout.startswith("sy_")
    trail = json.loads(_cli(tmp_path, "owner", "audit", "log", "--json").stdout)
    issued = [(e["actor"], e["object_id"]) for e in trail if e["action"] == "token.issue"]
    assert sorted(issued) == [("cody", "cody"), ("owner", "cody")]


def test_nobody_acts_as_the_local_admin_from_the_command_line(tmp_path: Path) -> None:
    assert _cli(tmp_path, "owner", "init", str(tmp_path)).returncode == 0
    for args in (("users", "add", "root", "--role", "deployer"), ("users", "token", "owner")):
        r = _cli(tmp_path, "local-admin", *args)
        assert r.returncode == 2 and "SHIPYARD_USER" in r.stderr, r.stderr
        assert "sy_" not in r.stdout
    assert "root" not in _roles(tmp_path)


def test_only_a_new_project_gets_a_first_admin(tmp_path: Path) -> None:
    assert _cli(tmp_path, "owner", "init", str(tmp_path)).returncode == 0
    assert _cli(tmp_path, "owner", "users", "add", "cody", "--role", "viewer").returncode == 0
    later = _cli(tmp_path, "mallory", "init", str(tmp_path))
    assert later.returncode == 0 and "first admin" not in later.stdout
    assert "mallory" not in _roles(tmp_path)
