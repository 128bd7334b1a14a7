"""A search's levers read from what a user typed: each path checked against the scenario, and its
values read and checked as the lever allows (whole beds, no negative staff)."""

from __future__ import annotations

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
