"""A run's work estimated before it starts, and the budget that refuses a run far past any need.

A scenario that looks ordinary can ask for a billion patients (``per_day: 1e7``, or a run of a
thousand years), and a run simply starts allocating until the machine gives out. So every front
end estimates a run first: the expected number of patients (each arrival stream's rate
integrated over warm-up and measured length, from :mod:`flowsim.schedules`), the stage visits
they make (from the routing: the expected visits of a patient walking it), and the memory of
the tables asked for. A run past the budget is refused with the estimate, the budget and how to
raise it. The limits on the command line's options live here too, so that they are named once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import FlowsimError
from .scenario import EXIT, Scenario
from .schedules import DAY, days_in_run, surge_factors

CLI_MAX_PATIENTS = 50_000_000
"""The command line's default budget: patients simulated in one run, summed over scenarios and
replications. A hospital-year is about 140,000 patients, so 100 replications of one is 14 million;
``--max-patients`` raises it."""

APP_MAX_PATIENTS = 2_000_000
"""The browser app's budget, smaller because the app is shared: about 14 hospital-years."""

MAX_REPLICATIONS = 100_000
"""Most replications the command line accepts: the same cap as a scenario's ``run.replications``.
Confidence intervals stop narrowing in any useful way long before (a few hundred at most)."""

MAX_DAYS = 3660
"""Most days for ``--days`` and for ``--warmup-days`` (ten years, leap days included): a trust
plans a winter or a year ahead, and warm-up takes weeks."""

MAX_JOBS = 256
"""Most worker processes: more than any server a trust runs flowsim on has cores."""

SERIES_ROW_BYTES = 80
"""Memory per row of the hourly series while the tables are built and written: the worker's
arrays and the table's columns are both held for a while, and writing Parquet copies again."""

VISIT_ROW_BYTES = 160
"""Memory per row of the patient-visit table, counted the same way."""

PATIENT_BYTES = 1_000
"""Memory per patient of one replication in the worker running it (measured: about 46 MB for
the 45,000 patients of the shipped baseline); twice that when visits are recorded."""

_MAX_ESTIMATED_DAYS = 1_000_000
"""Past this many days a stream's arrivals are bounded without a per-day array (the run will be
refused anyway; the estimate must not itself take the memory it is there to protect)."""


@dataclass(frozen=True)
class WorkEstimate:
    """The expected size of a run: patients and stage visits over every scenario and replication,
    the largest single replication, and the memory of the tables asked for."""

    patients: float
    visits: float
    largest_replication: float
    replications: int
    scenarios: int
    series_rows: float
    visit_rows: float
    workers: int = 1

    @property
    def memory_bytes(self) -> float:
        """About how much memory the result tables take at their peak."""
        return self.series_rows * SERIES_ROW_BYTES + self.visit_rows * VISIT_ROW_BYTES

    @property
    def worker_bytes(self) -> float:
        """About how much memory the largest replication takes in the worker running it."""
        return self.largest_replication * PATIENT_BYTES * (2 if self.visit_rows else 1)

    @property
    def peak_bytes(self) -> float:
        """About how much memory the run takes at its peak: the tables, and the workers
        running replications as large as the largest at once."""
        at_once = min(self.workers, self.replications * self.scenarios)
        return self.memory_bytes + at_once * self.worker_bytes

    def describe(self) -> str:
        """The estimate in a sentence."""
        tables = "the hourly series" + (" and the patient-visit table" if self.visit_rows else "")
        return (
            f"about {_count(self.patients)} patients ({_count(self.visits)} stage visits) over "
            f"{self.scenarios} scenario{'s' * (self.scenarios != 1)} x {self.replications} "
            f"replication{'s' * (self.replications != 1)}, the largest replication "
            f"{_count(self.largest_replication)} patients; {tables} take about "
            f"{_size(self.memory_bytes)}, and the run about {_size(self.peak_bytes)} at its peak"
        )


class BudgetError(FlowsimError):
    """A run's estimated work is past the budget; the message says by how much and what to do."""


def estimate(
    scenarios: Scenario | Sequence[Scenario], replications: int, patients: bool, workers: int = 1
) -> WorkEstimate:
    """Estimate the work of ``replications`` of each scenario (``patients``: the patient-visit
    table is asked for) run by ``workers`` processes of this machine at once (0: they run
    elsewhere). Cheap: no simulation, and no array longer than the run has days."""
    items = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    total_patients = total_visits = largest = series_rows = 0.0
    for s in items:
        per_stream = [_expected_arrivals(s, name) for name in s.arrivals]
        n = math.fsum(per_stream)
        visits = _expected_visits(s, per_stream)
        total_patients += n * replications
        total_visits += visits * replications
        largest = max(largest, n)
        hours = max(0.0, math.floor(s.horizon / 60.0) - math.ceil(s.run.warmup / 60.0))
        series_rows += (len(s.places) + 1) * hours * replications  # +1: the ED series
    return WorkEstimate(
        patients=total_patients,
        visits=total_visits,
        largest_replication=largest,
        replications=replications,
        scenarios=len(items),
        series_rows=series_rows,
        visit_rows=total_visits if patients else 0.0,
        workers=max(0, workers),
    )


def check_budget(
    work: WorkEstimate,
    max_patients: int,
    how: str = "--max-patients N",
    memory_bytes: int | None = None,
) -> None:
    """Raise :class:`BudgetError` if ``work`` expects more than ``max_patients`` patients (or
    its estimate is not a finite number), or, given the machine's ``memory_bytes``, would need
    more memory than that at its peak. ``how`` says how the patient budget is raised, if it
    can be."""
    if math.isfinite(work.patients) and work.patients <= max_patients:
        if memory_bytes is None or work.peak_bytes <= memory_bytes:
            return
        raise BudgetError(
            f"this run would simulate {work.describe()}: more than this machine's "
            f"{_size(memory_bytes)} of memory; run fewer replications at once (--jobs), fewer "
            "days or patients, or without the patient-visit table"
        )
    raise BudgetError(
        f"this run would simulate {work.describe()}, past the budget of "
        f"{_count(max_patients)} patients per run; check the arrival rates, the run length and "
        "the replications, or "
        + (f"raise the budget with {how}" if how else "run it from the command line")
    )


def physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says (Linux, macOS)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _expected_arrivals(s: Scenario, stream_name: str) -> float:
    """Expected arrivals of one stream over the whole run (warm-up included): its per-day rate
    by weekday and surges, summed over the run's days, the last day only in part."""
    stream = s.arrivals[stream_name]
    if stream.per_day == 0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        table = stream.hour_table()
        if table is None:
            hours = np.asarray(stream.hourly_profile, dtype=float)
            week = np.asarray(stream.weekday_factors, dtype=float)
        else:  # absolute rates: the shape of an average day, and each weekday's volume
            hours = np.asarray(table, dtype=float).mean(axis=0)
            week = np.asarray(table, dtype=float).sum(axis=1)
        hours = hours / hours.mean()
        week = week / week.mean()
        days = s.horizon / DAY
        if not math.isfinite(days) or days > _MAX_ESTIMATED_DAYS:
            surge = math.prod(max(1.0, x.factor) for x in stream.surges.values())
            return float(stream.per_day * week.max() * surge * days)
        n_days = days_in_run(s)
        weekday = (s.start.weekday() + np.arange(n_days)) % 7
        per_day = stream.per_day * week[weekday] * surge_factors(s, stream)
        whole = int(days)
        total = float(per_day[:whole].sum())
        if whole < n_days:  # the last, partial day: the share of its hours that fall in the run
            minutes = s.horizon - whole * DAY
            full_hours = int(minutes // 60)
            share = (
                hours[:full_hours].sum() + hours[min(full_hours, 23)] * (minutes % 60) / 60
            ) / 24
            total += float(per_day[whole] * share)
    return total if total == total else math.inf


def _expected_visits(s: Scenario, arrivals: list[float]) -> float:
    """Expected stage visits of the patients arriving in one replication: for each class, the
    visits of a patient walking the routing from each first stage (a revisit counts again). The
    overflow stage a full place sends a patient to takes that visit's place, so it adds none."""
    index = {name: i for i, name in enumerate(s.stages)}
    n = len(index)
    total = 0.0
    for c in s.classes:
        start = np.zeros(n)
        for stream, count in zip(s.arrivals.values(), arrivals, strict=True):
            share = stream.class_mix.get(c, 0.0)
            if share > 0 and stream.first_stage in index:
                start[index[stream.first_stage]] += count * share
        if not start.any():
            continue
        total += _visits_from(s, c, index, start)
    return total


def _visits_from(s: Scenario, c: str, index: dict[str, int], start: np.ndarray) -> float:
    """Total expected visits of patients of class ``c`` entering at ``start``: the solution ``v``
    of ``v = start + P^T v`` for the class's routing ``P``. Dense: a scenario has at most
    :data:`flowsim.scenario.MAX_ITEMS` stages, a few milliseconds' solve, and NumPy is loaded
    already (SciPy's sparse solver would cost more to import than to use).
    A routing with no way out (refused by validation) counts every stage once per patient."""
    n = len(index)
    transfer = np.zeros((n, n))
    for name, stage in s.stages.items():
        for target, p in stage.routing_for(c).items():
            if target != EXIT and target in index and p > 0:
                transfer[index[target], index[name]] += p
    fallback = float(start.sum()) * n
    if not transfer.any():
        return float(start.sum())
    with np.errstate(all="ignore"):
        try:
            visits = np.linalg.solve(np.eye(n) - transfer, start)
        except np.linalg.LinAlgError:  # singular: a loop with no way out
            return fallback
    total = float(visits.sum())
    if not math.isfinite(total) or (visits < -1e-9 * max(1.0, total)).any():
        return fallback
    return max(total, float(start.sum()))


def _count(x: float) -> str:
    if not math.isfinite(x):
        return "an unbounded number of"
    if x >= 1e12:
        return f"{x:.3g}"
    return f"{x:,.0f}"


def _size(n: float) -> str:
    if not math.isfinite(n):
        return "an unbounded amount of memory"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1e3:,.0f} kB"
