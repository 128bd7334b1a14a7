"""A search's levers read from what a user typed: each path checked against the scenario, and its
values read and checked as the lever allows (whole beds, no negative staff)."""

from __future__ import annotations

import math

from ..budget import check_budget, estimate, physical_memory
from ..scenario import Scenario
from .core import Lever, parse_values
from .levers import LeverError, lever_kind, with_lever


def plan_search(scenario: Scenario, paths: list[str], values: list[str]) -> list[Lever]:
    """The levers at ``paths`` with the ``values`` (``LOW:HIGH[:STEP]``) typed for each; raises
    :class:`~flowsim.search.levers.LeverError` naming the lever for any that cannot be used."""
    if not 1 <= len(paths) <= 2 or len(paths) != len(values):
        raise LeverError("give one or two levers, each with its own values")
    if len(paths) == 2 and paths[0] == paths[1]:
        raise LeverError(f"the two levers are the same ({paths[0]}); give two different ones")
    out = []
    for path, text in zip(paths, values, strict=True):
        whole = lever_kind(scenario, path) is int
        try:
            grid = parse_values(text, whole)
        except LeverError:
            raise
        except Exception as e:  # a FlowsimError about the values: say which lever they were for
            raise LeverError(f"{path}: {e}") from None
        for v in (grid[0], grid[-1]):
            with_lever(scenario, path, v)  # refuses a value the lever cannot take, before running
        out.append(Lever(path, grid))
    return out


def search_budget(
    scenario: Scenario,
    levers: list[Lever],
    first: int,
    max_patients: int,
    workers: int,
    how: str = "--max-patients N",
) -> int:
    """The most replications a search may run within ``max_patients`` (counted at the highest
    lever values, the busiest); refuses, before it starts, a search whose bisection cannot even
    give its first look to the values it must try: about log2(values) + 3 along each line (one
    line per value of the second lever). Replications added where decisions are close are
    counted as they are asked for (:class:`~flowsim.search.core.Search`'s ``max_runs``)."""
    probes = math.ceil(math.log2(len(levers[0].values) + 1)) + 3
    lines = len(levers[1].values) if len(levers) == 2 else 1
    biggest = scenario
    for lv in levers:
        biggest = with_lever(biggest, lv.path, lv.values[-1])
    tried = min(probes * lines, math.prod(len(lv.values) for lv in levers))
    work = estimate(biggest, tried * first, False, workers)
    check_budget(work, max_patients, how=how, memory_bytes=physical_memory())
    per_replication = work.patients / max(1, tried * first)
    return max(tried * first, int(max_patients / per_replication)) if per_replication else 10**9
