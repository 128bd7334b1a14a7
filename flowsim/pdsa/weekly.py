"""Weekly values of the PDSA measures from one replication's records.

One real week varies much more than a quarter's mean does, and an SPC chart plots weeks, so a
prediction to hold against observed weeks needs each simulated week's value. Each week is
measured exactly as :func:`flowsim.kpis.compute_kpis` measures a whole run, over that week's
window instead of the whole measurement window.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..engine import Records, simulate
from ..kpis import compute_kpis
from ..scenario import Scenario

WEEK = 7 * 1440.0
"""A week in minutes."""

MEASURES: tuple[str, ...] = (
    "four_hour_pct",
    "time_in_department_mean",
    "dta_over_12h_count",
    "left_without_being_seen_pct",
    "handover_over_60_pct",
    "occupancy_mean_pct.wards",
)
"""The headline measures a PDSA cycle follows, by their names in the KPI registry."""

DENOMINATOR: dict[str, str] = {
    "four_hour_pct": "attendances",
    "left_without_being_seen_pct": "attendances",
    "handover_over_60_pct": "handovers",
}
"""The proportions among :data:`MEASURES` and what each week's value is a share of: these are
charted as p-charts, the others as XmR charts."""


def measures_of(scenario: Scenario) -> list[str]:
    """The PDSA measures a run of ``scenario`` reports (a scenario without wards has no ward
    occupancy)."""
    places = set(scenario.places)
    return [
        m
        for m in MEASURES
        if "." not in m
        or (m.partition(".")[2] in places and not scenario.places[m.partition(".")[2]].unlimited)
    ]


def weekly_values(rec: Records, weeks: int) -> dict[str, np.ndarray]:
    """Each PDSA measure and each denominator, week by week from the end of the warm-up:
    arrays of length ``weeks`` (the run must be at least that long)."""
    s = rec.scenario
    w0 = s.run.warmup
    if w0 + weeks * WEEK > rec.horizon + 1e-9:
        raise ValueError(f"the run is shorter than {weeks} weeks after its warm-up")
    names = measures_of(s) + sorted(set(DENOMINATOR.values()))
    out = {n: np.empty(weeks) for n in names}
    for w in range(weeks):
        start = w0 + w * WEEK
        window = s.model_copy(update={"run": s.run.model_copy(update={"warmup": start})})
        kpis = compute_kpis(dataclasses.replace(rec, scenario=window, horizon=start + WEEK))
        for n in names:
            out[n][w] = kpis.get(n, float("nan"))
    return out


def simulate_weeks(
    scenario: Scenario, replication: int, seed: int, weeks: int
) -> dict[str, np.ndarray]:
    """Run one replication and measure it week by week (what a worker process runs)."""
    return weekly_values(simulate(scenario, replication, seed), weeks)
