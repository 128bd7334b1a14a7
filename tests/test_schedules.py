"""Arrival rates, capacity step functions and the discharge clock (:mod:`flowsim.schedules`).

Expected values are worked out here from the scenario's own definitions (``per_day`` spread by
the normalised weekday and hourly shapes), not from the functions under test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from scipy import stats

from flowsim.loader import load_scenario
from flowsim.scenario import DischargeWindow, Scenario
from flowsim.schedules import (
    DischargeClock,
    arrival_times,
    capacity_steps,
    hourly_rates,
    place_capacity,
    staff_capacity,
    weekly_staff,
)

MONDAY = dt.date(2025, 1, 6)
HOURLY = [
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.3,
    0.6,
    1.0,
    1.6,
    2.0,
    2.1,
    2.0,
    1.9,
    1.8,
    1.7,
    1.6,
    1.5,
    1.4,
    1.3,
    1.2,
    1.0,
    0.8,
    0.5,
    0.0,
]
WEEKDAYS = [1.2, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6]


def scenario(days: float = 7, start: dt.date = MONDAY, **extra: Any) -> Scenario:
    stream = {
        "per_day": 200,
        "class_mix": {"a": 1.0},
        "first_stage": "s",
        "hourly_profile": HOURLY,
        "weekday_factors": WEEKDAYS,
    }
    stream.update(extra.pop("stream", {}))
    data: dict[str, Any] = {
        "name": "sched",
        "start": start.isoformat(),
        "run": {"warmup": 0, "length": days * 1440},
        "classes": {"a": {}},
        "arrivals": {"s": stream},
        "places": {"p": {"capacity": 10}},
        "stages": {"s": {"place": "p", "duration": 10}},
    }
    data.update(extra)
    return load_scenario(data)


def expected_per_hour(s: Scenario) -> np.ndarray:
    """Mean arrivals in each simulated hour, from the definition of the profiles."""
    stream = s.arrivals["s"]
    hours = np.asarray(stream.hourly_profile) / np.mean(stream.hourly_profile)
    week = np.asarray(stream.weekday_factors) / np.mean(stream.weekday_factors)
    n_days = int(np.ceil(s.horizon / 1440))
    out = np.empty((n_days, 24))
    for d in range(n_days):
        date = s.start + dt.timedelta(days=d)
        factor = 1.0
        for surge in stream.surges.values():
            if surge.start <= date <= surge.end:
                factor *= surge.factor
        out[d] = stream.per_day * week[date.weekday()] * factor * hours / 24
    return out.ravel()


def test_hourly_rates_integrate_to_the_definition() -> None:
    s = scenario(days=14, start=dt.date(2025, 1, 9))  # a Thursday
    assert np.allclose(hourly_rates(s, s.arrivals["s"]) * 60, expected_per_hour(s))


def test_arrivals_by_hour_and_weekday_match_the_rate() -> None:
    # 20 weeks at 200 a day: about 28,000 arrivals in 168 hour-of-week bins (one is empty by
    # design). Tolerances: the chi-square goodness-of-fit p-value must exceed 0.001, and each
    # bin must lie within z = 4.2 Poisson standard errors (two-sided Bonferroni for 167 bins at
    # a family-wise 0.5%: z = Phi^-1(1 - 0.005 / 334) = 4.17).
    s = scenario(days=140, start=dt.date(2025, 1, 8))  # starts on a Wednesday
    rng = np.random.default_rng(20250106)
    t = arrival_times(s, s.arrivals["s"], rng)
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < s.horizon
    hour_of_week = ((s.start.weekday() * 24 + t // 60) % 168).astype(int)
    observed = np.bincount(hour_of_week, minlength=168)
    per_hour = expected_per_hour(s)
    how = (s.start.weekday() * 24 + np.arange(len(per_hour))) % 168
    expected = np.bincount(how, weights=per_hour, minlength=168)
    zero = expected == 0
    assert zero.sum() == 7 and observed[zero].sum() == 0  # 23:00-24:00 has rate 0
    o, e = observed[~zero], expected[~zero]
    chi2 = float(((o - e) ** 2 / e).sum())
    assert stats.chi2.sf(chi2, len(e) - 1) > 0.001
    z = (o - e) / np.sqrt(e)
    assert np.abs(z).max() < 4.2
    # Totals per weekday follow the weekday factors (7 bins, same Bonferroni logic: z < 3.2).
    obs_day = observed.reshape(7, 24).sum(axis=1)
    exp_day = expected.reshape(7, 24).sum(axis=1)
    assert np.all(np.abs(obs_day - exp_day) / np.sqrt(exp_day) < 3.2)


def test_the_test_can_tell_a_wrong_profile() -> None:
    # The same counts compared with a flat profile must fail the chi-square test above.
    s = scenario(days=140)
    t = arrival_times(s, s.arrivals["s"], np.random.default_rng(1))
    observed = np.bincount(((t // 60) % 24).astype(int), minlength=24)
    flat = np.full(24, len(t) / 24)
    assert stats.chi2.sf(float(((observed - flat) ** 2 / flat).sum()), 23) < 1e-6


def test_surges_scale_the_right_dates() -> None:
    surges = {
        "flu": {"from": "2025-01-13", "to": "2025-01-19", "factor": 2.0},
        "cold_snap": {"from": "2025-01-18", "to": "2025-01-22", "factor": 1.5},  # overlaps: x3
        "before_start": {"from": "2024-12-01", "to": "2025-01-05", "factor": 9.0},
        "after_end": {"from": "2025-03-01", "to": "2025-03-05", "factor": 9.0},
    }
    plain = scenario(days=28)
    surged = scenario(days=28, stream={"surges": surges})
    ratio = hourly_rates(surged, surged.arrivals["s"]).reshape(28, 24).sum(axis=1) / hourly_rates(
        plain, plain.arrivals["s"]
    ).reshape(28, 24).sum(axis=1)
    want = np.ones(28)
    want[7:14] *= 2.0  # 13-19 January are days 7-13
    want[12:17] *= 1.5  # 18-22 January are days 12-16
    assert np.allclose(ratio, want)
    assert np.allclose(hourly_rates(surged, surged.arrivals["s"]) * 60, expected_per_hour(surged))

    # Sampled arrivals: the flu week (days 7-11, factor 2 only) against the week before, both
    # Monday-Friday. Their ratio has a 99.9% normal CI of about +-0.05 at these counts.
    t = arrival_times(surged, surged.arrivals["s"], np.random.default_rng(7))
    day = (t // 1440).astype(int)
    before = np.isin(day, range(0, 5)).sum()
    flu = np.isin(day, range(7, 12)).sum()
    se = 2.0 * np.sqrt(1 / before + 1 / flu)
    assert abs(flu / before - 2.0) < 3.3 * se


def test_zero_rate_gives_no_arrivals() -> None:
    s = scenario(days=7, stream={"per_day": 0})
    assert len(arrival_times(s, s.arrivals["s"], np.random.default_rng(0))) == 0


def staff_scenario(start: dt.date, days: float, **staff: Any) -> Scenario:
    return scenario(
        days=days,
        start=start,
        staff={"docs": staff},
        stages={"s": {"place": "p", "staff": "docs", "duration": 10}},
    )


def steps_as_list(times: np.ndarray, values: np.ndarray) -> list[tuple[float, float]]:
    return [(float(t), float(v)) for t, v in zip(times, values, strict=True)]


def test_night_shift_crosses_midnight() -> None:
    s = staff_scenario(
        MONDAY,
        3,
        shifts={
            "day": {"start": "08:00", "end": "20:00", "count": 3},
            "night": {"start": "20:00", "end": "08:00", "count": 1, "days": ["Mon"]},
        },
    )
    times, caps = staff_capacity(s, s.staff["docs"])
    h = 60.0
    assert steps_as_list(times, caps) == [
        (0, 0),
        (8 * h, 3),
        (20 * h, 1),  # Monday: night from 20:00
        (32 * h, 3),
        (44 * h, 0),  # Tuesday: no night shift
        (56 * h, 3),
        (68 * h, 0),  # Wednesday
    ]


def test_sunday_night_shift_runs_into_monday() -> None:
    s = staff_scenario(
        dt.date(2025, 1, 11),
        3,
        shifts={  # Saturday, Sunday, Monday
            "night": {"start": "22:00", "end": "06:30", "count": 2, "days": ["Sun"]},
        },
    )
    week = weekly_staff(s.staff["docs"])
    assert week[:390].tolist() == [2.0] * 390  # Monday 00:00-06:30, from Sunday's shift
    assert week[390:].sum() == 2 * 120  # and Sunday 22:00-24:00
    assert week[6 * 1440 + 22 * 60] == 2
    times, caps = staff_capacity(s, s.staff["docs"])
    h = 60.0
    assert steps_as_list(times, caps) == [(0, 0), (46 * h, 2), (54.5 * h, 0)]


def test_per_hour_roster_with_a_weekday_override() -> None:
    hours = [1] * 8 + [4] * 12 + [2] * 4
    s = staff_scenario(MONDAY, 7, per_hour=hours, per_hour_on={"Sat": [1] * 24})
    times, caps = staff_capacity(s, s.staff["docs"])
    by_minute = np.repeat(caps, np.diff(np.append(times, s.horizon)).astype(int))
    assert by_minute.reshape(7, 24, 60)[:5, :, 0].tolist() == [hours] * 5
    assert by_minute.reshape(7, 24, 60)[5, :, 0].tolist() == [1] * 24
    assert by_minute.reshape(7, 24, 60)[6, :, 0].tolist() == hours


def test_open_hours() -> None:
    s = scenario(
        days=7,
        places={
            "p": {
                "capacity": 6,
                "open_hours": {
                    "from": "08:00",
                    "to": "20:00",
                    "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
                },
            }
        },
    )
    times, caps = place_capacity(s, s.places["p"])
    want: list[tuple[float, float]] = [(0, 0)]
    for d in range(5):
        want += [(d * 1440 + 480, 6), (d * 1440 + 1200, 0)]
    assert steps_as_list(times, caps) == want


def test_open_hours_past_midnight() -> None:
    s = scenario(
        days=2,
        start=dt.date(2025, 1, 12),
        places={
            "p": {  # Sunday, Monday
                "capacity": 4,
                "open_hours": {"from": "22:00", "to": "02:00", "days": ["Sun"]},
            }
        },
    )
    times, caps = place_capacity(s, s.places["p"])
    assert steps_as_list(times, caps) == [(0, 0), (1320, 4), (1560, 0)]


def test_dated_changes_by_amount_and_to_a_capacity() -> None:
    s = scenario(
        days=8,
        places={
            "p": {
                "capacity": 10,
                "changes": {
                    "norovirus": {"from": "2025-01-07", "to": "2025-01-08", "change": -3},
                    "escalation": {"from": "2025-01-08", "to": "2025-01-08", "change": 2},
                    "reset": {"from": "2025-01-10", "to": "2025-01-10", "to_capacity": 4},
                    "reset_and_more": {"from": "2025-01-11", "to": "2025-01-11", "to_capacity": 4},
                    "more": {"from": "2025-01-11", "to": "2025-01-11", "change": 1},
                    "too_many_closed": {"from": "2025-01-12", "to": "2025-01-12", "change": -50},
                },
            }
        },
    )
    times, caps = place_capacity(s, s.places["p"])
    day = 1440.0
    assert steps_as_list(times, caps) == [
        (0, 10),
        (1 * day, 7),
        (2 * day, 9),  # Tue -3; Wed -3 +2 (same-day changes add up)
        (3 * day, 10),
        (4 * day, 4),
        (5 * day, 5),  # Fri set to 4; Sat set to 4 then +1
        (6 * day, 0),
        (7 * day, 10),  # Sun -50 floors at 0; back on Monday
    ]


def test_dated_change_applies_only_while_open() -> None:
    s = scenario(
        days=2,
        places={
            "p": {
                "capacity": 5,
                "open_hours": {"from": "08:00", "to": "20:00"},
                "changes": {"extra": {"from": "2025-01-07", "to": "2025-01-07", "change": 2}},
            }
        },
    )
    times, caps = place_capacity(s, s.places["p"])
    assert steps_as_list(times, caps) == [
        (0, 0),
        (480, 5),
        (1200, 0),
        (1440 + 480, 7),
        (1440 + 1200, 0),
    ]


def test_capacity_steps_end_at_the_horizon() -> None:
    s = scenario(days=1.5)
    times, caps = capacity_steps(s, np.tile(np.repeat([1.0, 2.0], 720), 7), {})
    assert steps_as_list(times, caps) == [(0, 1), (720, 2), (1440, 1)]


WINDOW = DischargeWindow.model_validate(
    {
        "hours": [0] * 9 + [1, 2, 3, 3, 2, 1, 1] + [0] * 8,  # 09:00-16:00 only
        "days": {"Sat": 0.4, "Sun": 0},
    }
)


@pytest.mark.parametrize("start_weekday", [0, 3, 6])
def test_discharge_clock_respects_ready_time_hours_and_days(start_weekday: int) -> None:
    clock = DischargeClock(WINDOW, start_weekday, np.random.default_rng(start_weekday))
    ready = np.random.default_rng(99).uniform(0, 60 * 1440, 20_000)
    leave = np.array([clock.leave_time(r) for r in ready])
    assert np.all(leave >= ready)
    hour = (leave % 1440) // 60
    assert np.all((hour >= 9) & (hour < 16))
    weekday = (start_weekday + leave // 1440).astype(int) % 7
    assert not np.any(weekday == 6)  # Sunday has share 0
    # Saturday lets 40% of the ready go: compare Saturday with Friday discharges. Expected ratio
    # 0.4 x (1 + ...) is not simple, so only check it is clearly between the extremes.
    sat, fri = (weekday == 5).sum(), (weekday == 4).sum()
    assert 0.2 * fri < sat < 0.8 * fri
    # Nobody waits longer than needed: at most to the next allowed day's window (Sat 60% stay,
    # so a few more days in the worst case, but never more than a week).
    assert np.all(leave - ready < 7 * 1440)


def test_discharge_clock_same_day_when_every_day_allowed() -> None:
    window = DischargeWindow.model_validate({"hours": [0] * 10 + [1, 1] + [0] * 12})
    clock = DischargeClock(window, 0, np.random.default_rng(3))
    ready = np.random.default_rng(4).uniform(0, 30 * 1440, 5000)
    leave = np.array([clock.leave_time(r) for r in ready])
    assert np.all((leave >= ready) & (leave - ready < 1440))
    assert np.all(((leave % 1440) >= 600) & ((leave % 1440) < 720))
    # Ready before 10:00: leave the same day.
    early = (ready % 1440) < 600
    assert np.all(leave[early] // 1440 == ready[early] // 1440)


def test_discharge_hours_follow_the_window_whatever_the_ready_time() -> None:
    # The hour is drawn from the weights once and kept until a day allows it, so the share of
    # discharges in each hour is the window's share, exactly in expectation.
    import numpy as np

    from flowsim.scenario import DischargeWindow
    from flowsim.schedules import DischargeClock

    hours = [0.0] * 9 + [1.0, 2.0, 1.0] + [0.0] * 12  # 09:00-12:00, shares 1/4, 1/2, 1/4
    clock = DischargeClock(DischargeWindow(hours=hours), 0, np.random.default_rng(5))
    ready = np.random.default_rng(6).uniform(0, 7 * 1440, 4000)
    leave = np.array([clock.leave_time(t) for t in ready])
    assert (leave >= ready).all() and (leave - ready < 1440).all()
    hod = ((leave % 1440) // 60).astype(int)
    share = np.bincount(hod, minlength=24)[9:12] / len(hod)
    # Binomial standard errors; 4 of them each side.
    for got, want in zip(share, (0.25, 0.5, 0.25), strict=True):
        assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / len(hod))
    # Ready at 13:00 on a Monday: gone on Tuesday morning.
    next_day = np.array([clock.leave_time(13 * 60.0) for _ in range(500)])
    assert next_day.min() >= 1440 + 540 and next_day.max() < 1440 + 720
