"""Runs for a capacity search: each lever setting's replications on any backend, kept for resuming.

A grid point's scenario is the searched scenario with its lever(s) set; replication ``r`` of
every point is run with the same master seed, so every point sees the same patients (common
random numbers) and a run depends only on the point, the seed and ``r``: never on the backend,
the number of workers or whether it was read back from a checkpoint.
"""

from __future__ import annotations

from ..checkpoint import Checkpoint
from ..errors import ReplicationError
from ..experiment import _execute  # the one place replications are run, on every backend
from ..loader import scenario_hash
from ..scenario import Scenario
from .core import Evaluate, Lever, Task
from .levers import with_lever


def checkpoint_plan(scenario: Scenario, levers: list[Lever], seed: int) -> dict[str, object]:
    """What a checkpoint must have been made for to be resumed by this search. The targets and
    confidence are not part of it: the same runs serve any of them."""
    from .. import __version__

    return {
        "search": [[lv.path, list(lv.values)] for lv in levers],
        "scenario": [scenario.name, scenario_hash(scenario)],
        "seed": seed,
        "flowsim_version": __version__,
    }


def make_evaluate(
    scenario: Scenario,
    levers: list[Lever],
    seed: int,
    backend: str = "serial",
    jobs: int = 1,
    scheduler: str | None = None,
    checkpoint: Checkpoint | None = None,
    memory_limit_mb: int | None = None,
) -> Evaluate:
    """An ``evaluate`` for :class:`~flowsim.search.core.Search` that runs on ``backend`` and keeps
    each finished replication in ``checkpoint`` (reading back those already there), with each
    worker process capped at ``memory_limit_mb`` if given."""
    width = len(levers[0].values)
    built: dict[int, Scenario] = {}

    def at(index: int) -> Scenario:
        if index not in built:
            s = with_lever(scenario, levers[0].path, levers[0].values[index % width])
            if len(levers) == 2:
                s = with_lever(s, levers[1].path, levers[1].values[index // width])
            built[index] = s
        return built[index]

    def evaluate(tasks: list[Task]) -> dict[Task, dict[str, float]]:
        out: dict[Task, dict[str, float]] = {}
        todo: list[Task] = []
        for task in tasks:
            saved = checkpoint.load(*task) if checkpoint is not None else None
            if saved is not None:
                out[task] = saved.kpis
            else:
                todo.append(task)
        work = [(at(i), r, seed, False) for i, r in todo]
        for k, outcome in _execute(work, backend, jobs, scheduler, memory_limit_mb):
            i, r = todo[k]
            if isinstance(outcome, BaseException):
                raise ReplicationError(at(i).name, r, seed, outcome)
            out[(i, r)] = outcome.kpis
            if checkpoint is not None:
                checkpoint.save(i, r, outcome)
        return out

    return evaluate
