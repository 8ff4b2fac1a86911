"""Fleet scale (issue 17): one serving process over many deployed models, and the prediction-log
layout a monitoring read meets at 1,000 models.

    .venv/bin/python bench/fleet.py                 # 1,000 models, cap 50 (~15 min on 2 cores)
    .venv/bin/python bench/fleet.py --quick         # 100 models, cap 10 (~2 min)
    .venv/bin/python bench/fleet.py --only logs     # one section: serve | logs
    .venv/bin/python bench/fleet.py --json          # the same figures as JSON
    .venv/bin/python bench/fleet.py --keep          # keep the temporary folder (server logs)

Sections (the code is in ``bench/fleet_bench/``; each module's docstring says what it does):

* ``serve`` — N models logged and deployed to one environment, one ``shipyard serve
  --max-models CAP``: RSS (base + per model, and its maximum under random traffic over all N),
  failed requests, cold-miss latency, a warm hot set of 20 models, ``/metrics`` size, and the
  prediction-log files and ``serving_stats`` rows written.
* ``logs`` — the log writer's files for spread-out traffic (old per-flush way next to the
  buffered one), and reading one model's day at N models before and after compaction.

Figures are wall time on whatever machine runs it; on a shared one, say so with them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = {
    "full": {"models": 1000, "cap": 50, "requests": 3000, "cold": 200, "hot": 2000, "threads": 8},
    "quick": {"models": 100, "cap": 10, "requests": 300, "cold": 30, "hot": 300, "threads": 4},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (100 models, cap 10)")
    parser.add_argument("--only", default="serve,logs", help="sections: serve,logs")
    parser.add_argument("--models", type=int, help="deployed models (default 1000; quick 100)")
    parser.add_argument("--cap", type=int, help="--max-models of the server (50; quick 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"serve", "logs"}
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}; use serve,logs")
    size = dict(SIZES["quick" if args.quick else "full"])
    size.update({k: v for k, v in (("models", args.models), ("cap", args.cap)) if v})
    if size["cap"] < 2:
        parser.error("--cap must be at least 2 (the base RSS is measured with a cap of 1)")
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-fleet-"))
    results: dict[str, Any] = {"sizes": size, "folder": str(tmp) if args.keep else None}
    try:
        if "logs" in sections:
            from fleet_bench import logs

            results["writer"] = logs.writer(tmp, seconds=30 if args.quick else 300)
            results["day"] = logs.day(tmp, size["models"])
        if "serve" in sections:
            from fleet_bench import serve

            project = tmp / "project"
            project.mkdir()
            results["serve"] = serve.run(project, **size)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        from fleet_bench.report import table

        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
