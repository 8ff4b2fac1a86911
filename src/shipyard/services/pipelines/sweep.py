"""``sy.sweep``: hyperparameter search with Optuna, every trial a cached step execution.

Trials are asked in rounds of ``parallel`` and told in trial order, so the sampler sees the
same history on every executor: the same seed gives the same trials on ``local``,
``process``, ``dask`` or ``ray``.
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.space import Dimension, Float, Int
from shipyard.services.pipelines.codec import Stored, decode_value, encode_value
from shipyard.services.pipelines.tasks import NodeDriver, Task, make_task

__all__ = ["SweepDriver"]


def _distribution(dim: Dimension) -> Any:
    import optuna.distributions as d

    if isinstance(dim, Float):
        return d.FloatDistribution(dim.low, dim.high, log=dim.log)
    if isinstance(dim, Int):
        return d.IntDistribution(dim.low, dim.high, log=dim.log)
    return d.CategoricalDistribution(list(dim.options))


class SweepDriver(NodeDriver):
    """Asks Optuna for trials, one round at a time; the output names the best trial."""

    def __init__(self, node: Any, resolver: Any, seed: int, deps: dict[str, str]) -> None:
        super().__init__(node, resolver, seed, deps)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        extra = node.extra
        self.n_trials: int = extra["n_trials"]
        self.parallel: int = extra["parallel"]
        self.direction: str = extra["direction"]
        self.distributions = {k: _distribution(v) for k, v in extra["space"].items()}
        self.study = optuna.create_study(
            direction=self.direction, sampler=optuna.samplers.TPESampler(seed=seed)
        )
        self.expected = self.n_trials
        self._trials: dict[int, Any] = {}
        self._round: list[int] = []
        self.values: dict[int, float] = {}
        self.params: dict[int, dict[str, Any]] = {}
        self.best_index: int | None = None

    def start(self) -> list[Task]:
        return self._ask_round()

    def _ask_round(self) -> list[Task]:
        tasks = []
        first = len(self._trials)
        for index in range(first, min(first + self.parallel, self.n_trials)):
            trial = self.study.ask(self.distributions)
            self._trials[index] = trial
            self.params[index] = dict(trial.params)
            args = {**self.node.args, **trial.params}
            tasks.append(
                make_task(
                    self.node,
                    self.node.step,
                    args,
                    index,
                    self.resolver,
                    self.seed,
                    self.deps,
                    extra_params=dict(trial.params),
                )
            )
        self._round = [t.index for t in tasks if t.index is not None]
        return tasks

    def finished(self, task: Task, output: Stored) -> list[Task]:
        assert task.index is not None
        value = decode_value(output, self.resolver.store)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValidationError(
                f"sweep objective {self.node.step.name!r} must return a number, "
                f"got {type(value).__name__} {value!r:.40}",
                field="objective",
            )
        self.results[task.index] = output
        self.values[task.index] = float(value)
        if any(i not in self.values for i in self._round):
            return []
        for i in self._round:  # tell in trial order: the same history on every executor
            self.study.tell(self._trials[i], self.values[i])
        return self._ask_round() if len(self._trials) < self.n_trials else []

    def output(self) -> Stored:
        pick = min if self.direction == "minimize" else max
        self.best_index = pick(self.values, key=lambda i: (self.values[i], -i))
        summary = {
            "best_index": self.best_index,
            "best_params": self.params[self.best_index],
            "best_value": self.values[self.best_index],
            "direction": self.direction,
            "trials": [
                {"index": i, "params": self.params[i], "value": self.values[i]}
                for i in sorted(self.values)
            ],
        }
        return encode_value(summary, self.resolver.store, owner=f"sweep {self.node.id!r}")
