"""ED boarders, the ambulance queue and the time-in-department distribution, checked against
records written by hand and against a brute-force count on a simulated run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

import flowsim
from flowsim import load_scenario
from flowsim.engine import Records, simulate
from flowsim.kpis import (
    TIME_IN_DEPARTMENT_STEP,
    compute_kpis,
    ed_series,
    time_in_department_cdf,
)

from .shared import TINY, hand_made_records

NAN = math.nan
DAY = 1440.0


def _scenario(length: str = "1d"):
    data = yaml.safe_load(TINY)
    data["run"] = {"warmup": "1d", "length": length}
    data["arrivals"]["ambulance"] = {
        "per_day": 40,
        "class_mix": {"urgent": 1.0},
        "first_stage": "assess",
        "handover": True,
    }
    data["stages"]["assess"]["milestone"] = "handover"
    return load_scenario(data)


def _records(**arrays: np.ndarray) -> Records:
    return hand_made_records(_scenario(), 2 * DAY, **arrays)


def _hand_made() -> Records:
    #            A          B            C                 D (not ED)  E (amb)    F (amb)   G
    return _records(
        arrival=np.array([DAY, DAY - 200, DAY + 1000, DAY, DAY + 10, DAY + 50, DAY + 100]),
        stream=np.array([0, 0, 0, 0, 1, 1, 0], np.int16),
        ed_attendance=np.array([True, True, True, False, True, True, True]),
        decision_to_admit=np.array(
            [DAY + 30, DAY - 100, DAY + 23 * 60 + 30, DAY + 5, NAN, NAN, NAN]
        ),
        ed_departure=np.array([DAY + 90, DAY + 120, NAN, DAY + 600, NAN, NAN, DAY + 105]),
        handover=np.array([NAN, NAN, NAN, NAN, DAY + 40, NAN, NAN]),
    )


def test_boarders_are_admitted_patients_between_decision_and_leaving() -> None:
    es = ed_series(_hand_made())
    assert es.hour.tolist() == list(range(24, 48))
    expected = np.zeros(24)
    expected[0] = 0.5 + 1.0  # A half the hour; B (decided in the warm-up) all of it
    expected[1] = 0.5 + 1.0  # A leaves at 90 min; B at 120
    expected[23] = 0.5  # C decided at 23:30 and is still there at the end
    np.testing.assert_allclose(es.boarders, expected)


def test_ambulance_queue_counts_ambulances_until_handover() -> None:
    es = ed_series(_hand_made())
    expected = np.ones(24)  # F arrived at 00:50 and is never handed over
    expected[0] = 30 / 60 + 10 / 60  # E waits 00:10-00:40; F from 00:50
    np.testing.assert_allclose(es.ambulance_queue, expected)


def test_time_in_department_distribution_is_exact_at_its_points() -> None:
    cdf = time_in_department_cdf(_hand_made())
    # Left in the window: A after 90 min, B after 320, G after 5; D is not an ED attendance.
    minutes = np.arange(len(cdf)) * TIME_IN_DEPARTMENT_STEP
    expected = (np.array([90.0, 320.0, 5.0])[None, :] <= minutes[:, None]).mean(axis=1)
    np.testing.assert_allclose(cdf, expected)
    assert cdf[240] == pytest.approx(2 / 3)  # within 4 hours
    # One-minute points: G (5 min) is within 5 minutes and not within 4.
    assert (cdf[4], cdf[5]) == (0.0, pytest.approx(1 / 3))


def _overlap_hours(
    start: np.ndarray, end: np.ndarray, hours: np.ndarray, horizon: float
) -> np.ndarray:
    end = np.where(np.isnan(end), horizon, end)
    out = np.zeros(len(hours))
    for a, b in zip(start, end, strict=True):
        for i, h in enumerate(hours):
            out[i] += max(0.0, min(b, (h + 1) * 60) - max(a, h * 60)) / 60
    return out


def test_ed_series_of_a_simulated_run_matches_a_brute_force_count() -> None:
    s = _scenario("2d")
    rec = simulate(s, 0, 11)
    es = ed_series(rec)
    admitted = rec.ed_attendance & ~np.isnan(rec.decision_to_admit)
    brute = _overlap_hours(
        rec.decision_to_admit[admitted], rec.ed_departure[admitted], es.hour, rec.horizon
    )
    np.testing.assert_allclose(es.boarders, brute, atol=1e-9)
    amb = rec.stream == 1
    brute = _overlap_hours(rec.arrival[amb], rec.handover[amb], es.hour, rec.horizon)
    np.testing.assert_allclose(es.ambulance_queue, brute, atol=1e-9)
    assert es.boarders.max() > 0 and es.ambulance_queue.max() > 0  # the test has teeth
    k = compute_kpis(rec)
    assert time_in_department_cdf(rec)[24] * 100 == pytest.approx(k["four_hour_pct"])


def test_results_carry_the_ed_series_and_distribution() -> None:
    s = _scenario("2d")
    r = flowsim.run([s], replications=2, seed=5, jobs=1)
    ed = r.ed_timeseries
    assert ed is not None and r.time_in_department is not None
    assert list(ed.columns) == [
        "scenario",
        "replication",
        "time",
        "hour_of_week",
        "boarders",
        "ambulance_queue",
    ]
    assert len(ed) == 2 * 48
    assert ed["time"].min() == r.timeseries["time"].min()
    tid = r.time_in_department
    four = r.kpis[r.kpis["kpi"] == "four_hour_pct"].set_index("replication")["value"]
    at_four = tid[tid["minutes"] == 240].set_index("replication")["share_within"] * 100
    np.testing.assert_allclose(at_four.sort_index(), four.sort_index())
