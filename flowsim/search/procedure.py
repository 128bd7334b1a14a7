"""The sequential test that decides whether one lever value meets every target.

Replications are added in looks (the first look, then doubling up to the most allowed). At each
look every target's mean gets a one-sided Student t bound; the value *meets* the targets when
every bound is on the right side of its target, *fails* when some target's opposite bound is on
the wrong side, and is *unsure* otherwise, which earns it the next look. Each bound is computed at
the error ``(1 - confidence) / (looks x targets)`` (Bonferroni), so that the decision made at any
look holds at the stated confidence however many looks were taken: a simple form of the repeated
confidence intervals of Jennison & Turnbull (1989). See docs/search.md.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import FlowsimError
from ..kpis import kpi_info

Decision = Literal["meets", "fails", "unsure"]

_LIST_ALL = 30
"""A scenario reporting at most this many KPIs has them all listed when a target names none."""


class TargetError(FlowsimError):
    """A target that cannot be read or names a KPI the scenario does not report."""


@dataclass(frozen=True)
class Target:
    """A KPI's mean must be at least (``>=``) or at most (``<=``) ``value``."""

    kpi: str
    op: Literal[">=", "<="]
    value: float

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.value:g}"


_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")


def parse_target(text: str, kpis: set[str] | None = None) -> Target:
    """``"four_hour_pct>=76"`` as a :class:`Target`; with ``kpis``, the KPI must be one of them."""
    m = _TARGET.match(text)
    value = math.nan
    if m:
        with contextlib.suppress(ValueError):
            value = float(m.group(3))
    if m is None or not math.isfinite(value):
        raise TargetError(
            f"target '{text}': write it as KPI>=VALUE or KPI<=VALUE, e.g. four_hour_pct>=76"
        )
    kpi = m.group(1)
    if kpi_info(kpi) is None or (kpis is not None and kpi not in kpis):
        raise TargetError(f"target '{text}': no KPI called '{kpi}' here; {_known(kpi, kpis)}")
    op: Literal[">=", "<="] = ">=" if m.group(2) == ">=" else "<="
    return Target(kpi, op, value)


def _known(kpi: str, kpis: set[str] | None) -> str:
    """What to say about the KPIs there are: why a KPI reported only for some places or stages
    is missing, then all the KPIs when few, else the names close to ``kpi`` (a scenario can
    report hundreds)."""
    info = kpi_info(kpi)
    head = kpi.split(".")[0]
    why = ""
    if info is not None and info.needs_lost:
        why = f"{head} is reported only for stages with when_full: lost; "
    elif info is not None and info.needs_capacity:
        why = f"{head} is reported only for places with a capacity limit; "
    if not kpis:
        return why + "see flowsim kpis"
    if len(kpis) <= _LIST_ALL:
        return why + "the KPIs are: " + ", ".join(sorted(kpis))
    close = difflib.get_close_matches(kpi, sorted(kpis), n=8, cutoff=0.6)
    close = (close + sorted(k for k in kpis if k.split(".")[0] == head and k not in close))[:10]
    said = ", ".join(close) if close else "none"
    return f"{why}close names: {said} (flowsim kpis lists every KPI)"


def looks(first: int, most: int) -> list[int]:
    """The replication counts at which a value is looked at: ``first``, then doubling, and
    ``most`` last."""
    if first < 2 or most < first:
        raise FlowsimError(
            f"a search needs at least 2 replications at its first look and no fewer at most "
            f"(got {first} first, {most} at most)"
        )
    out = [first]
    while out[-1] * 2 < most:
        out.append(out[-1] * 2)
    if out[-1] != most:
        out.append(most)
    return out


def t_quantile(df: int, p: float) -> float:
    from scipy.special import stdtrit  # here: scipy takes a while to import

    return float(stdtrit(df, p))


@dataclass(frozen=True)
class Estimate:
    """One target's estimate at one value: the mean over ``n`` replications, its two-sided CI at
    the stated confidence, and the one-sided bound the decision used (the lower bound for
    ``>=``, the upper for ``<=``)."""

    mean: float
    ci_low: float
    ci_high: float
    bound: float
    n: int


def estimate(values: np.ndarray, target: Target, confidence: float, error: float) -> Estimate:
    """The estimate of ``target``'s KPI from per-replication ``values``; ``error`` is the chance
    the one-sided bound may be on the wrong side of the true mean."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    m = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else math.inf
    se = sd / math.sqrt(n)
    half = t_quantile(n - 1, 0.5 + confidence / 2) * se if se > 0 else 0.0
    reach = t_quantile(n - 1, 1 - error) * se if se > 0 else 0.0
    bound = m - reach if target.op == ">=" else m + reach
    return Estimate(m, m - half, m + half, bound, n)


def decide(
    values: dict[str, np.ndarray],
    targets: list[Target],
    confidence: float,
    error: float,
) -> tuple[Decision, dict[str, Estimate]]:
    """The decision for one lever value from its per-replication KPI ``values``, and each
    target's estimate (keyed by the target's text). Every target met with confidence: meets;
    any one missed with confidence: fails; otherwise unsure."""
    estimates = {}
    met = missed = 0
    for t in targets:
        e = estimate(values[t.kpi], t, confidence, error)
        estimates[str(t)] = e
        # The opposite bound is as far from the mean on the other side.
        far = 2 * e.mean - e.bound
        if (t.op == ">=" and e.bound >= t.value) or (t.op == "<=" and e.bound <= t.value):
            met += 1
        elif (t.op == ">=" and far < t.value) or (t.op == "<=" and far > t.value):
            missed += 1
    if missed:
        return "fails", estimates
    return ("meets" if met == len(targets) else "unsure"), estimates
