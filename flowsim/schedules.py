"""Time-varying inputs on the simulation clock: arrival rates, capacity over time, discharge times.

The clock is minutes from 00:00 on the scenario's ``start`` date. Weekly patterns (hour of day by
weekday, rosters, opening hours) repeat every week; dated ranges (surges, bed closures) apply to
whole days from the start date. Everything here is computed once per replication, before the
simulation runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from .scenario import (
    WEEKDAYS,
    ArrivalStream,
    CapacityChange,
    DischargeWindow,
    Place,
    Scenario,
    Staff,
)

DAY = 1440.0
WEEK = 7 * 1440


def day_index(scenario: Scenario, date: dt.date) -> int:
    return (date - scenario.start).days


def days_in_run(scenario: Scenario) -> int:
    return int(np.ceil(scenario.horizon / DAY))


def surge_factors(scenario: Scenario, stream: ArrivalStream) -> np.ndarray:
    """Demand factor per simulated day (overlapping surges multiply)."""
    factors = np.ones(days_in_run(scenario))
    for surge in stream.surges.values():
        a = max(day_index(scenario, surge.start), 0)
        b = min(day_index(scenario, surge.end) + 1, len(factors))
        if a < b:
            factors[a:b] *= surge.factor
    return factors


def hourly_rates(scenario: Scenario, stream: ArrivalStream) -> np.ndarray:
    """Arrival rate per minute in each simulated hour (constant within the hour)."""
    n_days = days_in_run(scenario)
    table = stream.hour_table()
    if table is not None:
        return _absolute_hourly_rates(scenario, stream, np.asarray(table, dtype=float))
    hours = np.asarray(stream.hourly_profile, dtype=float)
    week = np.asarray(stream.weekday_factors, dtype=float)
    if stream.per_day == 0:
        return np.zeros(n_days * 24)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        hours = hours / hours.mean()
        week = week / week.mean()
    # Validation keeps these sums finite; were one to overflow, the shape would silently become
    # all zero (no arrivals): stop rather than report a wrong answer.
    if not (np.isfinite(hours).all() and np.isfinite(week).all() and hours.any() and week.any()):
        raise ArithmeticError(
            "hourly_profile or weekday_factors cannot be normalised (their sum overflows)"
        )
    weekday = (scenario.start.weekday() + np.arange(n_days)) % 7
    per_day = stream.per_day * week[weekday] * surge_factors(scenario, stream)
    rates: np.ndarray = (per_day[:, None] * hours[None, :] / DAY).ravel()
    # Validation bounds every factor; should a rate still overflow, stop rather than go on.
    if not np.isfinite(rates).all():
        raise ArithmeticError(
            f"the arrival rates of a stream with per_day {stream.per_day:g} are not finite "
            "(a surge factor out of range)"
        )
    return rates


def _absolute_hourly_rates(
    scenario: Scenario, stream: ArrivalStream, table: np.ndarray
) -> np.ndarray:
    """Rates per minute from ``per_hour`` (a (7, 24) table of arrivals an hour by weekday),
    scaled to ``per_day`` when that was given as well (as the demand lever gives it)."""
    n_days = days_in_run(scenario)
    daily_mean = float(table.sum()) / 7
    if stream.per_day == 0 or daily_mean == 0:
        return np.zeros(n_days * 24)
    scale = stream.per_day / daily_mean
    weekday = (scenario.start.weekday() + np.arange(n_days)) % 7
    rates: np.ndarray = (
        table[weekday] * (scale * surge_factors(scenario, stream))[:, None] / 60.0
    ).ravel()
    if not np.isfinite(rates).all():
        raise ArithmeticError("the per_hour arrival rates are not finite (a surge out of range)")
    return rates


def arrival_times(
    scenario: Scenario, stream: ArrivalStream, rng: np.random.Generator
) -> np.ndarray:
    """Arrival times in ``[0, horizon)`` of a non-stationary Poisson process, by exact thinning.

    Candidates come from a homogeneous process at the peak rate (a Poisson count, placed uniformly,
    which is the same process); each is kept with probability rate(t) / peak rate, with the rate
    evaluated at the candidate's own time.
    """
    rates = hourly_rates(scenario, stream)
    peak = float(rates.max(initial=0.0))
    horizon = scenario.horizon
    if peak == 0:
        return np.empty(0)
    n = rng.poisson(peak * horizon)
    candidates = np.sort(rng.uniform(0.0, horizon, n))
    hour = np.minimum((candidates // 60).astype(np.int64), len(rates) - 1)
    keep = rng.random(n) * peak < rates[hour]
    return candidates[keep]


def _weekly_minutes(values_per_hour_by_day: np.ndarray) -> np.ndarray:
    """Expand a (7, 24) table to one value per minute of the week."""
    return np.repeat(values_per_hour_by_day.ravel(), 60)


def _spans(start_h: float, end_h: float, days: Sequence[str]) -> list[tuple[int, int]]:
    """Minute-of-week spans for a daily span that may run past midnight (and past Sunday)."""
    out = []
    for day in days:
        d0 = WEEKDAYS.index(day) * 1440
        a = d0 + round(start_h * 60)
        b = d0 + round(end_h * 60)
        if end_h <= start_h:
            b += 1440
        out.append((a, b))
    return out


def _add_spans(week: np.ndarray, spans: list[tuple[int, int]], value: float) -> None:
    for a, b in spans:
        idx = np.arange(a, b) % WEEK
        week[idx] += value


def weekly_staff(staff: Staff) -> np.ndarray:
    """Staff on duty in each minute of the week, Monday 00:00 first."""
    if staff.count is not None:
        return np.full(WEEK, float(staff.count))
    if staff.per_hour is not None:
        table = np.array([staff.per_hour_on.get(d, staff.per_hour) for d in WEEKDAYS], dtype=float)
        return _weekly_minutes(table)
    week = np.zeros(WEEK)
    for shift in staff.shifts.values():
        _add_spans(week, _spans(shift.start, shift.end, shift.days), shift.count)
    return week


def weekly_place(place: Place) -> np.ndarray:
    """Capacity in each minute of the week before dated changes (``inf`` if unlimited)."""
    if place.unlimited:
        return np.full(WEEK, np.inf)
    if place.open_hours is None:
        return np.full(WEEK, float(place.capacity))
    mask = np.zeros(WEEK)
    _add_spans(mask, _spans(place.open_hours.start, place.open_hours.end, place.open_hours.days), 1)
    return np.minimum(mask, 1) * float(place.capacity)


def capacity_steps(
    scenario: Scenario,
    weekly: np.ndarray,
    changes: dict[str, CapacityChange],
    open_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Times (minutes) at which capacity changes over the run, and the capacity from each.

    ``weekly`` repeats from the start date's weekday. Dated changes apply to whole days; a place's
    ``to_capacity`` or ``change`` applies only while it is open (``open_mask``).
    """
    n_days = days_in_run(scenario)
    offset = scenario.start.weekday() * 1440
    minutes = n_days * 1440
    idx = (offset + np.arange(minutes)) % WEEK
    cap = weekly[idx].astype(float)
    mask = None if open_mask is None else open_mask[idx] > 0
    for change in sorted(changes.values(), key=lambda c: c.to_capacity is None):
        a = max(day_index(scenario, change.start), 0) * 1440
        b = min((day_index(scenario, change.end) + 1) * 1440, minutes)
        if a >= b:
            continue
        seg = slice(a, b)
        if change.to_capacity is not None:
            new = np.full(b - a, float(change.to_capacity))
        else:
            new = cap[seg] + (change.change or 0)
        if mask is not None:
            new = np.where(mask[seg], new, cap[seg])
        cap[seg] = np.maximum(new, 0.0)
    cap = cap[: int(np.ceil(scenario.horizon))]
    change_at = np.flatnonzero(np.diff(cap)) + 1
    times = np.concatenate(([0], change_at)).astype(float)
    return times, cap[times.astype(np.int64)]


def place_capacity(scenario: Scenario, place: Place) -> tuple[np.ndarray, np.ndarray]:
    weekly = weekly_place(place)
    mask = None if place.open_hours is None else (weekly > 0).astype(float)
    return capacity_steps(scenario, weekly, place.changes, mask)


def staff_capacity(scenario: Scenario, staff: Staff) -> tuple[np.ndarray, np.ndarray]:
    return capacity_steps(scenario, weekly_staff(staff), staff.changes)


class DischargeClock:
    """Turns 'ready to leave at time t' into the time a patient actually leaves, for one place's
    discharge window: an hour of day drawn from the window's weights (a uniform minute within it)
    on the first day, from the ready day on, that is allowed and not before ``t``."""

    __slots__ = ("_hour_draw", "_minute_draw", "_day_draw", "_shares", "_start_wd")

    def __init__(self, window: DischargeWindow, start_weekday: int, rng: np.random.Generator):
        from .streams import Draws

        weights = np.asarray(window.hours, dtype=float)
        p = weights / weights.sum()
        self._hour_draw = Draws(rng, lambda g, n: g.choice(24, size=n, p=p).astype(float))
        self._minute_draw = Draws(rng, lambda g, n: g.random(n))
        self._day_draw = Draws(rng, lambda g, n: g.random(n))
        self._shares = [window.day_share(d) for d in range(7)]
        self._start_wd = start_weekday

    def leave_time(self, ready: float) -> float:
        at = (self._hour_draw() + self._minute_draw()) * 60.0
        day = ready // DAY
        while True:
            t = day * DAY + at
            share = self._shares[(self._start_wd + int(day)) % 7]
            if t >= ready and (share >= 1.0 or self._day_draw() < share):
                return t
            day += 1
