"""Capacity search: the smallest lever value (beds, staff) whose KPIs meet every target.

``flowsim search`` and the browser page "How much capacity?" call :func:`search`; the parts are
the levers (:mod:`.levers`), the sequential test (:mod:`.procedure`), the bisection and frontier
(:mod:`.core`), the runs (:mod:`.runner`) and the folder written (:mod:`.output`).
"""

from __future__ import annotations

from .core import Lever, LineAnswer, Search, SearchResult, parse_values
from .levers import LeverError, scenario_levers, with_lever
from .procedure import Target, TargetError, parse_target

__all__ = [
    "Lever",
    "LeverError",
    "LineAnswer",
    "Search",
    "SearchResult",
    "Target",
    "TargetError",
    "parse_target",
    "parse_values",
    "scenario_levers",
    "with_lever",
]
