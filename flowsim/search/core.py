"""The capacity search: the smallest lever value whose KPI means meet every target.

Along one lever the search assumes that more of it never makes the targets harder to meet (more
beds, more staff), so the values that meet them form the top of the range and a bisection finds
where they begin. Each value tried is decided by the sequential test of
:mod:`flowsim.search.procedure`, which adds replications only while the decision is close. Every
value runs replication ``r`` with the same random numbers (common random numbers), so neighbouring
values are compared on the same patients. With two levers the search is repeated along the first
lever for each value of the second, and the cheapest combinations that meet the targets form a
frontier. The assumption is checked on what was run: estimates that get worse as the lever grows
are reported as warnings.

Runs are asked of an ``evaluate`` function, so that the search itself knows nothing of
backends, checkpoints or the engine (see :mod:`flowsim.search.runner`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import FlowsimError
from .procedure import Decision, Estimate, Target, decide, looks, t_quantile

Task = tuple[int, int]
"""One run to make: the grid point's number and the replication."""

Evaluate = Callable[[list[Task]], dict[Task, dict[str, float]]]
"""Runs the given tasks and returns each one's KPIs."""

Progress = Callable[[int, str], None]
"""Called as ``progress(runs so far, what the search is doing)``."""

MAX_GRID = 100_000
"""Most lever values (or combinations of two) one search may range over."""


class SearchBudgetError(FlowsimError):
    """A search needed more replications than its budget allows; it stopped there."""


@dataclass(frozen=True)
class Lever:
    """A lever's path in the scenario and the values it may take, smallest first."""

    path: str
    values: tuple[float, ...]


def parse_values(text: str, whole: bool = False) -> tuple[float, ...]:
    """``"540:700"`` or ``"540:700:10"`` as the values from LOW to HIGH by STEP (1 by default),
    HIGH included when the steps land on it. ``whole``: the lever takes whole numbers only."""
    parts = text.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(parts) not in (2, 3) or len(nums) != len(parts) or not all(map(math.isfinite, nums)):
        raise FlowsimError(
            f"values '{text}': write them as LOW:HIGH or LOW:HIGH:STEP, e.g. 540:700:10"
        )
    low, high = nums[0], nums[1]
    step = nums[2] if len(nums) == 3 else 1.0
    if step <= 0 or high < low:
        raise FlowsimError(f"values '{text}': LOW must be at most HIGH and STEP above zero")
    if whole and not all(float(v).is_integer() for v in nums):
        raise FlowsimError(f"values '{text}': this lever takes whole numbers only")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    if count > MAX_GRID:
        raise FlowsimError(f"values '{text}': {count:,} values; at most {MAX_GRID:,} (use a STEP)")
    out = [low + k * step for k in range(count)]
    return tuple(int(round(v)) if whole else round(v, 12) for v in out)


@dataclass(eq=False)
class Point:
    """One lever value (or combination) tried: its KPI values replication by replication, the
    latest decision and estimates."""

    index: int
    setting: tuple[float, ...]
    values: dict[str, list[float]] = field(default_factory=dict)
    decision: Decision | None = None
    estimates: dict[str, Estimate] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0


Status = Literal["found", "none", "unsure"]


@dataclass(frozen=True)
class LineAnswer:
    """The answer along the first lever, with the other levers held at ``fixed``.

    ``found``: ``value`` is the smallest value meeting every target, with ``below`` (failing)
    and ``above`` its neighbours when in the range. ``none``: even the highest value fails.
    ``unsure``: the answer is between ``low`` and ``high`` (``high`` None: perhaps above the
    range) and more replications are needed to say which.
    """

    status: Status
    fixed: tuple[float, ...]
    value: float | None = None
    below: int | None = None
    at: int | None = None
    above: int | None = None
    low: float | None = None
    high: float | None = None


@dataclass
class SearchResult:
    """Everything a search found: the points tried, the answer along each line, the frontier
    (two levers), warnings, and the runs it took against a full grid."""

    levers: list[Lever]
    targets: list[Target]
    confidence: float
    looks: list[int]
    points: dict[int, Point]
    lines: list[LineAnswer]
    frontier: list[tuple[float, ...]]
    warnings: list[str]
    runs: int

    @property
    def grid_size(self) -> int:
        return math.prod(len(lv.values) for lv in self.levers)


class Search:
    """One search; :meth:`run` does it."""

    def __init__(
        self,
        levers: list[Lever],
        targets: list[Target],
        evaluate: Evaluate,
        confidence: float = 0.95,
        first: int = 10,
        most: int = 40,
        progress: Progress | None = None,
        max_runs: int | None = None,
        how: str = "raise --max-patients",
    ) -> None:
        if not 1 <= len(levers) <= 2:
            raise FlowsimError("a search takes one or two levers")
        if not targets:
            raise FlowsimError("a search needs at least one target")
        if not 0.5 <= confidence < 1:
            raise FlowsimError(f"confidence {confidence:g}: give a value from 0.5 to below 1")
        self.levers, self.targets, self.evaluate = levers, targets, evaluate
        self.confidence = confidence
        self.looks = looks(first, most)
        # Bonferroni over every look and target: a decision at any look holds at `confidence`.
        self.error = (1 - confidence) / (len(self.looks) * len(targets))
        self.progress = progress
        self.max_runs, self.how = max_runs, how
        self.points: dict[int, Point] = {}
        self.runs = 0
        self.width = len(levers[0].values)

    def point(self, a: int, b: int) -> Point:
        index = a + b * self.width
        if index not in self.points:
            setting = (self.levers[0].values[a],) + (
                (self.levers[1].values[b],) if len(self.levers) == 2 else ()
            )
            self.points[index] = Point(index, setting)
        return self.points[index]

    def settle(self, points: list[Point]) -> None:
        """Add looks to ``points`` until each is decided or has the most replications."""
        while True:
            pending = [
                p
                for p in {q.index: q for q in points}.values()
                if p.decision in (None, "unsure") and p.replications < self.looks[-1]
            ]
            if not pending:
                return
            tasks: list[Task] = []
            for p in pending:
                want = next(n for n in self.looks if n > p.replications)
                tasks += [(p.index, r) for r in range(p.replications, want)]
            if self.max_runs is not None and self.runs + len(tasks) > self.max_runs:
                raise SearchBudgetError(
                    f"the search has run {self.runs} replications and needs {len(tasks)} more, "
                    f"past its budget of {self.max_runs}; narrow the range (a larger step), "
                    f"lower the most replications per value, or {self.how}"
                )
            if self.progress:
                said = ", ".join(_setting(self.levers, p.setting) for p in pending)
                self.progress(self.runs, f"running {len(tasks)} replications at {said}")
            got = self.evaluate(tasks)
            self.runs += len(tasks)
            for p in pending:
                new = [got[(i, r)] for i, r in tasks if i == p.index]
                for t in self.targets:
                    got_values = [k.get(t.kpi, math.nan) for k in new]
                    if not all(math.isfinite(v) for v in got_values):
                        raise FlowsimError(
                            f"{t.kpi} has no value at {_setting(self.levers, p.setting)} (nothing "
                            "to measure it on in some replications, e.g. no patients through that "
                            "stage); choose another KPI or a range where it is measured"
                        )
                    p.values.setdefault(t.kpi, []).extend(got_values)
                arrays = {k: np.asarray(v, dtype=float) for k, v in p.values.items()}
                p.decision, p.estimates = decide(arrays, self.targets, self.confidence, self.error)

    def line(self, b: int, top: int) -> LineAnswer:
        """Bisect along the first lever (values 0..``top``) with the second at value ``b``."""
        fixed = (self.levers[1].values[b],) if len(self.levers) == 2 else ()
        self.settle([self.point(0, b), self.point(top, b)])
        while True:
            tried = {a: self.point(a, b).decision for a in range(top + 1) if self._tried(a, b)}
            meets = min((a for a, d in tried.items() if d == "meets"), default=top + 1)
            fails = max((a for a, d in tried.items() if d == "fails" and a < meets), default=-1)
            edges = sorted({fails, meets, *(a for a in tried if fails < a < meets)})
            gaps = [(hi - lo, lo, hi) for lo, hi in zip(edges, edges[1:], strict=False)]
            gap, lo, hi = max(gaps, default=(0, 0, 0))
            if gap <= 1:
                break
            self.settle([self.point((lo + hi) // 2, b)])
        if meets == top + 1 and fails == top:
            return LineAnswer("none", fixed, below=top)
        if meets <= top and fails == meets - 1:
            if meets + 1 <= top:
                self.settle([self.point(meets + 1, b)])
            values = self.levers[0].values
            return LineAnswer(
                "found",
                fixed,
                value=values[meets],
                below=None if fails < 0 else self.point(fails, b).index,
                at=self.point(meets, b).index,
                above=self.point(meets + 1, b).index if meets + 1 <= top else None,
            )
        values = self.levers[0].values
        return LineAnswer(
            "unsure",
            fixed,
            below=None if fails < 0 else self.point(fails, b).index,
            at=self.point(meets, b).index if meets <= top else None,
            low=values[fails + 1],
            high=values[meets] if meets <= top else None,
        )

    def _tried(self, a: int, b: int) -> bool:
        return (a + b * self.width) in self.points

    def run(self) -> SearchResult:
        lines: list[LineAnswer] = []
        top = self.width - 1
        count = len(self.levers[1].values) if len(self.levers) == 2 else 1
        for b in range(count):
            answer = self.line(b, top)
            lines.append(answer)
            if answer.status == "found" and answer.at is not None:
                # More of the second lever never needs more of the first: its answer bounds the
                # next line's search from above.
                top = answer.at % self.width
        return SearchResult(
            levers=self.levers,
            targets=self.targets,
            confidence=self.confidence,
            looks=self.looks,
            points=self.points,
            lines=lines,
            frontier=_frontier(lines),
            warnings=self._warnings(),
            runs=self.runs,
        )

    def _warnings(self) -> list[str]:
        """Where what was run contradicts the assumption that more of the lever never hurts."""
        out: list[str] = []
        groups: dict[tuple[float, ...], list[Point]] = {}
        for p in self.points.values():
            groups.setdefault(p.setting[1:], []).append(p)
        for group in groups.values():
            group.sort(key=lambda p: p.setting[0])
            for lo, hi in zip(group, group[1:], strict=False):
                where = (
                    f"{_setting(self.levers, hi.setting)} than at "
                    f"{_setting(self.levers, lo.setting)}"
                )
                if lo.decision == "meets" and hi.decision == "fails":
                    out.append(f"the targets are met at a lower value but not at a higher: {where}")
                for t in self.targets:
                    worse = _clearly_worse(lo.values[t.kpi], hi.values[t.kpi], t, self.confidence)
                    if worse:
                        out.append(
                            f"estimates are not monotone: {t.kpi} is worse at {where} "
                            "(paired over the same replications); the search assumes more of "
                            "the lever never makes it worse, so check the answer"
                        )
        return out


def _clearly_worse(lo: list[float], hi: list[float], t: Target, confidence: float) -> bool:
    """Whether the KPI is worse at the higher value, paired over their common replications, with
    a two-sided CI at ``confidence`` clear of zero."""
    n = min(len(lo), len(hi))
    if n < 2:
        return False
    d = np.asarray(hi[:n], dtype=float) - np.asarray(lo[:n], dtype=float)
    if t.op == "<=":
        d = -d  # positive: better
    sd = float(d.std(ddof=1))
    if not np.isfinite(sd):
        return False
    upper = float(d.mean()) + t_quantile(n - 1, 0.5 + confidence / 2) * sd / math.sqrt(n)
    return upper < 0


def _frontier(lines: list[LineAnswer]) -> list[tuple[float, ...]]:
    """The cheapest combinations found: each line's answer that needs less of the first lever
    than every line before it (lines come in increasing order of the second lever)."""
    out: list[tuple[float, ...]] = []
    best = math.inf
    for line in lines:
        if line.status == "found" and line.value is not None and line.value < best:
            best = line.value
            out.append((line.value, *line.fixed))
    return out


def _setting(levers: list[Lever], setting: tuple[float, ...]) -> str:
    return " and ".join(f"{lv.path} = {v:g}" for lv, v in zip(levers, setting, strict=True))
