"""Validation of the measures read straight from results: occupancy distributions, the
probability of delay, the share of visits that waited, and waits and times in system by class.

Each kind checks flowsim's own KPIs and results tables (not the patient-visit table) against
closed forms, so that a mistake in how a measure is computed shows, not only one in the engine.
The closed forms are from Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*,
4th ed. (Wiley, 2008), section 2.3 (M/M/c as a birth-death process) and section 2.2 (M/M/1).
"""

from __future__ import annotations

import math

import numpy as np

from ..experiment import Results
from ..kpis import arrives_in_ed
from ..scenario import Scenario
from . import theory
from .checks import Check
from .kinds import KindCheck, Spec, arrival_rate, servers
from .measures import kpi


def mmc_number_distribution(lam: float, mean_service: float, c: int) -> list[float]:
    """P(N = n) for n = 0 .. c-1, then P(N >= c), of the number N present in an M/M/c queue
    (GSTH 2.3): the birth-death stationary distribution p_n = p_0 a^n / n! for n < c, with
    a = lambda x mean service, p_0 = 1 / (sum_{n<c} a^n / n! + a^c / (c! (1 - a / c))); the
    tail P(N >= c) is Erlang C."""
    a = lam * mean_service
    if a >= c:
        raise ValueError(f"offered load {a} must be below the number of servers {c}")
    terms = [a**n / math.factorial(n) for n in range(c)]
    tail = a**c / (math.factorial(c) * (1.0 - a / c))
    p0 = 1.0 / (sum(terms) + tail)
    return [p0 * t for t in terms] + [p0 * tail]


def _level_shares(res: Results, place: str, level: int) -> np.ndarray:
    """The share of time ``place`` spent at ``level``, per replication (0 where never)."""
    levels = res.occupancy_levels
    if levels is None:
        raise ValueError("the results have no occupancy levels")
    mine = levels[(levels["place"] == place) & (levels["level"] == level)]
    out = np.zeros(res.replications)
    out[mine["replication"].to_numpy(int)] = mine["share"].to_numpy(float)
    return out


def occupancy_mmc(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    """An M/M/c stage whose place has c units and no staff: the place's occupancy is the
    number present capped at c, so its distribution is the birth-death one with the levels
    from c up merged into level c; an arrival finds the place full with the probability of
    being there (Poisson arrivals see time averages), Erlang C, and so waits."""
    stage = spec["stage"]
    st = s.stages[stage]
    if st.place is None or st.staff is not None:
        raise ValueError("the occupancy case needs a stage with a place and no staff")
    c = s.places[st.place].capacity
    if not isinstance(c, int):
        raise ValueError("the occupancy case needs a place with a fixed capacity")
    lam, mean = arrival_rate(s), st.duration.expected()
    probs = mmc_number_distribution(lam, mean, c)
    erlang_c = theory.erlang_c(c, lam * mean)
    outside = [a for a in s.arrivals if not arrives_in_ed(s, a)]
    checks = [
        Check.in_ci(
            f"share of time with {n} {'or more ' if n == c else ''}present "
            f"(occupancy_distribution.csv, {st.place} level {n})",
            p,
            _level_shares(res, st.place, n),
        )
        for n, p in enumerate(probs)
    ]
    checks.append(
        Check.in_ci(
            f"probability of delay (Erlang C), p_delay.{st.place}",
            erlang_c,
            kpi(res, f"p_delay.{st.place}"),
        )
    )
    checks.append(
        Check.in_ci(
            f"share of visits that waited (Erlang C), p_wait.{stage}",
            erlang_c,
            kpi(res, f"p_wait.{stage}"),
        )
    )
    for stream in outside:  # the stage is the whole stay: time in system is W_q + 1/mu
        checks.append(
            Check.in_ci(
                f"mean time in system (min), direct_time_in_system_mean.{stream}",
                theory.mmc_wait(lam, mean, c) + mean,
                kpi(res, f"direct_time_in_system_mean.{stream}"),
            )
        )
    return checks


def fifo_classes(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    """Two or more classes at one first-come-first-served M/M/1 stage with the same service
    time: the queue does not look at the class, so every class waits the M/M/1 mean wait
    W_q = rho / (mu - lambda) and spends W_q + 1/mu in the system (GSTH 2.2), and the paired
    difference of two classes' mean waits is zero. The server is one staff member, or a place
    of capacity 1 for a stage without staff."""
    stage = spec["stage"]
    st = s.stages[stage]
    c = servers(s, stage) if st.staff is not None or st.place is None else None
    if c is None and st.place is not None:
        c = s.places[st.place].capacity  # type: ignore[assignment]
    if c != 1:
        raise ValueError("the two-class FIFO case needs one server")
    means = {st.duration_for(c).expected() for c in s.classes}
    if len(means) != 1:
        raise ValueError("the two-class FIFO case needs the same mean service for every class")
    mean = means.pop()
    lam = arrival_rate(s)
    wq = theory.mmc_wait(lam, mean, 1)
    checks = []
    for cls in s.classes:
        checks.append(
            Check.in_ci(
                f"mean wait (min), wait_mean.{stage}.{cls}",
                wq,
                kpi(res, f"wait_mean.{stage}.{cls}"),
            )
        )
        checks.append(
            Check.in_ci(
                f"mean time in system (min), time_in_system_mean.{cls}",
                wq + mean,
                kpi(res, f"time_in_system_mean.{cls}"),
            )
        )
    first, second = list(s.classes)[:2]
    checks.append(
        Check.in_ci(
            f"difference of mean waits, {second} minus {first} (min)",
            0.0,
            kpi(res, f"wait_mean.{stage}.{second}") - kpi(res, f"wait_mean.{stage}.{first}"),
            rule="0 in CI of paired difference",
        )
    )
    return checks


MEASURE_KINDS: dict[str, KindCheck] = {
    "occupancy_mmc": occupancy_mmc,
    "fifo_classes": fifo_classes,
}
"""The measure kinds, by the name a case file's ``x-validation.kind`` gives (what each is
checked against is listed in :data:`flowsim.validation.report.KIND_SOURCES`)."""
