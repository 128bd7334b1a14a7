"""The engine in the STARS test families: deterministic, extreme values, functional, the
individual behaviours (priorities, overflow, leaving unseen, capacity changes, shifts, discharge
windows, delayed discharges), common random numbers, serial equals parallel, reproducibility.

Scenarios are written here as small dicts; statistical checks use confidence intervals whose
level is stated beside them.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowsim
from flowsim.engine import Records, simulate
from flowsim.kpis import compute_kpis, hourly_series
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario
from flowsim.stats import mean_ci

DAY = 1440.0
SEED = 20250106


# -- building scenarios -----------------------------------------------------------------------
def one_stage(**over: Any) -> dict[str, Any]:
    """One stream into one stage; ``over`` replaces top-level keys."""
    data: dict[str, Any] = {
        "name": "one",
        "start": "2025-01-06",  # a Monday
        "run": {"warmup": 0, "length": 5 * DAY},
        "classes": {"a": {}},
        "arrivals": {"s": {"per_day": 48, "class_mix": {"a": 1.0}, "first_stage": "see"}},
        "places": {"room": {"capacity": "unlimited", "area": "ed"}},
        "stages": {"see": {"place": "room", "duration": 30}},
    }
    data.update(over)
    return data


def scenario(data: dict[str, Any]) -> Scenario:
    return load_scenario(copy.deepcopy(data))


def ed_ward(
    beds: int = 40, doctors: int = 4, name: str | None = None, days: float = 56
) -> Scenario:
    """A small coupled ED and ward: 60 arrivals a day, 30% admitted for about two days, so the
    ward needs about 36 beds on average and boarders block ED cubicles when it is full."""
    return load_scenario(
        {
            "name": name or f"beds{beds}_doctors{doctors}",
            "run": {"warmup": 14 * DAY, "length": days * DAY},
            "classes": {"a": {}},
            "arrivals": {
                "walk_in": {"per_day": 60, "class_mix": {"a": 1.0}, "first_stage": "assess"}
            },
            "places": {
                "cubicles": {"capacity": 12, "area": "ed"},
                "beds": {"capacity": beds, "area": "ward", "queue": "first_come"},
            },
            "staff": {"doctors": {"count": doctors}},
            "stages": {
                "assess": {
                    "place": "cubicles",
                    "staff": "doctors",
                    "milestone": "clinician",
                    "duration": {"dist": "exponential", "mean": 45},
                    "next": {"ward": 0.3, "exit": 0.7},
                },
                "ward": {
                    "place": "beds",
                    "duration": {"dist": "lognormal", "mean": "2d", "sd": "1d"},
                },
            },
        }
    )


def same(a: np.ndarray, b: np.ndarray | float) -> bool:
    """Equal up to the rounding of clock arithmetic (differences of about 1e-13 minutes)."""
    return bool(np.allclose(a, b, rtol=0, atol=1e-9))


def visits(rec: Records, stage: str) -> dict[str, np.ndarray]:
    """The visit arrays of one stage, with each visit's patient class added."""
    assert rec.visits is not None
    i = list(rec.scenario.stages).index(stage)
    keep = rec.visits["stage"] == i
    out = {k: v[keep] for k, v in rec.visits.items()}
    out["class"] = rec.patient_class[out["patient"]]
    return out


# -- deterministic ----------------------------------------------------------------------------
def test_fixed_durations_add_up_exactly() -> None:
    # Unlimited places and no staff: nobody waits, so time in system is the sum of the stage
    # durations (30 + 45 + 15 min), to rounding of the clock.
    data = one_stage(
        places={
            "room": {"capacity": "unlimited", "area": "ed"},
            "bay": {"capacity": "unlimited", "area": "ed"},
        },
        stages={
            "see": {"place": "room", "duration": 30, "next": {"treat": 1.0}},
            "treat": {"place": "bay", "duration": "45min", "next": {"review": 1.0}},
            "review": {"duration": {"dist": "empirical", "values": [15]}},
        },
    )
    rec = simulate(scenario(data), 0, SEED, record_visits=True)
    done = ~np.isnan(rec.left)
    assert done.sum() > 200
    assert same(rec.left[done] - rec.arrival[done], 90.0)
    for stage, offset, length in (("see", 0, 30), ("treat", 30, 45), ("review", 75, 15)):
        v = visits(rec, stage)
        arrived = rec.arrival[v["patient"]]
        assert same(v["queued"], arrived + offset)
        assert same(v["started"], v["queued"])
        assert same(v["ended"] - v["started"], length)
    k = compute_kpis(rec)
    assert k["time_in_department_mean"] == pytest.approx(90.0, abs=1e-9)
    assert k["four_hour_pct"] == 100.0


def test_tandem_blocking_times_by_hand() -> None:
    # Two single places in tandem, A (30 min) then B (60 min): B is the bottleneck, so patients
    # finish A and wait there, blocking A, until B is free. With one class and first-come order
    # the times follow the recurrence for blocking after service:
    #   start_A[i] = max(arrival[i], leave_A[i-1]),   done_A[i] = start_A[i] + 30
    #   start_B[i] = max(done_A[i], start_B[i-1] + 60) = leave_A[i]
    data = one_stage(
        run={"warmup": 0, "length": 0.5 * DAY},
        arrivals={"s": {"per_day": 72, "class_mix": {"a": 1.0}, "first_stage": "a"}},
        places={"pa": {"capacity": 1, "area": "ed"}, "pb": {"capacity": 1, "area": "ed"}},
        stages={
            "a": {"place": "pa", "duration": 30, "next": {"b": 1.0}},
            "b": {"place": "pb", "duration": 60},
        },
    )
    rec = simulate(scenario(data), 0, SEED, record_visits=True)
    n = len(rec.arrival)
    assert n >= 10
    start_a, done_a, start_b = np.zeros(n), np.zeros(n), np.zeros(n)
    leave_a_prev, start_b_prev = -math.inf, -math.inf
    for i, t in enumerate(rec.arrival):
        start_a[i] = max(t, leave_a_prev)
        done_a[i] = start_a[i] + 30
        start_b[i] = max(done_a[i], start_b_prev + 60)
        leave_a_prev, start_b_prev = start_b[i], start_b[i]
    horizon = rec.horizon
    va, vb = visits(rec, "a"), visits(rec, "b")
    # Visits are recorded when a stage ends, so only those ending before the horizon appear.
    want_a = done_a < horizon
    want_b = start_b + 60 < horizon
    assert va["patient"].tolist() == np.flatnonzero(want_a).tolist()
    assert vb["patient"].tolist() == np.flatnonzero(want_b).tolist()
    assert same(va["queued"], rec.arrival[want_a])
    assert same(va["started"], start_a[want_a])
    assert same(va["ended"], done_a[want_a])
    assert same(vb["queued"], done_a[want_b])
    assert same(vb["started"], start_b[want_b])
    assert same(vb["ended"], start_b[want_b] + 60)
    assert same(rec.left[want_b], start_b[want_b] + 60)
    # The story really has queueing for A and blocking in A.
    assert (start_a > rec.arrival).sum() >= 3
    assert (start_b > done_a).sum() >= 3
    # While blocked the patient still holds A: halfway through each block, A is in use.
    log = rec.pools["pa"]
    blocked = (start_b > done_a) & want_b
    middle = (done_a[blocked] + start_b[blocked]) / 2
    assert np.all(log["in_use"][np.searchsorted(log["time"], middle, side="right") - 1] == 1)
    assert log["in_use"].max() == 1


# -- extreme values ---------------------------------------------------------------------------
def test_no_arrivals() -> None:
    data = one_stage(
        arrivals={"s": {"per_day": 0, "class_mix": {"a": 1.0}, "first_stage": "see"}},
        places={"room": {"capacity": 3, "area": "ed"}},
        staff={"doctors": {"count": 2}},
        stages={
            "see": {"place": "room", "staff": "doctors", "duration": 30, "milestone": "clinician"}
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" or division warnings
        rec = simulate(scenario(data), 0, SEED, record_visits=True)
        k = compute_kpis(rec)
        series = hourly_series(rec)
    assert len(rec.arrival) == 0
    assert k["arrivals"] == 0 and k["attendances"] == 0 and k["in_system_at_end"] == 0
    for name in (
        "four_hour_pct",
        "time_in_department_mean",
        "time_to_clinician_mean",
        "left_without_being_seen_pct",
        "wait_mean.see",
    ):
        assert math.isnan(k[name]), name
    assert k["occupancy_mean.room"] == 0 and k["busy_mean_pct.doctors"] == 0
    assert k["occupancy_ge_100_pct_time.room"] == 0
    assert np.all(series.occupancy == 0)
    res = flowsim.run(scenario(data), replications=2, seed=1)
    assert len(res.summary()) == len(k)


def test_unlimited_capacity_means_no_waits() -> None:
    data = one_stage(
        arrivals={"s": {"per_day": 500, "class_mix": {"a": 1.0}, "first_stage": "see"}},
        staff={"doctors": {"count": 10_000}},
        places={
            "room": {"capacity": "unlimited", "area": "ed"},
            "ward": {"capacity": 100_000, "area": "ward"},
        },
        stages={
            "see": {
                "place": "room",
                "staff": "doctors",
                "milestone": "clinician",
                "duration": {"dist": "exponential", "mean": 120},
                "next": {"stay": 1.0},
            },
            "stay": {"place": "ward", "duration": {"dist": "exponential", "mean": "1d"}},
        },
    )
    k = compute_kpis(simulate(scenario(data), 0, SEED))
    assert k["wait_mean.see"] == 0 and k["wait_mean.stay"] == 0
    assert k["time_to_clinician_mean"] == 0 and k["dta_wait_mean"] == 0
    assert k["queue_mean.room"] == 0 and k["queue_mean.ward"] == 0


def test_a_route_taking_everyone() -> None:
    data = one_stage(
        stages={
            "see": {
                "place": "room",
                "duration": 10,
                "next": {"left": 1.0, "right": 0.0},
                "next_by_class": {"b": {"left": 0.0, "right": 1.0}},
            },
            "left": {"duration": 5},
            "right": {"duration": 5},
        },
        classes={"a": {}, "b": {}},
        arrivals={"s": {"per_day": 100, "class_mix": {"a": 0.6, "b": 0.4}, "first_stage": "see"}},
    )
    rec = simulate(scenario(data), 0, SEED, record_visits=True)
    seen = visits(rec, "see")
    left, right = visits(rec, "left"), visits(rec, "right")
    assert len(seen["patient"]) > 400
    a, b = 0, 1
    assert np.all(left["class"] == a) and np.all(right["class"] == b)
    finished = seen["patient"][seen["ended"] < rec.horizon - 5]
    gone_on = set(left["patient"]) | set(right["patient"])
    assert set(finished) <= gone_on


def test_zero_capacity_keeps_patients_in_the_system() -> None:
    data = one_stage(places={"room": {"capacity": 0, "area": "ed"}})
    rec = simulate(scenario(data), 0, SEED, record_visits=True)
    k = compute_kpis(rec)
    n = len(rec.arrival)
    assert n > 100
    assert np.isnan(rec.left).all() and not rec.visits["patient"].size  # type: ignore[index]
    assert k["in_system_at_end"] == n and k["in_department_at_end"] == n
    assert k["attendances"] == 0 and math.isnan(k["four_hour_pct"])
    assert rec.pools["room"]["waiting"][-1] == n


# -- functional -------------------------------------------------------------------------------
@pytest.mark.slow
def test_more_beds_mean_less_boarding_and_shorter_stays_in_the_department() -> None:
    # Paired over 10 replications (common random numbers): the 95% CI of each difference
    # (50 beds minus 40 beds) must lie wholly below zero.
    res = flowsim.run([ed_ward(40), ed_ward(50)], replications=10, seed=1)
    diff = res.compare().set_index("kpi")
    for kpi in ("dta_wait_mean", "time_in_department_mean", "dta_over_4h_count"):
        assert diff.loc[kpi, "ci_high"] < 0, kpi
    assert diff.loc["four_hour_pct", "ci_low"] > 0
    # The beds are used as much (same demand), so occupancy does not rise by more than noise.
    assert abs(diff.loc["occupancy_mean.beds", "difference"]) < 1.0


@pytest.mark.slow
def test_more_doctors_mean_shorter_time_to_clinician() -> None:
    # 2 doctors are busy 94% of the time, 3 doctors 63%; paired 95% CIs over 6 replications.
    res = flowsim.run([ed_ward(60, 2), ed_ward(60, 3)], replications=6, seed=2)
    diff = res.compare().set_index("kpi")
    assert diff.loc["time_to_clinician_mean", "ci_high"] < 0
    assert diff.loc["busy_mean_pct.doctors", "ci_high"] < 0
    assert diff.loc["wait_mean.assess", "ci_high"] < 0


# -- priorities and queue order ---------------------------------------------------------------
def two_classes(
    queue: str = "priority", server: str = "staff", per_day: float = 76.8, days: float = 30
) -> Scenario:
    # One server, two classes of equal volume, exponential 15 min: rho = per_day * 15 / 1440.
    stage: dict[str, Any] = {"duration": {"dist": "exponential", "mean": 15}}
    places: dict[str, Any] = {}
    staff: dict[str, Any] = {}
    if server == "staff":
        staff = {"nurse": {"count": 1}}
        stage["staff"] = "nurse"
    else:
        places = {"chair": {"capacity": 1, "queue": queue}}
        stage["place"] = "chair"
    return load_scenario(
        {
            "name": "prio",
            "run": {"warmup": 1 * DAY, "length": days * DAY},
            "classes": {"urgent": {"priority": 1}, "routine": {"priority": 2}},
            "arrivals": {
                "s": {
                    "per_day": per_day,
                    "class_mix": {"urgent": 0.5, "routine": 0.5},
                    "first_stage": "see",
                }
            },
            "places": places,
            "staff": staff,
            "stages": {"see": stage},
        }
    )


def class_waits(rec: Records) -> tuple[float, float]:
    v = visits(rec, "see")
    keep = v["started"] >= rec.scenario.run.warmup
    w = v["started"] - v["queued"]
    return (float(w[keep & (v["class"] == 0)].mean()), float(w[keep & (v["class"] == 1)].mean()))


@pytest.mark.parametrize("server", ["staff", "place"])
def test_higher_priority_waits_less(server: str) -> None:
    # rho = 0.8, rho_urgent = 0.4. Non-preemptive priority M/M/1 (Cobham's formula):
    # W_k = W0 / ((1 - s_{k-1})(1 - s_k)), W0 = rho * E[S] = 12 min, so 20 and 100 min.
    # Each must lie within the 95% t CI over 10 replications.
    s = two_classes(server=server)
    urgent, routine = zip(
        *(class_waits(simulate(s, r, SEED, record_visits=True)) for r in range(10)), strict=True
    )
    for waits, theory in ((urgent, 20.0), (routine, 100.0)):
        _, lo, hi, _ = mean_ci(np.array(waits))
        assert lo <= theory <= hi, (theory, lo, hi)
    assert all(u < r for u, r in zip(urgent, routine, strict=True))


def test_first_come_place_ignores_priority() -> None:
    fifo = simulate(
        two_classes(queue="first_come", server="place", days=10), 0, SEED, record_visits=True
    )
    v = visits(fifo, "see")
    order = np.argsort(v["queued"], kind="stable")
    assert np.all(np.diff(v["started"][order]) >= 0)  # served strictly in order of asking
    urgent, routine = class_waits(fifo)
    assert urgent == pytest.approx(routine, rel=0.35)  # same queue, same wait up to noise
    # The same check fails for a priority queue: urgent patients overtake.
    prio = visits(
        simulate(
            two_classes(queue="priority", server="place", days=10), 0, SEED, record_visits=True
        ),
        "see",
    )
    order = np.argsort(prio["queued"], kind="stable")
    assert np.any(np.diff(prio["started"][order]) < 0)


# -- overflow ---------------------------------------------------------------------------------
def test_overflow_when_the_place_is_full() -> None:
    def make(amu_beds: int) -> Scenario:
        return scenario(
            one_stage(
                arrivals={"s": {"per_day": 30, "class_mix": {"a": 1.0}, "first_stage": "amu"}},
                places={
                    "amu_beds": {"capacity": amu_beds, "area": "assessment"},
                    "outlier_beds": {"capacity": "unlimited", "area": "ward"},
                },
                stages={
                    "amu": {
                        "place": "amu_beds",
                        "overflow": "outlier",
                        "duration": {"dist": "exponential", "mean": "6h"},
                    },
                    "outlier": {
                        "place": "outlier_beds",
                        "duration": {"dist": "exponential", "mean": "8h"},
                    },
                },
            )
        )

    rec = simulate(make(5), 0, SEED, record_visits=True)
    amu, out = visits(rec, "amu"), visits(rec, "outlier")
    assert len(out["patient"]) > 20 and len(amu["patient"]) > 60
    assert not set(amu["patient"]) & set(out["patient"])  # one or the other, never both
    log = rec.pools["amu_beds"]
    assert log["in_use"].max() == 5 and log["waiting"].max() == 0  # nobody queues for the AMU
    # At the moment each overflow patient arrived, every AMU bed was taken.
    at = np.searchsorted(log["time"], out["queued"], side="right") - 1
    assert np.all(log["in_use"][at] == 5)
    # With room for all, nobody overflows.
    rec = simulate(make(1000), 0, SEED, record_visits=True)
    assert len(visits(rec, "outlier")["patient"]) == 0


# -- leaving without being seen ---------------------------------------------------------------
@pytest.mark.parametrize("bottleneck", ["place", "staff"])
def test_only_listed_classes_leave_without_being_seen(bottleneck: str) -> None:
    # Arrivals at 1.5 times what one server can see, so queues grow and patience runs out.
    stage: dict[str, Any] = {
        "duration": 20,
        "milestone": "clinician",
        "leave_without_being_seen": {"classes": ["minor"], "patience": "1h"},
    }
    if bottleneck == "place":
        places = {"cubicle": {"capacity": 1, "area": "ed"}}
        staff: dict[str, Any] = {}
        stage["place"] = "cubicle"
    else:
        places = {"waiting": {"capacity": "unlimited", "area": "ed"}}
        staff = {"doctor": {"count": 1}}
        stage.update(place="waiting", staff="doctor")
    rec = simulate(
        scenario(
            one_stage(
                run={"warmup": 0, "length": 3 * DAY},
                classes={"major": {"priority": 2}, "minor": {"priority": 2}},
                arrivals={
                    "s": {
                        "per_day": 108,
                        "class_mix": {"major": 0.5, "minor": 0.5},
                        "first_stage": "see",
                    }
                },
                places=places,
                staff=staff,
                stages={"see": stage},
            )
        ),
        0,
        SEED,
        record_visits=True,
    )
    minor = rec.patient_class == 1
    lwbs = rec.left_without_being_seen
    assert lwbs.sum() > 10
    assert not np.any(lwbs & ~minor)
    # They leave exactly when their patience (1 h from joining the queue) runs out, unseen.
    assert same(rec.left[lwbs] - rec.arrival[lwbs], 60.0)
    assert np.all(np.isnan(rec.clinician[lwbs]))
    # The visit they gave up on is in the visit table: never started, ended when they left
    # (it was missing, so their time waiting in a place could not be rebuilt from the table).
    v = visits(rec, "see")
    gave_up = np.isin(v["patient"], np.flatnonzero(lwbs))
    assert sorted(v["patient"][gave_up]) == sorted(np.flatnonzero(lwbs))
    assert np.isnan(v["started"][gave_up]).all() and not np.isnan(v["started"][~gave_up]).any()
    assert same(v["ended"][gave_up], rec.left[v["patient"][gave_up]])
    # Majors are never turned away, so some of them wait far longer than an hour.
    seen = ~np.isnan(rec.clinician) & ~minor
    assert (rec.clinician[seen] - rec.arrival[seen]).max() > 120
    k = compute_kpis(rec)
    counted = ~np.isnan(rec.ed_departure)
    assert k["left_without_being_seen_pct"] == pytest.approx(100 * lwbs[counted].mean())
    assert k["left_without_being_seen_pct"] > 0
    if bottleneck == "staff":  # they gave up their place in the waiting room
        assert rec.pools["waiting"]["in_use"][-1] == np.isnan(rec.left).sum()


# -- capacity changes and shifts --------------------------------------------------------------
def test_dated_closure_applies_on_exactly_those_days_and_evicts_nobody() -> None:
    # Start Monday 6 January; 3 of 4 beds close on Wednesday 8 and Thursday 9 (days 2 and 3).
    rec = simulate(
        scenario(
            one_stage(
                run={"warmup": 0, "length": 6 * DAY},
                arrivals={"s": {"per_day": 12, "class_mix": {"a": 1.0}, "first_stage": "stay"}},
                places={
                    "beds": {
                        "capacity": 4,
                        "area": "ward",
                        "changes": {
                            "norovirus": {"from": "2025-01-08", "to": "2025-01-09", "change": -3}
                        },
                    }
                },
                stages={"stay": {"place": "beds", "duration": "10h"}},
            )
        ),
        0,
        SEED,
        record_visits=True,
    )
    log = rec.pools["beds"]
    assert log["cap_time"].tolist() == [0.0, 2 * DAY, 4 * DAY]
    assert log["cap_value"].tolist() == [4.0, 1.0, 4.0]
    v = visits(rec, "stay")
    assert same(v["ended"] - v["started"], 600.0)  # stays not cut
    # Beds were full when the closure began, and those patients stayed.
    at = np.searchsorted(log["time"], 2 * DAY, side="right") - 1
    assert log["in_use"][at] >= 2
    in_bed = (v["started"] <= 2 * DAY) & (v["ended"] > 2 * DAY)
    assert in_bed.sum() >= 2
    # Nobody new is admitted during the closure unless the bed count is under the new capacity.
    for t in v["started"][(v["started"] >= 2 * DAY) & (v["started"] < 4 * DAY)]:
        assert ((v["started"] < t) & (v["ended"] > t)).sum() == 0


def test_shift_end_finishes_the_patient_and_nobody_starts_until_staff_return() -> None:
    # One doctor 08:00-20:00; each consultation takes 100 min and is never cut short (more
    # arrive than can be seen, so the day is 08:00, 09:40, ..., 19:40, which runs past 20:00).
    rec = simulate(
        scenario(
            one_stage(
                run={"warmup": 0, "length": 4 * DAY},
                arrivals={"s": {"per_day": 14, "class_mix": {"a": 1.0}, "first_stage": "see"}},
                staff={
                    "doctor": {"shifts": {"day": {"start": "08:00", "end": "20:00", "count": 1}}}
                },
                stages={"see": {"place": "room", "staff": "doctor", "duration": 100}},
            )
        ),
        0,
        SEED,
        record_visits=True,
    )
    v = visits(rec, "see")
    assert same(v["ended"] - v["started"], 100.0)
    minute = v["started"] % DAY
    assert np.all((minute >= 480) & (minute < 1200))
    # Someone was with the doctor at 20:00 and was finished after it ...
    assert np.any((minute > 1200 - 100) & (minute < 1200))
    # ... and the night's queue is started at 08:00 sharp.
    assert np.any(np.isclose(minute, 480.0, rtol=0, atol=1e-9))
    # Only one patient at a time, even across the shift end.
    order = np.argsort(v["started"])
    assert np.all(v["started"][order][1:] >= v["ended"][order][:-1] - 1e-9)


# -- leaving: discharge window and delayed discharge --------------------------------------------
def test_discharge_window_holds_only_patients_who_leave() -> None:
    hours = [0.0] * 24
    hours[10] = hours[11] = 1.0
    rec = simulate(
        scenario(
            one_stage(
                run={"warmup": 0, "length": 21 * DAY},
                arrivals={"s": {"per_day": 20, "class_mix": {"a": 1.0}, "first_stage": "ward"}},
                places={
                    "beds": {"capacity": "unlimited", "area": "ward"},
                    "care_home": {"capacity": "unlimited"},
                },
                stages={
                    "ward": {
                        "place": "beds",
                        "duration": {"dist": "exponential", "mean": "1d"},
                        "next": {"transfer": 0.3, "exit": 0.7},
                        "discharge_window": {"hours": hours, "days": {"Sat": 0, "Sun": 0}},
                    },
                    "transfer": {"place": "care_home", "duration": "1h"},
                },
            )
        ),
        0,
        SEED,
        record_visits=True,
    )
    ward, transfer = visits(rec, "ward"), visits(rec, "transfer")
    # Those who left from the ward left when their ward visit ended; the others were moved on
    # (and may still be in transfer at the end of the run).
    home = rec.left[ward["patient"]] == ward["ended"]
    moved = ~home
    went_home = ward["ended"][home]
    assert len(went_home) > 200 and moved.sum() > 50
    hour = (went_home % DAY) // 60
    weekday = (went_home // DAY).astype(int) % 7  # day 0 is a Monday
    assert np.all((hour >= 10) & (hour < 12))
    assert not np.any(weekday >= 5)
    # Transfers leave the ward as soon as their stay ends, at any hour and on any day.
    moved_at = ward["ended"][moved]
    assert np.mean(((moved_at % DAY) // 60 < 10) | ((moved_at % DAY) // 60 >= 12)) > 0.7
    assert np.all(np.isin(transfer["patient"], ward["patient"][moved]))
    queued_for_transfer = dict(
        zip(transfer["patient"].tolist(), transfer["queued"].tolist(), strict=True)
    )
    assert all(
        queued_for_transfer.get(p, e) == e
        for p, e in zip(ward["patient"][moved].tolist(), moved_at.tolist(), strict=True)
    )
    # The transfer stage has no window: exactly one hour there.
    assert same(transfer["ended"] - transfer["started"], 60.0)


def test_delayed_discharge_share_and_extra_stay() -> None:
    # A fixed one-day stay; of patients leaving, 25% stay a further exponential 12 h on average.
    rec = simulate(
        scenario(
            one_stage(
                run={"warmup": 2 * DAY, "length": 40 * DAY},
                arrivals={"s": {"per_day": 40, "class_mix": {"a": 1.0}, "first_stage": "ward"}},
                places={
                    "beds": {"capacity": "unlimited", "area": "ward"},
                    "community": {"capacity": "unlimited"},
                },
                stages={
                    "ward": {
                        "place": "beds",
                        "duration": "1d",
                        "next": {"rehab": 0.3, "exit": 0.7},
                        "delayed_discharge": {
                            "share": 0.25,
                            "delay": {"dist": "exponential", "mean": "12h"},
                        },
                    },
                    "rehab": {"place": "community", "duration": "2h"},
                },
            )
        ),
        0,
        SEED,
        record_visits=True,
    )
    ward, rehab = visits(rec, "ward"), visits(rec, "rehab")
    moved = rec.left[ward["patient"]] != ward["ended"]  # not left from the ward: moved on
    assert np.all(np.isin(rehab["patient"], ward["patient"][moved]))
    extra = ward["ended"] - ward["started"] - DAY
    # Transfers are never delayed.
    assert moved.sum() > 200 and same(extra[moved], 0.0)
    leaving = extra[~moved]
    delayed = leaving > 1e-9
    n = len(leaving)
    assert n > 800
    # Share delayed: binomial, 99% normal-approximation interval around the observed share.
    share = delayed.mean()
    assert abs(share - 0.25) < 2.576 * math.sqrt(share * (1 - share) / n)
    # Extra stay of the delayed: the 99% t CI of its mean contains 720 min.
    _, lo, hi, _ = mean_ci(leaving[delayed], confidence=0.99)
    assert lo <= 720 <= hi
    # Bed days of fit patients waiting, inside the window: at least those of completed delays,
    # at most those plus the delays still running at the end.
    w0, w1 = rec.scenario.run.warmup, rec.horizon
    fit_from = ward["started"][~moved][delayed] + DAY
    done = np.clip(ward["ended"][~moved][delayed], w0, w1) - np.clip(fit_from, w0, w1)
    k = compute_kpis(rec)
    lower = done.sum() / DAY
    assert lower > 50
    running = ~np.isnan(rec.arrival) & np.isnan(rec.left)  # at most those still on the ward
    upper = lower + running.sum() * (w1 - w0) / DAY
    assert lower - 1e-9 <= k["delayed_discharge_bed_days"] <= upper + 1e-9


# -- common random numbers --------------------------------------------------------------------
def test_ward_capacity_does_not_change_arrivals() -> None:
    small = simulate(ed_ward(40, days=14), 3, SEED)
    large = simulate(ed_ward(50, days=14), 3, SEED)
    assert np.array_equal(small.arrival, large.arrival)
    assert np.array_equal(small.patient_class, large.patient_class)
    assert np.array_equal(small.stream, large.stream)
    assert not np.array_equal(small.left, large.left, equal_nan=True)  # the change mattered


def chain(first: Any, extra: bool = False) -> dict[str, Any]:
    data = one_stage(
        run={"warmup": 0, "length": 10 * DAY},
        classes={"a": {}, "b": {}},
        arrivals={"s": {"per_day": 100, "class_mix": {"a": 0.7, "b": 0.3}, "first_stage": "one"}},
        places={"p1": {"capacity": "unlimited"}, "p2": {"capacity": "unlimited"}},
        stages={
            "one": {"place": "p1", "duration": first, "next": {"two": 1.0}},
            "two": {"place": "p2", "duration": {"dist": "gamma", "mean": 50, "sd": 30}},
        },
    )
    if extra:  # another stream, class, place and stage, sharing nothing with the others
        data["classes"] = {"c": {}, **data["classes"]}
        data["arrivals"] = {
            "gp": {"per_day": 30, "class_mix": {"c": 1.0}, "first_stage": "sdec"},
            **data["arrivals"],
        }
        data["places"]["chairs"] = {"capacity": 2}
        data["stages"] = {
            "sdec": {"place": "chairs", "duration": {"dist": "exponential", "mean": 90}},
            **data["stages"],
        }
    return data


def durations_in_start_order(
    rec: Records,
    stage: str,
    of: np.ndarray | None = None,
) -> list[tuple[str, float]]:
    """(class name, duration) of a stage's visits in the order they started: the order in
    which its streams are drawn from."""
    v = visits(rec, stage)
    keep = np.ones(len(v["patient"]), bool) if of is None else np.isin(v["patient"], of)
    order = np.argsort(v["started"][keep], kind="stable")
    names = np.array(list(rec.scenario.classes))[v["class"][keep]][order]
    return list(zip(names.tolist(), (v["ended"] - v["started"])[keep][order].tolist(), strict=True))


def test_changing_one_stage_leaves_other_draws_unchanged() -> None:
    base = simulate(
        scenario(chain({"dist": "exponential", "mean": 30})), 1, SEED, record_visits=True
    )
    changed = simulate(
        scenario(chain({"dist": "lognormal", "mean": 40, "sd": 20})), 1, SEED, record_visits=True
    )
    assert np.array_equal(base.arrival, changed.arrival)
    assert np.array_equal(base.patient_class, changed.patient_class)
    one_b, one_c = durations_in_start_order(base, "one"), durations_in_start_order(changed, "one")
    assert one_b[:50] != one_c[:50]
    # Stage two sees its patients in a different order, but the k-th duration of each class
    # is the same draw.
    two_b, two_c = durations_in_start_order(base, "two"), durations_in_start_order(changed, "two")
    for cls in ("a", "b"):
        xb = [d for c, d in two_b if c == cls]
        xc = [d for c, d in two_c if c == cls]
        n = min(len(xb), len(xc))
        # Same draws; the differences of clock times they are read back from round differently.
        assert n > 200 and np.allclose(xb[:n], xc[:n], rtol=1e-12, atol=1e-9)


def test_adding_a_stream_and_stage_leaves_the_others_unchanged() -> None:
    base = simulate(scenario(chain(20)), 2, SEED, record_visits=True)
    more = simulate(scenario(chain(20, extra=True)), 2, SEED, record_visits=True)
    s_base = list(base.scenario.arrivals).index("s")
    s_more = list(more.scenario.arrivals).index("s")
    mine_base = base.stream == s_base
    mine_more = more.stream == s_more
    assert (~mine_more).sum() > 100  # the new stream does bring patients
    assert np.array_equal(base.arrival[mine_base], more.arrival[mine_more])
    names_base = np.array(list(base.scenario.classes))[base.patient_class[mine_base]]
    names_more = np.array(list(more.scenario.classes))[more.patient_class[mine_more]]
    assert names_base.tolist() == names_more.tolist()
    # The same patients at the same times: so exactly the same visits to stage two.
    assert durations_in_start_order(base, "two") == durations_in_start_order(
        more, "two", of=np.flatnonzero(mine_more)
    )
    assert np.array_equal(base.left[mine_base], more.left[mine_more], equal_nan=True)


# -- serial equals parallel; reproducibility ---------------------------------------------------
def test_serial_equals_parallel_bit_for_bit() -> None:
    scenarios = [ed_ward(40, days=21), ed_ward(46, days=21)]
    serial = flowsim.run(scenarios, replications=3, seed=5, jobs=1)
    parallel = flowsim.run(scenarios, replications=3, seed=5, jobs=2)
    pd.testing.assert_frame_equal(serial.kpis, parallel.kpis, check_exact=True)
    pd.testing.assert_frame_equal(serial.timeseries, parallel.timeseries, check_exact=True)
    assert len(serial.kpis) > 0 and len(serial.timeseries) > 0


def test_same_seed_same_results_and_other_seeds_differ() -> None:
    s = ed_ward(42, days=14)
    a = simulate(s, 0, SEED, record_visits=True)
    b = simulate(s, 0, SEED, record_visits=True)
    for field in ("arrival", "patient_class", "left", "ed_departure", "clinician"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field
    for key in a.visits:  # type: ignore[union-attr]
        assert np.array_equal(a.visits[key], b.visits[key])  # type: ignore[index]
    ka, kb = compute_kpis(a), compute_kpis(b)
    assert ka.keys() == kb.keys()
    assert all(ka[k] == kb[k] or (math.isnan(ka[k]) and math.isnan(kb[k])) for k in ka)
    other_seed = simulate(s, 0, SEED + 1)
    other_rep = simulate(s, 1, SEED)
    for other in (other_seed, other_rep):
        assert len(other.arrival) != len(a.arrival) or not np.array_equal(other.arrival, a.arrival)
        assert compute_kpis(other)["time_in_department_mean"] != ka["time_in_department_mean"]


def test_an_overflow_chain_back_to_the_main_ward_is_not_a_deadlock() -> None:
    # Overflow is taken instead of the full place, not while holding it: wards -> outliers ->
    # back to a wait for wards is no cycle of held places.
    from flowsim import load_scenario

    s = load_scenario(
        {
            "name": "outliers",
            "classes": {"A": {}},
            "arrivals": {"a": {"per_day": 10, "class_mix": {"A": 1}, "first_stage": "ward"}},
            "places": {"wards": {"capacity": 5}, "outliers": {"capacity": 2}},
            "stages": {
                "ward": {"place": "wards", "duration": "1d", "overflow": "outlier"},
                "outlier": {"place": "outliers", "duration": "1d", "overflow": "ward_wait"},
                "ward_wait": {"place": "wards", "duration": "1d"},
            },
        }
    )
    assert s.stages["ward"].overflow == "outlier"


def test_a_patient_held_in_one_place_overflowing_into_a_cycle_is_refused() -> None:
    import pytest

    from flowsim import ScenarioError, load_scenario

    with pytest.raises(ScenarioError, match="deadlock"):
        load_scenario(
            {
                "name": "cycle",
                "classes": {"A": {}},
                "arrivals": {"a": {"per_day": 10, "class_mix": {"A": 1}, "first_stage": "one"}},
                "places": {"p": {"capacity": 2}, "q": {"capacity": 2}, "r": {"capacity": 2}},
                "stages": {
                    "one": {"place": "p", "duration": "1h", "next": {"two": 1}},
                    "two": {
                        "place": "q",
                        "duration": "1h",
                        "overflow": "three",
                        "next": {"one": 0.5, "exit": 0.5},
                    },
                    "three": {"place": "r", "duration": "1h", "next": {"one": 0.5, "exit": 0.5}},
                },
            }
        )


def test_a_zero_time_loop_is_stopped_with_a_clear_error() -> None:
    # 'wait_here' overflows to 'bounce' when the one bed is full; 'bounce' keeps the patient in
    # the foyer they already hold and, taking no time, sends them straight back: without a
    # guard the simulation would spin forever at one instant.
    import pytest

    from flowsim import load_scenario
    from flowsim.engine import ZeroTimeLoop, simulate

    s = load_scenario(
        {
            "name": "spin",
            "run": {"warmup": 0, "length": "1d"},
            "classes": {"A": {}},
            "arrivals": {"a": {"per_day": 20, "class_mix": {"A": 1}, "first_stage": "arrive"}},
            "places": {"foyer": {"capacity": 50}, "bed": {"capacity": 1}},
            "stages": {
                "arrive": {"place": "foyer", "duration": 0, "next": {"wait_here": 1}},
                "wait_here": {"place": "bed", "duration": "10h", "overflow": "bounce"},
                "bounce": {"place": "foyer", "duration": 0, "next": {"wait_here": 1}},
            },
        }
    )
    with pytest.raises(ZeroTimeLoop, match="without time passing"):
        simulate(s)


def test_when_every_place_of_an_overflow_chain_is_full_the_first_to_free_is_taken() -> None:
    # Offered load 40/day x 3 h = 5 beds of work for 3 main + 2 outlier beds, so both fill and
    # patients queue. A patient waits for both at once: at no moment may one place have a free
    # bed while someone is queued for the other (waiting for the last place alone breaks this).
    from flowsim.kpis import _value_at

    s = scenario(
        one_stage(
            run={"warmup": 0, "length": 20 * DAY},
            arrivals={"s": {"per_day": 40, "class_mix": {"a": 1.0}, "first_stage": "main"}},
            places={
                "main_beds": {"capacity": 3, "area": "ward", "queue": "first_come"},
                "outlier_beds": {"capacity": 2, "area": "ward", "queue": "first_come"},
            },
            stages={
                "main": {
                    "place": "main_beds",
                    "overflow": "outlier",
                    "duration": {"dist": "exponential", "mean": "3h"},
                },
                "outlier": {
                    "place": "outlier_beds",
                    "duration": {"dist": "exponential", "mean": "3h"},
                },
            },
        )
    )
    rec = simulate(s, 0, SEED, record_visits=True)
    main, out = rec.pools["main_beds"], rec.pools["outlier_beds"]
    times = np.union1d(main["time"], out["time"])  # state after everything at each instant
    main_used, main_wait = (_value_at(main["time"], main[k], times) for k in ("in_use", "waiting"))
    out_used, out_wait = (_value_at(out["time"], out[k], times) for k in ("in_use", "waiting"))
    assert (out_wait > 0).sum() > 100  # queues really formed
    assert np.all(main_wait == out_wait)  # every waiter waits for both
    assert np.all((main_wait == 0) | ((main_used == 3) & (out_used == 2)))
    # Each patient is seen once, in one place or the other.
    seen = np.concatenate([visits(rec, "main")["patient"], visits(rec, "outlier")["patient"]])
    assert len(seen) == len(set(seen.tolist()))


# -- place stays in the visit table -----------------------------------------------------------
def test_place_stays_from_the_visit_table_reproduce_occupancy_exactly() -> None:
    """Each visit says when the patient was granted the place they hold (``entered``), so a stay
    in a place runs from that moment to the next place's ``entered`` (or leaving). The stays
    summed over the window must equal the occupancy KPI, with blocking and staff waits inside
    places (both of which make ``entered`` differ from ``queued`` and ``started``)."""
    from flowsim.kpis import compute_kpis

    scenario = load_scenario(
        {
            "name": "stays",
            "run": {"warmup": 600, "length": 3000},
            "classes": {"a": {}},
            "arrivals": {"in": {"per_day": 200, "class_mix": {"a": 1}, "first_stage": "first"}},
            "places": {"p1": {"capacity": 3}, "p2": {"capacity": 2}},
            "staff": {"doc": {"count": 1}},
            "stages": {
                "first": {
                    "place": "p1",
                    "staff": "doc",
                    "next": {"second": 1},
                    "duration": {"dist": "exponential", "mean": 5},
                },
                "second": {"place": "p2", "duration": {"dist": "exponential", "mean": 40}},
            },
        }
    )
    rec = simulate(scenario, 0, seed=3, record_visits=True)
    assert rec.visits is not None and rec.open_visits is not None
    v = {k: np.concatenate([rec.visits[k], rec.open_visits[k]]) for k in rec.visits}
    w0, w1 = scenario.run.warmup, scenario.horizon
    k = compute_kpis(rec)
    staff_waits = v["started"] - v["entered"]
    assert np.nanmax(staff_waits[v["stage"] == 0]) > 0  # some waited for the doctor in p1
    for i, name in enumerate(scenario.places):
        total = 0.0
        for pid in np.unique(v["patient"]):
            mine = v["patient"] == pid
            enter_here = v["entered"][mine & (v["place"] == i)]
            if not len(enter_here):
                continue
            later = v["entered"][mine & (v["place"] != i) & (v["entered"] > enter_here[0])]
            out = later.min() if len(later) else rec.left[pid]
            out = w1 if np.isnan(out) else out
            total += max(0.0, min(out, w1) - max(enter_here[0], w0))
        assert total / (w1 - w0) == pytest.approx(k[f"occupancy_mean.{name}"], abs=1e-9)


def test_open_visits_name_the_place_granted_while_waiting_for_staff() -> None:
    """A patient granted a cubicle but still waiting for a doctor at the end of the run is in
    the cubicle: their open visit must say so (it named the place they had left)."""
    scenario = load_scenario(
        {
            "name": "open_visits",
            "run": {"warmup": 0, "length": 600},
            "classes": {"a": {}},
            "arrivals": {"in": {"per_day": 400, "class_mix": {"a": 1}, "first_stage": "wait"}},
            "places": {"waiting": {"capacity": "unlimited"}, "cubicles": {"capacity": 4}},
            "staff": {"doctor": {"count": 1}},
            "stages": {
                "wait": {"place": "waiting", "duration": 0, "next": {"see": 1}},
                "see": {"place": "cubicles", "staff": "doctor", "duration": 30},
            },
        }
    )
    rec = simulate(scenario, 0, seed=5, record_visits=True)
    assert rec.open_visits is not None
    cubicles = list(scenario.places).index("cubicles")
    in_cubicle = rec.open_visits["place"] == cubicles
    assert int(in_cubicle.sum()) == rec.pools["cubicles"]["in_use"][-1] == 4
    waiting_for_doctor = in_cubicle & np.isnan(rec.open_visits["started"])
    assert waiting_for_doctor.sum() == 3  # one is with the doctor
    assert (rec.open_visits["entered"][in_cubicle] >= rec.open_visits["queued"][in_cubicle]).all()
