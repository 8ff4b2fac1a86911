"""A fork server for kill -9 trials: imports Shipyard once, then forks one writer per ``go``
line on stdin. Each writer loops over artifact, dataset and model writes of fresh content
through the SDK until it is killed; it records the write it is in to ``<phase file>``.

stdin: ``go <seed>``; stdout: ``pid <n>`` after each fork, ``exit <status>`` once reaped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


def _prepare(root: Path, seed: int, i: int) -> Path:
    """A folder of fresh files: many small (packed) and two large (loose) ones."""
    import random

    rnd = random.Random(seed * 1000 + i)
    folder = root / f"src-{seed}-{i}"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(40):
        (folder / f"small-{n}.bin").write_bytes(rnd.randbytes(rnd.randint(100, 20_000)))
    for n, mib in enumerate((5, 1)):  # kernel-copied and plainly staged loose objects
        (folder / f"large-{n}.bin").write_bytes(rnd.randbytes(mib * 1024 * 1024))
    return folder


def _writer(seed: int, work: Path, phase_file: Path) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import shipyard as sy

    def phase(name: str) -> None:  # atomic: the test reads it right after the kill
        tmp = phase_file.with_suffix(".new")
        tmp.write_text(name)
        os.replace(tmp, phase_file)

    rng = np.random.default_rng(seed)

    def artifact(folder: Path) -> None:
        with sy.start_run(experiment="crash", log_environment=False):
            sy.log_artifact(str(folder), "files")

    def model(folder: Path) -> None:
        x = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
        with sy.start_run(experiment="crash", log_environment=False):
            sy.models.log(LinearRegression().fit(x, rng.normal(size=50)), "crash", input_example=x)

    def dataset(folder: Path) -> None:
        sy.data.register(f"crash-data-{seed % 3}", str(folder))

    writes = [artifact, model, dataset]
    for i in range(1_000_000):
        folder = _prepare(work, seed, i)
        write = writes[(seed + i) % 3]  # each trial starts with another kind of write
        phase(write.__name__)
        write(folder)
        phase("between")


def main() -> None:
    work, phase_file = Path(sys.argv[1]), Path(sys.argv[2])
    # imported before forking (no connection is opened here): writers start in milliseconds
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sqlalchemy  # noqa: F401

    import shipyard as sy
    from shipyard.interfaces import bootstrap  # noqa: F401
    from shipyard.services.registry import onnx_export  # noqa: F401

    with contextlib.suppress(ImportError):
        import skl2onnx  # noqa: F401
    _ = sy.start_run, sy.data, sy.models
    for line in sys.stdin:
        seed = int(line.split()[1])
        pid = os.fork()
        if pid == 0:
            try:
                _writer(seed, work, phase_file)
            finally:
                os._exit(0)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


if __name__ == "__main__":
    main()
