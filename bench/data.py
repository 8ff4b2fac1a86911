"""Data versioning speed: Shipyard (``sy.data`` / ``shipyard data``) next to DVC, side by side.

Workloads (every system gets its own copy of the same data in its own temporary folder, which
is deleted afterwards; the data is random bytes, generated once per run):

1. ``big``   add one file of 1 GiB (Shipyard: ``sy.data.register("big", path)``)
2. ``tree``  add a folder of 10,000 files of 10 KiB in 100 nested sub-folders
3. no-op     re-add of the unchanged folder (Shipyard must return the existing version), and
             the folder's status (``shipyard data status`` / ``dvc status``)
4. 1 %       rewrite 1 % of the files with new random bytes, add again; the bytes newly stored
             are the growth of ``.shipyard/objects`` / ``.dvc/cache``

Shipyard is measured two ways: the SDK call ``sy.data.register`` inside a fresh interpreter
(``--child``, import and first use outside the timed region) and the whole CLI command
``shipyard data register NAME DIR`` (wall time, interpreter start included), which is the fair
comparison with ``dvc add``. DVC 3.67.1 runs from its own venv, ``<repo>/.bench-venvs/dvc``
(created on first use: its pins clash with the project's), timed as whole commands.

``--section io`` measures the filesystem of ``--tmpdir`` instead: copying a 1 GiB file, writing
10,000 small files with and without fsync, and blake3 over a file (mmap + threads vs streamed).

    python bench/data.py                  # full sizes, both sections
    python bench/data.py --quick          # CI smoke sizes
    python bench/data.py --section io     # the filesystem figures only
    python bench/data.py --json           # machine-readable output (raw timings included)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHIPYARD = BIN / "shipyard"
DVC_VERSION = "3.67.1"
DVC_VENV = REPO / ".bench-venvs" / "dvc"
DVC = DVC_VENV / "bin" / "dvc"
SDK_MODULE = "shipyard.interfaces.sdk.data"

RESULT_MARKER = "BENCH_RESULT "
CHILD_TIMEOUT_S = 1_800
KIB = 1024
MIB = 1024 * KIB
CHUNK = MIB
FILE_KIB = 10
CHANGED_FRACTION = 0.01
BIG, TREE = "big", "tree"  # dataset names, and the file / folder names in the workspace

FULL = {
    "big_mib": 1024,
    "files": 10_000,
    "repeats": 3,  # fresh workspace + store per repeat (adds), medians reported
    "noop_repeats": 5,  # fresh interpreter per call, inside each repeat
    "io_big_mib": 1024,
    "io_files": 10_000,
    "io_repeats": 3,
}
QUICK = {
    "big_mib": 64,
    "files": 1_000,
    "repeats": 1,
    "noop_repeats": 2,
    "io_big_mib": 128,
    "io_files": 1_000,
    "io_repeats": 1,
}

TARGET_BIG_RATIO = 5.0
TARGET_TREE_RATIO = 3.0
TARGET_NOOP_S = 0.300
IDLE_S = 5.0  # the pause before the "after idle" copies of --section io
MANIFEST_BYTES_PER_FILE = 256  # allowance for the manifest / .dir object in workload 4


# ---------------------------------------------------------------------------- helpers
def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _progress(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _write_random(path: Path, mib: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(CHUNK))


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def _settle(path: Path) -> None:
    """Read every byte once (page cache warm for every system), then flush dirty pages so
    write-back of the setup does not land inside the next timed region."""
    buf = bytearray(CHUNK)
    for p in _files_under(path):
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
    os.sync()


def _tree_paths(n: int) -> list[str]:
    """``part-XX/shard-YY/file-NNNNN.bin``: 10 x 10 nested sub-folders, n / 100 files each."""
    return [f"part-{i % 10:02d}/shard-{(i // 10) % 10:02d}/file-{i:05d}.bin" for i in range(n)]


def _changed_files(n: int) -> list[str]:
    """The 1 % of the files that workload 4 rewrites (the same ones for every system)."""
    rng = random.Random(42)
    return sorted(rng.sample(_tree_paths(n), max(1, round(n * CHANGED_FRACTION))))


def _changed_content(rel: str) -> bytes:
    return random.Random(f"changed:{rel}").randbytes(FILE_KIB * KIB)


def generate(src: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """The source data of a run: one big random file and a folder of small random files."""
    start = time.perf_counter()
    _write_random(src / BIG, sizes["big_mib"])
    made: set[Path] = set()
    for rel in _tree_paths(sizes["files"]):
        path = src / TREE / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(os.urandom(FILE_KIB * KIB))
    os.sync()
    return {"generate_s": time.perf_counter() - start}


def _objects(root: Path) -> dict[str, int]:
    """Every file under a store (relative path → size), hidden staging files included."""
    if not root.exists():
        return {}
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath, name)
            with contextlib.suppress(FileNotFoundError):
                out[p.relative_to(root).as_posix()] = p.stat().st_size
    return out


def _store_growth(
    root: Path, before: dict[str, int], after: dict[str, int], expected: dict[str, int]
) -> dict[str, Any]:
    """Bytes added to a store: file data (loose objects or packs) and JSON listings.

    A new object that parses as JSON is a listing (Shipyard's manifest, DVC's ``.dir``);
    everything else is file data. ``expected`` maps the ``xx/yyyy…`` tail of each changed
    file's loose object (from its hash) to its size: how many of the changed files were
    stored as loose objects (DVC; Shipyard packs small files, so none there).
    """
    new = {k: v for k, v in after.items() if k not in before}
    tails = {"/".join(k.split("/")[-2:]) for k in new}
    loose = [t for t in expected if t in tails]
    listing: dict[str, int] = {}
    for key, size in new.items():
        if size > 256 * MIB:
            continue
        with contextlib.suppress(OSError, ValueError):
            json.loads((root / key).read_bytes())
            listing[key] = size
    data = {k: v for k, v in new.items() if k not in listing}
    return {
        "growth_bytes": sum(after.values()) - sum(before.values()),
        "new_objects": len(new),
        "data_objects": len(data),
        "data_bytes": sum(data.values()),
        "listing_objects": len(listing),
        "listing_bytes": sum(listing.values()),
        "changed_as_loose_objects": len(loose),
    }


def _expected_objects(digest: Callable[[bytes], str], rels: Iterable[str]) -> dict[str, int]:
    out = {}
    for rel in rels:
        data = _changed_content(rel)
        h = digest(data)
        out[f"{h[:2]}/{h[2:]}"] = len(data)
    return out


def _blake3_hex(data: bytes) -> str:
    import blake3

    return blake3.blake3(data).hexdigest()


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIPYARD_", "DVC_", "GIT_", "VIRTUAL_ENV"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["DO_NOT_TRACK"] = "true"
    return env


def _run(
    cmd: Sequence[str | Path], cwd: Path, env: dict[str, str], what: str
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of a whole command; ``RuntimeError`` with the command and its output if it
    fails."""
    argv = [str(c) for c in cmd]
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        shown = {k: v for k, v in env.items() if k.startswith(("SHIPYARD_", "DVC_"))}
        raise RuntimeError(
            f"{what} failed with exit code {proc.returncode}\n"
            f"  command: {' '.join(argv)}\n  cwd: {cwd}\n  env: {shown}\n"
            f"  stdout: {proc.stdout[-2000:]}\n  stderr: {proc.stderr[-4000:]}"
        )
    return elapsed, proc


# ---------------------------------------------------------------------------- systems
class System:
    """One way of versioning data; every method works on a workspace folder ``ws``."""

    key = ""
    label = ""
    has_status = False
    digest: Callable[[bytes], str] = staticmethod(_blake3_hex)

    def env(self, scenario: Path, ws: Path) -> dict[str, str]:
        raise NotImplementedError

    def init(self, scenario: Path, ws: Path) -> None:
        raise NotImplementedError

    def store(self, ws: Path) -> Path:
        raise NotImplementedError

    def add(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def status(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        raise NotImplementedError


class _Shipyard(System):
    def env(self, scenario: Path, ws: Path) -> dict[str, str]:
        env = _clean_env()
        env["SHIPYARD_PROJECT_DIR"] = str(ws)
        return env

    def init(self, scenario: Path, ws: Path) -> None:
        _run([SHIPYARD, "init", ws], ws, self.env(scenario, ws), "shipyard init")

    def store(self, ws: Path) -> Path:
        return ws / ".shipyard" / "objects"

    def status(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        cmd = [SHIPYARD, "data", "status", name, ws / name, "--json"]
        secs, proc = _run(cmd, ws, self.env(scenario, ws), "shipyard data status")
        try:
            body = json.loads(proc.stdout)
        except ValueError:
            body = proc.stdout[-500:]
        return {"s": secs, "clean": _shipyard_clean(body), "output": body}


def _shipyard_clean(body: Any) -> bool | None:
    """Whether ``shipyard data status --json`` says the folder matches the latest version."""
    if not isinstance(body, dict):
        return None
    for key in ("clean", "unchanged", "up_to_date", "same"):
        if isinstance(body.get(key), bool):
            return bool(body[key])
    for key in ("changed", "differs", "dirty", "modified"):
        if isinstance(body.get(key), bool):
            return not body[key]
    state = body.get("status") or body.get("state")
    if isinstance(state, str):
        return state.lower() in {"clean", "unchanged", "up-to-date", "up_to_date", "same"}
    return None


class ShipyardSDK(_Shipyard):
    key, label = "shipyard_sdk", "Shipyard SDK"

    def add(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        result = run_child(
            "sdk-register", {"name": name, "path": str(ws / name)}, self.env(scenario, ws), ws
        )
        result["s"] = result["register_s"]
        return result


class ShipyardCLI(_Shipyard):
    key, label = "shipyard_cli", "Shipyard CLI"
    has_status = True

    def add(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        cmd = [SHIPYARD, "data", "register", name, name]
        secs, proc = _run(cmd, ws, self.env(scenario, ws), "shipyard data register")
        # "registered tree@v2 (…)" or "unchanged, already tree@v1 (…)"
        created = "registered" in proc.stdout and "unchanged" not in proc.stdout
        return {"s": secs, "created": created, "stdout": proc.stdout.strip()[-300:]}


class ShipyardCLILink(ShipyardCLI):
    """``shipyard data register --link``: large files hard-linked (DVC's cache.type=hardlink)."""

    key, label = "shipyard_cli_link", "Shipyard CLI --link"
    has_status = False

    def add(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        cmd = [SHIPYARD, "data", "register", name, name, "--link"]
        secs, proc = _run(cmd, ws, self.env(scenario, ws), "shipyard data register --link")
        created = "registered" in proc.stdout and "unchanged" not in proc.stdout
        return {"s": secs, "created": created, "stdout": proc.stdout.strip()[-300:]}


class Dvc(System):
    key, label = "dvc", f"DVC {DVC_VERSION}"
    has_status = True
    digest = staticmethod(_md5_hex)

    def env(self, scenario: Path, ws: Path) -> dict[str, str]:
        env = _clean_env()
        env.update(
            {
                "DVC_NO_ANALYTICS": "1",
                # Keep DVC's site cache (index, locks) and configs inside the temporary folder.
                "DVC_SITE_CACHE_DIR": str(scenario / "dvc-site-cache"),
                "DVC_GLOBAL_CONFIG_DIR": str(scenario / "dvc-global"),
                "DVC_SYSTEM_CONFIG_DIR": str(scenario / "dvc-system"),
            }
        )
        return env

    def init(self, scenario: Path, ws: Path) -> None:
        env = self.env(scenario, ws)
        _run(["git", "init", "-q"], ws, env, "git init")
        _run([DVC, "init", "-q"], ws, env, "dvc init")
        _run([DVC, "config", "core.analytics", "false"], ws, env, "dvc config")
        _run([DVC, "config", "core.check_update", "false"], ws, env, "dvc config")

    def store(self, ws: Path) -> Path:
        return ws / ".dvc" / "cache"

    def add(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        secs, _ = _run([DVC, "add", name], ws, self.env(scenario, ws), "dvc add")
        return {"s": secs}

    def status(self, scenario: Path, ws: Path, name: str) -> dict[str, Any]:
        secs, proc = _run([DVC, "status"], ws, self.env(scenario, ws), "dvc status")
        return {
            "s": secs,
            "clean": "up to date" in proc.stdout,
            "output": proc.stdout.strip()[-500:],
        }


def ensure_dvc(quiet: bool) -> str:
    """The DVC venv, created (or repaired) on first use; returns ``dvc --version``."""
    if DVC.exists():
        proc = subprocess.run([str(DVC), "--version"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip() == DVC_VERSION:
            return DVC_VERSION
    python = DVC_VENV / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3.11") or getattr(sys, "_base_executable", sys.executable)
        _progress(f"  creating {DVC_VENV} with {base} …", quiet)
        subprocess.run([base, "-m", "venv", str(DVC_VENV)], check=True)
    _progress(f"  pip install dvc=={DVC_VERSION} into {DVC_VENV} …", quiet)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"dvc=={DVC_VERSION}"],
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    proc = subprocess.run([str(DVC), "--version"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def shipyard_problem() -> str | None:
    """Why the Shipyard side cannot run (the data API not there yet), or None."""
    try:
        found = importlib.util.find_spec(SDK_MODULE)
    except ModuleNotFoundError as e:
        return f"{SDK_MODULE} not importable: {e}"
    if found is None:
        return f"{SDK_MODULE} does not exist yet"
    return None


# ---------------------------------------------------------------------------- scenarios
def big_scenario(system: System, src: Path, root: Path) -> dict[str, Any]:
    """Workload 1 in a fresh workspace and store: add the big file, then re-add it unchanged."""
    scenario = Path(tempfile.mkdtemp(prefix=f"big-{system.key}-", dir=root))
    try:
        ws = scenario / "ws"
        ws.mkdir()
        shutil.copyfile(src / BIG, ws / BIG)
        system.init(scenario, ws)
        store = system.store(ws)
        _settle(ws / BIG)
        before = _objects(store)
        add = system.add(scenario, ws, BIG)
        after = _objects(store)
        _settle(ws / BIG)
        again = system.add(scenario, ws, BIG)
        return {
            "add": add,
            "stored_bytes": sum(after.values()) - sum(before.values()),
            "readd": again,
            "readd_stored_bytes": sum(_objects(store).values()) - sum(after.values()),
        }
    finally:
        shutil.rmtree(scenario, ignore_errors=True)


def tree_scenario(system: System, src: Path, root: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """Workloads 2-4 in one fresh workspace and store, in order."""
    scenario = Path(tempfile.mkdtemp(prefix=f"tree-{system.key}-", dir=root))
    try:
        ws = scenario / "ws"
        ws.mkdir()
        shutil.copytree(src / TREE, ws / TREE)
        system.init(scenario, ws)
        store = system.store(ws)
        folder = ws / TREE
        _settle(folder)
        before = _objects(store)
        add = system.add(scenario, ws, TREE)
        after_add = _objects(store)

        readd, status = [], []
        for _ in range(sizes["noop_repeats"]):
            _settle(folder)
            readd.append(system.add(scenario, ws, TREE))
            if system.has_status:
                status.append(system.status(scenario, ws, TREE))
        after_noop = _objects(store)

        changed = _changed_files(sizes["files"])
        for rel in changed:
            (folder / rel).write_bytes(_changed_content(rel))
        _settle(folder)
        status_changed = system.status(scenario, ws, TREE) if system.has_status else None
        _settle(folder)
        add_changed = system.add(scenario, ws, TREE)
        after_changed = _objects(store)
        growth = _store_growth(
            store, after_noop, after_changed, _expected_objects(system.digest, changed)
        )
        return {
            "add": add,
            "stored_bytes": sum(after_add.values()) - sum(before.values()),
            "readd": readd,
            "status": status,
            "noop_stored_bytes": sum(after_noop.values()) - sum(after_add.values()),
            "status_changed": status_changed,
            "add_changed": add_changed,
            "changed": growth,
        }
    finally:
        shutil.rmtree(scenario, ignore_errors=True)


def _cli_start(system: System, root: Path) -> list[float]:
    """Wall seconds of ``shipyard --help`` / ``dvc --version`` (one unrecorded warm-up)."""
    cmd = [SHIPYARD, "--help"] if isinstance(system, _Shipyard) else [DVC, "--version"]
    scenario = Path(tempfile.mkdtemp(prefix=f"start-{system.key}-", dir=root))
    try:
        env = system.env(scenario, scenario)
        _run(cmd, scenario, env, "start-up")
        return [_run(cmd, scenario, env, "start-up")[0] for _ in range(5)]
    finally:
        shutil.rmtree(scenario, ignore_errors=True)


def _compile_shipyard() -> None:
    """Byte-compile Shipyard once, so no timed command pays for writing ``.pyc`` files (the
    package is being edited while benchmarks run)."""
    spec = importlib.util.find_spec("shipyard")
    for location in (spec.submodule_search_locations or []) if spec else []:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", location],
            capture_output=True,
            check=False,
        )


def collect_data(sizes: dict[str, int], tmpdir: Path, quiet: bool) -> dict[str, Any]:
    dvc_version = ensure_dvc(quiet)
    problem = shipyard_problem()
    if problem is None:
        _compile_shipyard()
    systems: list[System] = [Dvc()]
    if problem is None:
        systems = [ShipyardSDK(), ShipyardCLI(), ShipyardCLILink(), Dvc()]
    raw: dict[str, Any] = {"big": {}, "tree": {}, "start": {}, "errors": {}}
    if problem:
        raw["errors"]["shipyard"] = problem
    root = Path(tempfile.mkdtemp(prefix="bench-data-", dir=tmpdir))
    try:
        src = root / "src"
        _progress(
            f"  generating {sizes['big_mib']:,} MiB + {sizes['files']:,} x {FILE_KIB} KiB "
            f"in {root} …",
            quiet,
        )
        raw["generate"] = generate(src, sizes)
        for system in systems:
            if system.has_status:  # the CLIs: shipyard (once) and dvc
                raw["start"][system.key] = _cli_start(system, root)
        for r in range(sizes["repeats"]):
            for system in systems:  # interleaved, so drift spreads over every system
                for workload, fn in (
                    ("big", lambda s=system: big_scenario(s, src, root)),
                    ("tree", lambda s=system: tree_scenario(s, src, root, sizes)),
                ):
                    if workload == "tree" and isinstance(system, ShipyardCLILink):
                        continue  # links change nothing for 10 KiB files (they are packed)
                    _progress(f"  {workload} {system.label} (repeat {r + 1}) …", quiet)
                    try:
                        raw[workload].setdefault(system.key, []).append(fn())
                    except Exception as e:  # a failure of one system is a result, not a crash
                        # The first error of each system and workload is kept; later repeats
                        # still run (a working tree may be mid-edit for a moment).
                        key = f"{system.key}: {workload}"
                        if key not in raw["errors"]:
                            raw["errors"][key] = str(e)
                        raw.setdefault("failures", {}).setdefault(key, 0)
                        raw["failures"][key] += 1
                        _progress(f"    FAILED: {e}", quiet)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"raw": raw, "dvc": dvc_version, "shipyard_problem": problem}


# ---------------------------------------------------------------------------- Shipyard child
def child_sdk_register(p: dict[str, Any]) -> dict[str, Any]:
    """One ``sy.data.register`` in this fresh interpreter; import and first use timed apart."""
    start = time.perf_counter()
    import shipyard as sy

    data = sy.data
    import_s = time.perf_counter() - start
    warmup_s = None
    lister = getattr(data, "list", None)
    if callable(lister):
        start = time.perf_counter()
        lister()
        warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    v = data.register(p["name"], p["path"])
    register_s = time.perf_counter() - start
    return {
        "import_s": import_s,
        "warmup_s": warmup_s,
        "register_s": register_s,
        "ref": v.ref,
        "version": v.version,
        "content_id": v.content_id,
        "created": v.created,
    }


# ---------------------------------------------------------------------------- io children
def _reordered(items: list[Any], r: int) -> list[Any]:
    """The variants in another order on every repeat (the first repeat as listed): on a VM a
    sample's speed depends on what ran just before it (pages freed a moment ago are fast to
    reuse), so no variant may always follow the same one."""
    out = list(items)
    if r:
        random.Random(r).shuffle(out)
    return out


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_loop(src: Path, dst: Path, fsync: bool) -> None:
    with open(src, "rb") as inp, open(dst, "wb") as out:
        while chunk := inp.read(CHUNK):
            out.write(chunk)
        out.flush()
        if fsync:
            os.fsync(out.fileno())


def _copyfile(src: Path, dst: Path, fsync: bool) -> None:
    shutil.copyfile(src, dst)
    if fsync:
        _fsync_path(dst)


def child_io_copy(p: dict[str, Any]) -> dict[str, Any]:
    tmp = Path(p["tmp"])
    src, dst = tmp / "src.bin", tmp / "dst.bin"
    _write_random(src, p["mib"])
    _settle(src)
    variants: dict[str, Callable[[], None]] = {
        "shutil.copyfile": lambda: _copyfile(src, dst, False),
        "shutil.copyfile + fsync": lambda: _copyfile(src, dst, True),
        "read/write loop, 1 MiB": lambda: _copy_loop(src, dst, False),
        "read/write loop, 1 MiB + fsync": lambda: _copy_loop(src, dst, True),
        # Back-to-back copies reuse the page-cache pages the last one freed. On a VM that
        # hands freed memory back to the host (virtio-balloon free page reporting), a copy
        # after a pause touches fresh pages and can be several times slower.
        f"shutil.copyfile, after {IDLE_S:.0f} s idle": lambda: _copyfile(src, dst, False),
        f"shutil.copyfile + fsync, after {IDLE_S:.0f} s idle": lambda: _copyfile(src, dst, True),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(p["repeats"]):
        for name, fn in _reordered(list(variants.items()), r):
            dst.unlink(missing_ok=True)
            os.sync()
            if "idle" in name:
                time.sleep(IDLE_S)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    dst.unlink(missing_ok=True)
    return {"bytes": p["mib"] * MIB, "times": times}


def _write_files(root: Path, payloads: list[bytes], mode: str, threads: int) -> None:
    """Each payload to ``root/xx/NNNNNN`` through a temporary file and ``os.replace``."""
    made: set[str] = set()
    lock = threading.Lock()

    def one(i: int) -> None:
        sub = f"{i % 256:02x}"
        folder = root / sub
        if sub not in made:
            folder.mkdir(parents=True, exist_ok=True)
            with lock:
                made.add(sub)
        final = folder / f"{i:06d}"
        tmp = folder / f".{i:06d}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, payloads[i])
            if mode != "none":
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        if mode == "file+dir":
            _fsync_path(folder)

    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(len(payloads))))
    else:
        for i in range(len(payloads)):
            one(i)


def child_io_files(p: dict[str, Any]) -> dict[str, Any]:
    tmp = Path(p["tmp"])
    payloads = [os.urandom(FILE_KIB * KIB) for _ in range(p["files"])]
    variants: dict[str, tuple[str, int, bool]] = {  # fsync mode, threads, os.sync() at end
        "no sync (page cache only)": ("none", 1, False),
        "fsync per file": ("file", 1, False),
        "fsync per file + its folder (as LocalBackend)": ("file+dir", 1, False),
        "fsync per file + its folder, 4 threads": ("file+dir", 4, False),
        "no fsync, one os.sync() at the end": ("none", 1, True),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(p["repeats"]):
        for k, (name, (mode, threads, sync_at_end)) in _reordered(
            list(enumerate(variants.items())), r
        ):
            root = tmp / f"v{k}-{r}"
            os.sync()
            start = time.perf_counter()
            _write_files(root, payloads, mode, threads)
            if sync_at_end:
                os.sync()
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(root)
    os.sync()
    return {"files": p["files"], "bytes": p["files"] * FILE_KIB * KIB, "times": times}


def child_io_hash(p: dict[str, Any]) -> dict[str, Any]:
    import blake3

    tmp = Path(p["tmp"])
    src = tmp / "src.bin"
    _write_random(src, p["mib"])
    _settle(src)

    def streamed(factory: Callable[[], Any]) -> Callable[[], str]:
        def run() -> str:
            h = factory()
            with open(src, "rb") as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
            return str(h.hexdigest())

        return run

    def mapped(threads: int) -> Callable[[], str]:
        return lambda: str(blake3.blake3(max_threads=threads).update_mmap(src).hexdigest())

    variants: dict[str, Callable[[], str]] = {
        "blake3 update_mmap, max_threads=AUTO": mapped(blake3.blake3.AUTO),
        "blake3 update_mmap, 1 thread": mapped(1),
        "blake3 streamed 1 MiB, 1 thread (as ContentStore)": streamed(
            lambda: blake3.blake3(max_threads=1)
        ),
        "md5 streamed 1 MiB (DVC's hash)": streamed(lambda: hashlib.md5(usedforsecurity=False)),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    digests: dict[str, set[str]] = {}
    for _ in range(p["repeats"]):
        for name, fn in variants.items():
            start = time.perf_counter()
            digest = fn()
            times[name].append(time.perf_counter() - start)
            digests.setdefault(name.split()[0], set()).add(digest)
    consistent = all(len(v) == 1 for v in digests.values())
    return {"bytes": p["mib"] * MIB, "times": times, "digests_agree": consistent}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sdk-register": child_sdk_register,
    "io-copy": child_io_copy,
    "io-files": child_io_files,
    "io-hash": child_io_hash,
}


def run_child(
    name: str, params: dict[str, Any], env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    """Run one child in a fresh interpreter; its result is the last ``BENCH_RESULT`` line."""
    argv = [sys.executable, __file__, "--child", name, "--params", json.dumps(params)]
    proc = subprocess.run(
        argv,
        env=env if env is not None else _clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    shown = {k: v for k, v in (env or {}).items() if k.startswith("SHIPYARD_")}
    raise RuntimeError(
        f"child {name} failed with exit code {proc.returncode}\n"
        f"  command: {' '.join(argv)}\n  cwd: {cwd}\n  env: {shown}\n"
        f"  stderr: {proc.stderr[-4000:]}"
    )


def collect_io(sizes: dict[str, int], tmpdir: Path, quiet: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, params in (
        ("io-copy", {"mib": sizes["io_big_mib"], "repeats": sizes["io_repeats"]}),
        ("io-files", {"files": sizes["io_files"], "repeats": sizes["io_repeats"]}),
        ("io-hash", {"mib": sizes["io_big_mib"], "repeats": sizes["io_repeats"]}),
    ):
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=tmpdir))
        _progress(f"  {name} in {tmp} …", quiet)
        try:
            raw[name] = run_child(name, {**params, "tmp": str(tmp)}, cwd=tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return raw


# ---------------------------------------------------------------------------- environment
def _filesystem(path: Path) -> str:
    """``device fstype (mount point)`` of the mount holding ``path``."""
    best = ("?", "?", "")
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            inside = str(path.resolve()).startswith(mnt.rstrip("/") + "/") or str(path) == mnt
            if inside and len(mnt) >= len(best[2]):
                best = (dev, fstype, mnt)
    return f"{best[0]} {best[1]} (mounted at {best[2] or '?'})"


def _source_fingerprint() -> str:
    """A short hash of the Shipyard sources measured (they change under a working tree)."""
    spec = importlib.util.find_spec("shipyard")
    h = hashlib.sha256()
    for location in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(location).rglob("*.py")):
            h.update(path.relative_to(location).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def _environment(tmpdir: Path) -> dict[str, str]:
    import importlib.metadata as md

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "?"

    return {
        "shipyard_source": _source_fingerprint(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "shipyard": version("shipyard"),
        "blake3": version("blake3"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "tmpdir": str(tmpdir),
        "filesystem": _filesystem(tmpdir),
    }


# ---------------------------------------------------------------------------- summary
def _row(
    workload: str,
    values: dict[str, float | None],
    unit: str = "s",
    target: str = "",
    status: str | None = None,
    ratios: bool = True,
) -> dict[str, Any]:
    dvc = values.get("dvc")
    cli, sdk = values.get("shipyard_cli"), values.get("shipyard_sdk")
    return {
        "workload": workload,
        "unit": unit,
        **{k: values.get(k) for k in ("shipyard_sdk", "shipyard_cli", "dvc")},
        "ratio_cli": dvc / cli if ratios and dvc is not None and cli else None,
        "ratio_sdk": dvc / sdk if ratios and dvc is not None and sdk else None,
        "target": target,
        "status": status,
    }


def _verdict(passed: bool | None) -> str | None:
    return None if passed is None else ("PASS" if passed else "MISSED")


def _med_of(runs: list[dict[str, Any]], get: Callable[[dict[str, Any]], Any]) -> float | None:
    values = []
    for run in runs:
        got = get(run)
        values.extend(got if isinstance(got, list) else [got])
    return _median([v for v in values if v is not None])


def summarize(report: dict[str, Any]) -> list[dict[str, Any]]:
    raw, sizes = report["raw"], report["sizes"]
    big, tree = raw["big"], raw["tree"]
    keys = ("shipyard_sdk", "shipyard_cli", "dvc")

    def med(runs: dict[str, list[Any]], get: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        return {k: _med_of(runs[k], get) if runs.get(k) else None for k in keys}

    def ratio_check(values: dict[str, Any], target: float) -> str | None:
        if values["dvc"] is None or not values["shipyard_cli"]:
            return None
        return _verdict(values["dvc"] / values["shipyard_cli"] >= target)

    def under(values: dict[str, Any], cols: Sequence[str], limit: float) -> str | None:
        parts = [
            f"{'SDK' if c == 'shipyard_sdk' else 'CLI'} {_verdict(values[c] < limit)}"
            for c in cols
            if values.get(c) is not None
        ]
        return ", ".join(parts) or None

    rows = []
    gib = (
        f"{sizes['big_mib'] / 1024:g} GiB"
        if sizes["big_mib"] >= 1024
        else (f"{sizes['big_mib']} MiB")
    )
    n, n_changed = sizes["files"], len(_changed_files(sizes["files"]))

    v = med(big, lambda r: r["add"]["s"])
    rows.append(
        _row(
            f"1. add one {gib} file",
            v,
            target=f"≥{TARGET_BIG_RATIO:.0f}x (CLI vs dvc add)",
            status=ratio_check(v, TARGET_BIG_RATIO),
        )
    )
    linked = big.get("shipyard_cli_link")
    if linked:
        v_link = {
            "shipyard_sdk": None,
            "shipyard_cli": _med_of(linked, lambda r: r["add"]["s"]),
            "dvc": v["dvc"],
        }
        rows.append(
            _row(
                f"1. add one {gib} file, CLI --link (hard link, read-only)",
                v_link,
                target=f"≥{TARGET_BIG_RATIO:.0f}x (CLI vs dvc add)",
                status=ratio_check(v_link, TARGET_BIG_RATIO),
            )
        )
    rows.append(
        _row(
            f"1. bytes stored for the {gib} file",
            med(big, lambda r: r["stored_bytes"]),
            unit="B",
            ratios=False,
        )
    )
    rows.append(_row("1. re-add the unchanged file (info)", med(big, lambda r: r["readd"]["s"])))

    v = med(tree, lambda r: r["add"]["s"])
    rows.append(
        _row(
            f"2. add a folder of {n:,} x {FILE_KIB} KiB",
            v,
            target=f"≥{TARGET_TREE_RATIO:.0f}x (CLI vs dvc add)",
            status=ratio_check(v, TARGET_TREE_RATIO),
        )
    )
    rows.append(
        _row(
            "2. bytes stored for the folder",
            med(tree, lambda r: r["stored_bytes"]),
            unit="B",
            ratios=False,
        )
    )

    v = med(tree, lambda r: [x["s"] for x in r["readd"]])
    rows.append(
        _row(
            "3. no-op: re-add the unchanged folder",
            v,
            target=f"<{TARGET_NOOP_S:.1f} s",
            status=under(v, ("shipyard_sdk", "shipyard_cli"), TARGET_NOOP_S),
        )
    )
    v = med(tree, lambda r: [x["s"] for x in r["status"]])
    rows.append(
        _row(
            "3. no-op: status of the unchanged folder",
            v,
            target=f"<{TARGET_NOOP_S:.1f} s",
            status=under(v, ("shipyard_cli",), TARGET_NOOP_S),
        )
    )
    rows.append(
        _row(
            f"4. status with {n_changed:,} files changed (info)",
            med(tree, lambda r: r["status_changed"]["s"] if r["status_changed"] else None),
        )
    )
    rows.append(
        _row(
            f"4. add the new version ({n_changed:,} files changed)",
            med(tree, lambda r: r["add_changed"]["s"]),
        )
    )
    growth = med(tree, lambda r: r["changed"]["growth_bytes"])
    expected = n_changed * FILE_KIB * KIB
    verdicts = [_only_changed(run["changed"], expected, n) for k in keys for run in tree.get(k, [])]
    rows.append(
        _row(
            "4. bytes newly stored by that add",
            growth,
            unit="B",
            target=f"changed files only ({expected:,} B) + listing",
            status=_verdict(all(verdicts)) if verdicts else None,
            ratios=False,
        )
    )
    rows.append(
        _row(
            "4.   of which file data (loose objects or packs)",
            med(tree, lambda r: r["changed"]["data_bytes"]),
            unit="B",
            ratios=False,
        )
    )
    rows.append(
        _row(
            "4.   of which the listing (manifest / .dir)",
            med(tree, lambda r: r["changed"]["listing_bytes"]),
            unit="B",
            ratios=False,
        )
    )
    rows.append(
        _row(
            "SDK: import shipyard + sy.data (info)",
            {"shipyard_sdk": _med_of(big.get("shipyard_sdk", []), lambda r: r["add"]["import_s"])},
            ratios=False,
        )
    )
    warm = _med_of(big.get("shipyard_sdk", []), lambda r: r["add"]["warmup_s"])
    if warm is not None:
        rows.append(_row("SDK: first sy.data.list() (info)", {"shipyard_sdk": warm}, ratios=False))
    start = {k: _median(raw["start"].get(k, [])) for k in ("shipyard_cli", "dvc")}
    rows.append(_row("CLI start: shipyard --help / dvc --version (info)", start))
    return rows


def _only_changed(growth: dict[str, Any], changed_bytes: int, n_files: int) -> bool:
    """Workload 4's target: the new file data is about the changed bytes (packing overhead
    of up to 10 % + 64 KiB allowed), and the listing stays under 256 bytes per file."""
    return (
        growth["data_bytes"] <= changed_bytes * 1.1 + 64 * KIB
        and growth["listing_bytes"] <= MANIFEST_BYTES_PER_FILE * n_files
    )


def checks(report: dict[str, Any]) -> list[str]:
    """Anomalies worth a look: failures, wrong versions, no-ops that store bytes."""
    raw, notes = report["raw"], []
    for key, err in raw["errors"].items():
        times = raw.get("failures", {}).get(key)
        notes.append(f"{key}: failed {times or 1} time(s); the first error: {err}")
    start, end = report["env"]["shipyard_source"], report["env"].get("shipyard_source_at_end")
    if end and end != start:
        notes.append(f"the Shipyard sources changed during the run ({start} → {end})")
    for run in raw["big"].get("shipyard_sdk", []):
        add, again = run["add"], run["readd"]
        if not add["created"] or add["version"] != 1:
            notes.append(f"SDK add of the big file returned {add['ref']} created={add['created']}")
        if again["created"] or again["content_id"] != add["content_id"]:
            notes.append(f"SDK re-add of the unchanged big file made {again['ref']}")
    for key, runs in raw["tree"].items():
        for run in runs:
            if run["noop_stored_bytes"]:
                notes.append(f"{key}: no-op re-add stored {run['noop_stored_bytes']:,} bytes")
            for st in run["status"]:
                if st["clean"] is not True:
                    notes.append(f"{key}: status of the unchanged folder: {st['output']!r}")
                    break
            sc = run["status_changed"]
            if sc is not None and sc["clean"] is not False:
                notes.append(f"{key}: status after the change: {sc['output']!r}")
            g = run["changed"]
            expected = len(_changed_files(report["sizes"]["files"])) * FILE_KIB * KIB
            if not _only_changed(g, expected, report["sizes"]["files"]):
                notes.append(
                    f"{key}: the 1 % change stored {g['data_bytes']:,} B of file data in "
                    f"{g['data_objects']} object(s) and {g['listing_bytes']:,} B of listings "
                    f"({expected:,} B of files changed)"
                )
            if key == "shipyard_cli":
                if not run["add"]["created"] or not run["add_changed"]["created"]:
                    notes.append(f"CLI add did not register a version: {run['add']['stdout']!r}")
                for x in run["readd"]:
                    if x["created"]:
                        notes.append(f"CLI no-op re-add made a new version: {x['stdout']!r}")
                        break
            if key == "shipyard_sdk":
                first = run["add"]
                for x in run["readd"]:
                    if x["created"] or x["version"] != first["version"]:
                        notes.append(f"SDK no-op re-add returned {x['ref']} created={x['created']}")
                        break
                if not run["add_changed"]["created"] or run["add_changed"]["version"] != 2:
                    notes.append(f"SDK add after the change returned {run['add_changed']['ref']}")
    return notes


def summarize_io(io: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for section, label in (("io-copy", "a"), ("io-files", "b"), ("io-hash", "c")):
        got = io[section]
        for name, times in got["times"].items():
            secs = _median(times) or 0.0
            rate = got["bytes"] / secs / 1e6 if secs else None
            what = {
                "io-copy": f"copy {got['bytes'] // MIB:,} MiB",
                "io-files": f"write {got.get('files', 0):,} x {FILE_KIB} KiB (temp + rename)",
                "io-hash": f"hash {got['bytes'] // MIB:,} MiB",
            }[section]
            extra = ""
            if section == "io-files" and secs:
                extra = f"{got['files'] / secs:,.0f} files/s"
            rows.append(
                {
                    "group": f"({label}) {what}",
                    "variant": name,
                    "median_s": secs,
                    "mb_s": rate,
                    "extra": extra,
                    "samples": times,
                }
            )
    return rows


# ---------------------------------------------------------------------------- output
def _fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _fmt_b(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / MIB:,.2f} MiB" if abs(value) >= MIB else f"{value:,.0f} B"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}x"


def _table(title: str, headers: list[str], cells: list[list[str]], left: set[int]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for c in cells:
            print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))
        return
    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i in left else "right")
    for c in cells:
        table.add_row(
            *(x.replace("PASS", "[green]PASS[/]").replace("MISSED", "[red]MISSED[/]") for x in c)
        )
    # Piped output (CI logs, files) would otherwise be squeezed to 80 columns.
    Console(width=None if sys.stdout.isatty() else 190).print(table)


def render(report: dict[str, Any]) -> None:
    env = report["env"]
    quick = " [--quick]" if report["quick"] else ""
    if "rows" in report:
        title = (
            f"Data versioning — Shipyard {env['shipyard']} (sources {env['shipyard_source']}) "
            f"vs DVC {report['dvc']} "
            f"(Python {env['python']}, {env['cpu_count']} CPUs, {env['filesystem']}){quick}"
        )
        headers = [
            "Workload",
            "Shipyard SDK",
            "Shipyard CLI",
            f"DVC {report['dvc']}",
            "DVC/CLI",
            "DVC/SDK",
            "Target",
            "Result",
        ]
        cells = []
        for r in report["rows"]:
            fmt = _fmt_b if r["unit"] == "B" else _fmt_s
            cells.append(
                [
                    r["workload"],
                    fmt(r["shipyard_sdk"]),
                    fmt(r["shipyard_cli"]),
                    fmt(r["dvc"]),
                    _fmt_ratio(r["ratio_cli"]),
                    _fmt_ratio(r["ratio_sdk"]),
                    r["target"] or "—",
                    r["status"] or "—",
                ]
            )
        _table(title, headers, cells, {0, 6, 7})
        sizes = report["sizes"]
        print(
            f"Medians of {sizes['repeats']} repeat(s), each in a fresh workspace and store; "
            f"no-op rows: {sizes['noop_repeats']} fresh processes per repeat. SDK = "
            "sy.data.register in a warm interpreter; CLI and DVC = whole commands (start-up "
            "included). Data generation took "
            f"{report['raw'].get('generate', {}).get('generate_s', 0):.1f} s (not a result)."
        )
        if report.get("shipyard_problem"):
            print(f"Shipyard: not measured — {report['shipyard_problem']}.")
        for note in report["anomalies"]:
            print(f"ANOMALY: {note}")
    if "io_rows" in report:
        title = f"Filesystem figures in {env['tmpdir']} ({env['filesystem']}){quick}"
        cells = [
            [
                r["group"],
                r["variant"],
                _fmt_s(r["median_s"]),
                f"{r['mb_s']:,.0f} MB/s" if r["mb_s"] else "—",
                r["extra"],
            ]
            for r in report["io_rows"]
        ]
        _table(title, ["Workload", "Variant", "Median", "Throughput", ""], cells, {0, 1})
        print(
            f"Medians of {report['sizes']['io_repeats']} repeat(s); source files in the page "
            "cache; os.sync() (untimed) before each sample."
        )
        if not report["io"]["io-hash"].get("digests_agree", True):
            print("ANOMALY: the hashing variants disagree on the digest")
    print(
        f"Load average (1/5/15 min) at start {env['load_average_at_start']}, at end "
        f"{env['load_average_at_end']}; {os.cpu_count()} CPUs; whole run {env['wall_s']} s."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--section",
        choices=["all", "data", "io"],
        default="all",
        help="data: Shipyard vs DVC; io: filesystem figures; all (default): both",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the temporary folders go (default: the system temp dir)",
    )
    parser.add_argument("--repeats", type=int, help="override the number of repeats")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CHILDREN[args.child](json.loads(args.params))
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0

    sizes = dict(QUICK if args.quick else FULL)
    if args.repeats:
        sizes["repeats"] = sizes["io_repeats"] = args.repeats
    tmpdir = args.tmpdir.resolve()
    report: dict[str, Any] = {"quick": args.quick, "sizes": sizes, "env": _environment(tmpdir)}
    started = time.perf_counter()
    if args.section in ("all", "data"):
        report.update(collect_data(sizes, tmpdir, quiet=args.json))
        report["env"]["shipyard_source_at_end"] = _source_fingerprint()
        report["rows"] = summarize(report)
        report["anomalies"] = checks(report)
    if args.section in ("all", "io"):
        report["io"] = collect_io(sizes, tmpdir, quiet=args.json)
        report["io_rows"] = summarize_io(report["io"])
    report["env"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report["env"]["wall_s"] = f"{time.perf_counter() - started:.0f}"
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        render(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
