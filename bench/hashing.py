"""Hash throughput: hashlib sha256 vs blake3, as the content store uses them.

Two workloads, each timed ``--repeat`` times (best run reported):

* large: ``--size-mib`` MiB (default 1024 = 1 GiB) fed to one hasher in 1 MiB chunks,
  exactly as ``ContentStore.put_stream`` does; blake3 is also measured with
  ``max_threads`` > 1 to see whether multithreading pays off on 1 MiB updates;
* small: ``--small-count`` objects of 10 KiB, each hashed by a fresh hasher;
* file (``--file``): the same large size read back from a temporary file (page
  cache, as ``ContentStore.verify`` reads a local object) and hashed, to see whether
  the hashing differences survive next to real I/O.

Large and small data are generated in memory (random, reused across chunks), so
those figures are pure hashing cost. Run with::

    python bench/hashing.py [--size-mib 1024] [--small-count 20000] [--repeat 3] [--file]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol

import blake3

MIB = 1024 * 1024
CHUNK = MIB
SMALL = 10 * 1024


class Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


def _large(factory: Callable[[], Hasher], chunks: list[bytes], total_chunks: int) -> float:
    """Seconds to hash ``total_chunks`` MiB through one hasher."""
    h = factory()
    n = len(chunks)
    start = time.perf_counter()
    for i in range(total_chunks):
        h.update(chunks[i % n])
    h.hexdigest()
    return time.perf_counter() - start


def _small(factory: Callable[[bytes], Hasher], objects: list[bytes]) -> float:
    """Seconds to hash every object with a fresh hasher."""
    start = time.perf_counter()
    for obj in objects:
        factory(obj).hexdigest()
    return time.perf_counter() - start


def _file(factory: Callable[[], Hasher], path: str) -> float:
    """Seconds to read ``path`` in 1 MiB chunks and hash it."""
    h = factory()
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    h.hexdigest()
    return time.perf_counter() - start


def _best(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-count", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", action="store_true", help="also hash a file read from disk")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs, blake3 {blake3.__version__}"
    )
    # A few distinct random chunks so no layer can cache a single buffer.
    chunks = [os.urandom(CHUNK) for _ in range(8)]
    total = args.size_mib
    mb = total * MIB / 1e6

    large: dict[str, Callable[[], Hasher]] = {
        "sha256": hashlib.sha256,
        "blake3 (1 thread)": partial(blake3.blake3, max_threads=1),
        "blake3 (2 threads)": partial(blake3.blake3, max_threads=2),
        "blake3 (AUTO threads)": partial(blake3.blake3, max_threads=blake3.blake3.AUTO),
    }
    print(f"\nlarge: {total} MiB in 1 MiB chunks, best of {args.repeat}")
    large_rate: dict[str, float] = {}
    for name, factory in large.items():
        secs = _best(args.repeat, partial(_large, factory, chunks, total))
        large_rate[name] = mb / secs
        print(f"  {name:<22} {secs:7.3f} s  {mb / secs:9.1f} MB/s")

    # Multithreaded blake3 on bigger updates, for reference (the store feeds 1 MiB).
    big = [b"".join(chunks)]  # one 8 MiB buffer
    auto = partial(blake3.blake3, max_threads=blake3.blake3.AUTO)
    secs = _best(args.repeat, partial(_large, auto, big, total // 8))
    big_mb = total // 8 * 8 * MIB / 1e6
    print(f"  {'blake3 AUTO, 8 MiB upd':<22} {secs:7.3f} s  {big_mb / secs:9.1f} MB/s")

    objects = [os.urandom(SMALL) for _ in range(min(args.small_count, 2000))]
    objects = (objects * (args.small_count // len(objects) + 1))[: args.small_count]
    small_mb = len(objects) * SMALL / 1e6
    print(f"\nsmall: {len(objects)} objects of 10 KiB, fresh hasher each, best of {args.repeat}")
    small: dict[str, Callable[[bytes], Hasher]] = {
        "sha256": hashlib.sha256,
        "blake3 (1 thread)": blake3.blake3,
    }
    small_rate: dict[str, float] = {}
    for name, small_factory in small.items():
        secs = _best(args.repeat, partial(_small, small_factory, objects))
        small_rate[name] = small_mb / secs
        print(
            f"  {name:<22} {secs:7.3f} s  {small_mb / secs:9.1f} MB/s  "
            f"{len(objects) / secs:10.0f} objects/s"
        )

    if args.file:
        with tempfile.NamedTemporaryFile(prefix="hashing-bench-", delete=False) as tmp:
            for i in range(total):
                tmp.write(chunks[i % len(chunks)])
        try:
            print(f"\nfile: {total} MiB read in 1 MiB chunks and hashed, best of {args.repeat}")
            for name, factory in large.items():
                secs = _best(args.repeat, partial(_file, factory, tmp.name))
                print(f"  {name:<22} {secs:7.3f} s  {mb / secs:9.1f} MB/s")
        finally:
            os.unlink(tmp.name)

    b3_large = max(v for k, v in large_rate.items() if k.startswith("blake3"))
    print("\nratio blake3 / sha256:")
    print(f"  large, 1 thread : {large_rate['blake3 (1 thread)'] / large_rate['sha256']:.2f}x")
    print(f"  large, best     : {b3_large / large_rate['sha256']:.2f}x")
    print(f"  small           : {small_rate['blake3 (1 thread)'] / small_rate['sha256']:.2f}x")


if __name__ == "__main__":
    main()
