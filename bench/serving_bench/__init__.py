"""The parts of ``bench/serving.py`` (the entry point; run that, not this package).

* ``common``: paths, sizes, targets and small helpers (medians, ports, a clean environment);
* ``procs``: process groups: stop, pause, memory and CPU of a server's process tree;
* ``models``: the two scikit-learn models and the request bodies;
* ``servers``: one server under test (start, readiness, checks, pause/resume);
* ``systems``: per-system setup: Shipyard projects, MLflow's store, BentoML's venv;
* ``specs``: which servers run for a model, with their commands and environments;
* ``load``: the load generators (``wrk``, closed loop; the aiohttp open-loop client);
* ``measure``: one model's servers started, measured and stopped;
* ``report``: tables and details; ``targets``: the judged targets;
* ``cli``: arguments and ``main``.

Only the standard library is imported at module level: the open-loop client runs in a
fresh interpreter that loads ``load`` alone.
"""
