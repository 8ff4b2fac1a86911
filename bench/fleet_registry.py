"""Fleet scale of the registry's lists and the audit view (#17, items 3 and 4).

    .venv/bin/python bench/fleet_registry.py            # 10,000 models, 55,000 audit entries
    .venv/bin/python bench/fleet_registry.py --quick    # 1,000 models, 10,000 entries
    .venv/bin/python bench/fleet_registry.py --json     # the same, as JSON

A temporary project gets N registered models (one version each, every model tagged
``region=rNN``; one version logged through ``RegistryService.log_model``, the rest written
through ``ModelsRepo`` with the same rows and audit entries the service writes), D of them
deployed to the environment ``fleet`` through ``DeploymentService.deploy``, a few datasets,
and audit entries up to E. Then ``shipyard server --auth local`` serves it and each surface
is timed over loopback HTTP (median of R requests, after one warm-up):

* ``shipyard models ls`` (default page of 100, and ``--page 50``): wall time of the CLI
  process, median of 3 after a warm-up — target < 0.5 s. The CLI runs from compiled
  bytecode, as an installed Shipyard does, even where ``PYTHONDONTWRITEBYTECODE`` is set (a
  cache folder in the temporary project); ``--no-pyc`` times it compiling every module from
  source at each start instead;
* REST and UI pages: the first page, a page deep in the list (by cursor), a search by name
  and by tag — target < 100 ms each;
* ``/ui/environments/fleet``: time and bytes (the issue measured 1.57 MB for 300 models);
* ``/ui/audit``: a view (verifies from the checkpoint) next to ``?full=1`` (walks the whole
  chain, which every view did before) — "before/after".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

FULL = {"models": 10_000, "deployed": 300, "entries": 55_000, "repeat": 20, "datasets": 30}
QUICK = {"models": 1_000, "deployed": 50, "entries": 10_000, "repeat": 7, "datasets": 10}
TARGET_CLI_S = 0.5
TARGET_PAGE_S = 0.100
FILL_PER_TX = 500
USER = "bench"


def _progress(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _fill_models(svc: Any, template: Any, names: list[str]) -> None:
    """One version of each name, tagged, with the service's audit entries."""
    from shipyard.stores.sql.audit_repo import NewEntry

    repo, audit = svc.registry.repo, svc.registry.audit
    values = {
        "status": "candidate",
        "status_reason": "",
        "flavor": template.flavor,
        "content_id": template.content_id,
        "signature_json": json.dumps(template.signature.to_dict()),
        "package_json": json.dumps(template.package, sort_keys=True),
        "run_id": None,
        "description": "",
        "created_by": USER,
    }
    for lo in range(0, len(names), FILL_PER_TX):
        now = svc.registry.clock()
        with svc.db.write() as conn:
            entries = []
            for name in names[lo : lo + FILL_PER_TX]:
                model_id = repo.ensure_model(conn, name, "", USER, now, lock=True)
                number = repo.add_version(conn, model_id, {**values, "creation_time": now})
                repo.set_tags(conn, model_id, {"region": f"r{int(name[1:]) % 50:02d}"})
                payload = {"version": number, "flavor": template.flavor}
                entries.append(NewEntry(USER, "model.version.create", "model", name, "", payload))
            audit.append(conn, entries, now)


def _pad_audit(svc: Any, entries: int) -> None:
    """Audit entries up to ``entries`` in all (user.touch entries of a bench user)."""
    from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry

    repo = AuditRepo()
    with svc.db.read() as conn:
        head = repo.head(conn)
    missing = entries - (head[0] if head else 0)
    for lo in range(0, max(missing, 0), 10_000):
        batch = [
            NewEntry(USER, "bench.pad", "user", USER, "", {"i": lo + i})
            for i in range(min(10_000, missing - lo))
        ]
        with svc.db.write() as conn:
            repo.append(conn, batch, svc.registry.clock())


def _seed(root: Path, sizes: dict[str, int], quiet: bool) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from shipyard.core.entities import Role
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    warnings.filterwarnings("ignore")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(root)}))
    try:
        x = pd.DataFrame({"x": np.arange(40, dtype=float)})
        model = LogisticRegression().fit(x, (x["x"] > 19).to_numpy(dtype=int))
        names = [f"m{i:05d}" for i in range(sizes["models"])]
        t0 = time.perf_counter()
        template = svc.registry.log_model(model, names[0], user=USER, input_example=x.head())
        svc.registry.set_model_tag(names[0], "region", "r00", user=USER)
        _fill_models(svc, template, names[1:])
        fill_s = time.perf_counter() - t0
        _progress(f"  {len(names):,} models registered in {fill_s:.1f} s", quiet)
        svc.access.add_user(USER, Role.ADMIN)
        user = svc.access.get_user(USER)
        t0 = time.perf_counter()
        for name in names[: sizes["deployed"]]:
            svc.deployments.deploy(name, 1, "fleet", user)
        deploy_s = time.perf_counter() - t0
        _progress(f"  {sizes['deployed']} deployed to fleet in {deploy_s:.1f} s", quiet)
        for i in range(sizes["datasets"]):
            svc.catalog.register(f"data-{i:03d}", pd.DataFrame({"a": [i, i + 1]}), user=USER)
        _pad_audit(svc, sizes["entries"])
        with svc.db.read() as conn:
            entries = svc.audit.repo.head(conn)[0]
        _progress(f"  {entries:,} audit entries", quiet)
        return {"fill_s": fill_s, "deploy_ms_each": 1000 * deploy_s / sizes["deployed"]}
    finally:
        svc.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(root: Path, pyc: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update({"SHIPYARD_PROJECT_DIR": str(root), "SHIPYARD_USER": USER, "COLUMNS": "200"})
    if pyc:  # bytecode compiled once and kept, as pip does when it installs a package
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


def _shipyard() -> list[str]:
    return [sys.executable, "-m", "shipyard"]


def _time_cli(root: Path, args: list[str], pyc: bool) -> dict[str, Any]:
    times, last, env = [], None, _env(root, pyc)
    for i in range(4):  # the first is a warm-up (it writes the bytecode cache)
        t0 = time.perf_counter()
        last = subprocess.run(
            [*_shipyard(), *args], env=env, capture_output=True, text=True, check=False
        )
        if i:
            times.append(time.perf_counter() - t0)
    assert last is not None
    shown = [line for line in last.stdout.splitlines() if line.startswith("showing")]
    return {
        "median_s": statistics.median(times),
        "exit": last.returncode,
        "line": shown[-1] if shown else last.stderr.strip()[:200],
    }


def _time_get(client: Any, path: str, repeat: int) -> dict[str, Any]:
    client.get(path)  # warm-up
    times, size, status = [], 0, 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append(time.perf_counter() - t0)
        size, status = len(resp.content), resp.status_code
    return {"median_s": statistics.median(times), "bytes": size, "status": status}


def _paths(client: Any, sizes: dict[str, int]) -> list[tuple[str, str]]:
    """(label, path) of every timed page; the deep pages by a cursor the API hands out."""
    deep = f"m{sizes['models'] - 150:05d}"
    cursor = _cursor_after(deep)
    return [
        ("REST models, first page", "/api/v1/models"),
        ("REST models, a deep page (cursor)", f"/api/v1/models?cursor={cursor}"),
        ("REST models, search by name", "/api/v1/models?search=m0042"),
        ("REST models, search by tag", "/api/v1/models?search=region%3Dr07"),
        ("REST datasets, first page", "/api/v1/datasets"),
        ("REST deployments of fleet", "/api/v1/deployments?env=fleet&limit=100"),
        ("REST audit, first page", "/api/v1/audit"),
        ("REST audit, offset 40,000", f"/api/v1/audit?offset={min(40_000, sizes['entries'] // 2)}"),
        ("UI models, first page", "/ui/models"),
        ("UI models, a deep page (cursor)", f"/ui/models?cursor={cursor}"),
        ("UI models, search by name", "/ui/models?q=m0042"),
        ("UI models, search by tag", "/ui/models?q=r07"),
        ("UI data", "/ui/data"),
        ("UI environment fleet (page 1)", "/ui/environments/fleet?refresh=0"),
        ("UI environment fleet, live.json", _live_path(client)),
        ("UI audit (incremental verify)", "/ui/audit"),
    ]


def _cursor_after(name: str) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps({"after": name}).encode()).decode()


def _live_path(client: Any) -> str:
    import re

    html = client.get("/ui/environments/fleet?refresh=5").text
    found = re.search(r'src = "([^"]+live\.json[^"]*)"', html)
    return json.loads(f'"{found.group(1)}"') if found else "/ui/environments/fleet/live.json"


def _serve(root: Path) -> tuple[subprocess.Popen[str], str]:
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [*_shipyard(), "server", "--auth", "local", "--port", str(port)],
        env=_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start within 60 s")


def run(sizes: dict[str, int], quiet: bool, pyc: bool = True) -> dict[str, Any]:
    import httpx

    root = Path(tempfile.mkdtemp(prefix="sybench-fleet-registry-"))
    try:
        seeded = _seed(root, sizes, quiet)
        deep = str(max(1, sizes["models"] // 100 - 1))  # the page before the last
        commands = {
            "shipyard --help (start-up alone)": ["--help"],
            "models ls": ["models", "ls"],
            f"models ls --page {deep}": ["models", "ls", "--page", deep],
            "models ls -s region=r07": ["models", "ls", "-s", "region=r07"],
            "audit log": ["audit", "log"],
            "audit verify": ["audit", "verify"],
            "audit verify --full": ["audit", "verify", "--full"],
        }
        cli = {label: _time_cli(root, args, pyc) for label, args in commands.items()}
        proc, url = _serve(root)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                pages = {
                    label: _time_get(client, path, sizes["repeat"])
                    for label, path in _paths(client, sizes)
                }
                before = _time_get(client, "/ui/audit?full=1", max(3, sizes["repeat"] // 3))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        return {
            "sizes": sizes,
            "pyc": pyc,
            "seed": seeded,
            "cli": cli,
            "pages": pages,
            "audit_full": before,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _report(out: dict[str, Any]) -> None:
    s = out["sizes"]
    print(
        f"\nFleet registry: {s['models']:,} models, {s['deployed']} deployed to one env, "
        f"{s['entries']:,} audit entries (2-core machine shared with other work)\n"
    )
    how = "bytecode cached" if out["pyc"] else "compiled from source each start"
    print(f"{'CLI (process wall time, median of 3)':<44} {'s':>8}  target  line  ({how})")
    for label, r in out["cli"].items():
        ok = "ok" if r["median_s"] < TARGET_CLI_S else "MISS"
        ok = ok if label.startswith("models") else "-"
        print(f"  {label:<42} {r['median_s']:>8.3f}  {ok:<6}  {r['line']}")
    print(f"\n{'HTTP page (median)':<44} {'ms':>8} {'KB':>8}  status  target")
    for label, r in out["pages"].items():
        ok = "ok" if r["median_s"] < TARGET_PAGE_S else "MISS"
        print(
            f"  {label:<42} {1000 * r['median_s']:>8.1f} {r['bytes'] / 1024:>8.1f}  "
            f"{r['status']:<6}  {ok}"
        )
    full, view = out["audit_full"], out["pages"]["UI audit (incremental verify)"]
    print(
        f"\n/ui/audit: {1000 * full['median_s']:.0f} ms walking the whole chain (every view "
        f"before; now ?full=1) vs {1000 * view['median_s']:.0f} ms from the checkpoint"
    )
    print(f"deploy through the service: {out['seed']['deploy_ms_each']:.1f} ms per model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 models, 10,000 entries")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--no-pyc", action="store_true", help="time the CLI compiling its modules at each start"
    )
    args = parser.parse_args()
    out = run(QUICK if args.quick else FULL, quiet=args.json, pyc=not args.no_pyc)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        _report(out)


if __name__ == "__main__":
    main()
