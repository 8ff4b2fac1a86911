"""The pipeline SDK as a notebook or a script uses it: ``sy.step``, ``pipeline.run``,
``sy.sweep`` outside a pipeline, ``sy.log_metric`` inside steps, steps defined in ``__main__``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path


def _script(project: Path, code: str) -> subprocess.CompletedProcess[str]:
    script = project / "flow_script.py"
    script.write_text(textwrap.dedent(code))
    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "SHIPYARD_USER": "ada",
    }
    return subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )


def test_a_script_defines_steps_in_main_and_runs_them_on_a_process_pool(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        """
        import json
        import shipyard as sy

        @sy.step
        def square(x: int) -> int:
            sy.log_metric("x", x)
            return x * x

        @sy.step
        def total(values: list) -> int:
            return sum(values)

        @sy.pipeline
        def squares(n: int = 4):
            total(square.map(list(range(n))))

        if __name__ == "__main__":
            result = squares.run(executor="process", workers=2, n=5)
            runs = sy.search_runs(experiment="squares", filter="tags.shipyard.step = 'square'")
            print(json.dumps({
                "total": result.output("total"),
                "metrics": sorted(r.metrics["x"].value for r in runs),
                "user": sy.get_run(result.run_id).info.user,
            }))
        """,
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout.strip().splitlines()[-1])
    assert body == {"total": 30, "metrics": [0.0, 1.0, 2.0, 3.0, 4.0], "user": "ada"}


def test_sweep_outside_a_pipeline_runs_at_once_and_tags_the_best_trial(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        """
        import json
        import shipyard as sy

        @sy.step
        def objective(x: float = 0.0, shift: float = 0.0) -> float:
            return (x - 2.0 - shift) ** 2

        if __name__ == "__main__":
            best = sy.sweep(objective, {"x": sy.uniform(-5, 5)}, n_trials=12, parallel=3,
                            direction="minimize", seed=3, shift=0.5)
            tagged = sy.search_runs(
                experiment="sweep-objective", filter="tags.shipyard.sweep.best = 'true'"
            )
            print(json.dumps({"best": best, "tagged": [r.params["x"] for r in tagged]}))
        """,
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout.strip().splitlines()[-1])
    best = body["best"]
    assert len(best["trials"]) == 12
    assert best["best_value"] == min(t["value"] for t in best["trials"])
    assert abs(best["best_params"]["x"] - 2.5) < 2.0
    assert [float(x) for x in body["tagged"]] == [best["best_params"]["x"]]


def test_a_failed_pipeline_raises_with_the_run_id_and_the_resume_command(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        """
        import shipyard as sy

        @sy.step
        def boom() -> int:
            raise ValueError("bad data")

        @sy.pipeline
        def flow():
            boom()

        if __name__ == "__main__":
            flow.run()
        """,
    )
    assert out.returncode == 1
    assert "PipelineFailedError" in out.stderr
    assert "step 'boom' failed: ValueError: bad data" in out.stderr
    assert "shipyard pipeline resume" in out.stderr


_UNGUARDED = """
import shipyard as sy

@sy.step
def double(x: int) -> int:
    return 2 * x

@sy.pipeline
def doubling(x: int = 3):
    double(x)

result = doubling.run(executor={executor!r})
print("output", result.output("double"))
"""


def test_a_top_level_run_on_worker_processes_says_to_guard_it(tmp_path: Path) -> None:
    for executor in ("process", "dask"):
        out = _script(tmp_path, _UNGUARDED.format(executor=executor))
        assert out.returncode == 1, out.stdout
        assert f"run(executor='{executor}') is called at the top level of flow_script.py:12" in (
            out.stderr
        )
        assert 'Put the call under `if __name__ == "__main__":`' in out.stderr
        assert "Nanny" not in out.stderr and "BrokenProcessPool" not in out.stderr
    local = _script(tmp_path, _UNGUARDED.format(executor="local"))  # no workers: fine as is
    assert local.returncode == 0 and "output 6" in local.stdout, local.stderr
