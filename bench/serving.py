"""Inference serving: ``shipyard serve`` next to ``mlflow models serve``, BentoML and bare FastAPI.

    .venv/bin/python bench/serving.py                        # everything, ~15 min on 2 cores
    .venv/bin/python bench/serving.py --quick                # 2 s runs, 1 repeat, ~4 min
    .venv/bin/python bench/serving.py --only shipyard,fastapi --models lr --sizes 1
    .venv/bin/python bench/serving.py --duration 10 --repeats 5 --connections 64
    .venv/bin/python bench/serving.py --serve-setting max_wait_ms=2   # SHIPYARD_SERVE_MAX_WAIT_MS
    .venv/bin/python bench/serving.py --json                 # the same, as JSON (raw runs)
    .venv/bin/python bench/serving.py --keep                 # keep the temporary folder (logs)

Needs ``wrk`` (``apt-get install -y wrk``). Same models, same machine, one run. Two
scikit-learn classifiers are trained here on ``load_breast_cancer`` (a DataFrame, 30 named
float columns): a LogisticRegression (cheap predict: measures the server) and a 100-tree
RandomForest (~5 ms a scikit-learn predict for 1 row or 100: measures batching). Every server
gets the same fitted model:

* Shipyard: ``RegistryService.log_model`` (signature, ONNX twin) in a project of its own
  (``SHIPYARD_PROJECT_DIR``), deployed to ``staging``; ``shipyard serve --env staging
  --workers N`` (N = 1 and 2) with its defaults (signature checks, metrics, prediction log);
  requests to ``/invocations`` (MLflow's ``dataframe_split``) and ``/v2/models/<name>/infer``
  (Open Inference Protocol). Canary (LR): a second version of the same model at 50 %, in a
  project of its own. Scikit-learn path (RF): ``shipyard serve --no-onnx``, 1 worker, the
  native model with adaptive micro-batching instead of the ONNX twin, ``/invocations`` only.
  ``--serve-setting NAME=VALUE`` passes ``SHIPYARD_SERVE_NAME`` to every Shipyard server.
  After the runs the script checks what the server recorded: serving figures per version,
  prediction-log rows (Parquet), dropped log rows (``/metrics``).
* MLflow: ``mlflow.sklearn.log_model`` with an input example (so a signature, enforced at
  serving), SQLite store in the temporary folder;
  ``mlflow models serve -m models:/<id> --env-manager local --workers 1`` (its default).
* BentoML: ``bench/serving_apps/bento_service.py`` from its own venv (``.bench-venvs/bentoml``,
  created on first use; BentoML's pins clash with ours), ``bentoml serve``, 1 worker, plain
  and with adaptive batching (``@bentoml.api(batchable=True)``, body ``{"input": rows}``).
* bare FastAPI: ``bench/serving_apps/fastapi_app.py`` (no validation, no logging) under
  uvicorn, 1 and 2 workers; compared with Shipyard at the same number of workers.

The servers of a model start one at a time (startup: process start to the first 200 on a
single-row predict, checked against the model's own predictions), then run side by side:
whichever is not being measured is paused (SIGSTOP on its process group, SIGCONT before its
turn; ``--no-pause`` keeps them running), and repeats are interleaved across servers, so a
change in background load hits every server alike. Closed loop: ``wrk``, 1 thread, 32
connections, a Lua script for the POST body; a 1 s warm-up, then the timed run; medians of
the repeats. Open loop (LR, 1 row): a fresh interpreter with aiohttp sends requests at a fixed
rate (500/s) and times each from its scheduled send time; skipped for a server whose
closed-loop capacity is under 1.2 x the rate. Memory: RSS summed over the process tree after
the runs. Every process started is in its own process group and is stopped on exit, Ctrl-C
or SIGTERM.

This file is the entry point; the code is in ``bench/serving_bench/`` (see its ``__init__``).
"""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--child-open-loop":
        from serving_bench.load import child_open_loop  # the open-loop client: nothing else

        return child_open_loop(*sys.argv[2:])
    from serving_bench.cli import main as run

    return run()


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("interrupted: every server started was stopped", file=sys.stderr)
        raise SystemExit(130) from None
