"""Places released when the activity ends (``release: on_completion``): times worked by hand."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from flowsim.engine import Records, simulate
from flowsim.errors import FlowsimError
from flowsim.kpis import compute_kpis
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario, network_problems

DAY = 1440.0


def build(places: dict[str, Any], stages: dict[str, Any], per_day: float = 60) -> Scenario:
    return load_scenario(
        copy.deepcopy(
            {
                "name": "rooms",
                "run": {"warmup": 0, "length": 3 * DAY},
                "classes": {"a": {}},
                "arrivals": {
                    "s": {"per_day": per_day, "class_mix": {"a": 1.0}, "first_stage": "first"}
                },
                "places": places,
                "stages": stages,
            }
        )
    )


def stage_visits(rec: Records, stage: str) -> dict[str, np.ndarray]:
    assert rec.visits is not None
    keep = rec.visits["stage"] == list(rec.scenario.stages).index(stage)
    return {k: v[keep] for k, v in rec.visits.items()}


def done(rec: Records) -> np.ndarray:
    return np.flatnonzero(~np.isnan(rec.left))


def test_a_room_released_on_completion_does_not_block_by_hand() -> None:
    # Room A (one, 30 min, released on completion) then room B (one, 60 min). With blocking,
    # patients would wait in A for B; released on completion, A serves the next patient at once:
    #   start_A[i] = max(arrival[i], done_A[i-1]),  done_A[i] = start_A[i] + 30
    #   start_B[i] = max(done_A[i], done_B[i-1]),   done_B[i] = start_B[i] + 60
    s = build(
        {"a": {"capacity": 1, "queue": "first_come"}, "b": {"capacity": 1, "queue": "first_come"}},
        {
            "first": {"place": "a", "release": "on_completion", "duration": 30, "next": {"b": 1}},
            "b": {"place": "b", "duration": 60},
        },
        per_day=20,
    )
    rec = simulate(s, 0, 3, record_visits=True)
    done_a = done_b = 0.0
    want_left = []
    for t in rec.arrival:
        done_a = max(t, done_a) + 30
        done_b = max(done_a, done_b) + 60
        want_left.append(done_b)
    finished = done(rec)
    assert len(finished) > 30
    assert np.allclose(rec.left[finished], np.asarray(want_left)[finished], atol=1e-9)
    a = stage_visits(rec, "first")
    # Each visit's place is room A from start to end, 30 minutes exactly, and never two at once.
    assert np.allclose(a["ended"] - a["entered"], 30.0, atol=1e-9)
    assert max(rec.pools["a"]["in_use"]) == 1
    assert compute_kpis(rec)["occupancy_mean.a"] == pytest.approx(
        30 * ((a["ended"] <= 3 * DAY).sum()) / (3 * DAY), abs=0.02
    )


def test_return_to_previous_keeps_the_cubicle_through_xray_by_hand() -> None:
    # One ED cubicle: assessment 10 min, x-ray 20 min (released on completion, the cubicle kept
    # meanwhile), treatment 30 min back in the cubicle. The cubicle is held for 60 min per
    # patient, first come first served: start[i] = max(arrival[i], left[i-1]), left = start + 60.
    # X-ray is outside the ED (area other) but the patient never left their cubicle, so time in
    # department is arrival to leaving.
    s = build(
        {
            "cubicle": {"capacity": 1, "area": "ed", "queue": "first_come"},
            "xray": {"capacity": "unlimited", "area": "other"},
        },
        {
            "first": {"place": "cubicle", "duration": 10, "next": {"xray": 1}},
            "xray": {
                "place": "xray",
                "release": "on_completion",
                "return_to": "previous",
                "duration": 20,
                "next": {"treat": 1},
            },
            "treat": {"place": "cubicle", "duration": 30},
        },
        per_day=20,
    )
    rec = simulate(s, 0, 5, record_visits=True)
    left, want = 0.0, []
    for t in rec.arrival:
        left = max(t, left) + 60
        want.append(left)
    finished = done(rec)
    assert np.allclose(rec.left[finished], np.asarray(want)[finished], atol=1e-9)
    assert np.allclose(
        rec.ed_departure[finished] - rec.arrival[finished],
        rec.left[finished] - rec.arrival[finished],
    )
    x = stage_visits(rec, "xray")
    assert np.allclose(x["ended"] - x["started"], 20.0)
    assert max(rec.pools["cubicle"]["in_use"]) == 1


def test_return_to_none_frees_both_places_by_hand() -> None:
    # Cubicle (one, 10 min, blocking) then an examination room (one, 20 min, released on
    # completion, return_to none) then a review in no place (30 min). The cubicle is given up
    # when the room is granted; the room when the examination ends:
    #   in_c[i] = max(arrival[i], out_c[i-1])
    #   out_c[i] = start_e[i] = max(in_c[i] + 10, done_e[i-1])
    #   done_e[i] = start_e[i] + 20,  left[i] = done_e[i] + 30
    s = build(
        {"cubicle": {"capacity": 1, "queue": "first_come"}, "room": {"capacity": 1}},
        {
            "first": {"place": "cubicle", "duration": 10, "next": {"exam": 1}},
            "exam": {
                "place": "room",
                "release": "on_completion",
                "duration": 20,
                "next": {"review": 1},
            },
            "review": {"duration": 30},
        },
        per_day=50,
    )
    rec = simulate(s, 0, 11, record_visits=True)
    out_c = done_e = 0.0
    want = []
    for t in rec.arrival:
        in_c = max(t, out_c)
        out_c = max(in_c + 10, done_e)
        done_e = out_c + 20
        want.append(done_e + 30)
    finished = done(rec)
    assert len(finished) > 100
    assert np.allclose(rec.left[finished], np.asarray(want)[finished], atol=1e-9)
    review = stage_visits(rec, "review")
    assert (review["place"] == -1).all()  # in no place after the room
    # Nobody holds the room during the review: its use never outlasts an examination.
    assert max(rec.pools["room"]["in_use"]) == 1


def test_rooms_released_on_completion_cannot_deadlock() -> None:
    # A and B route into each other: with blocking release this is refused as a deadlock cycle;
    # released on completion nobody holds one room while waiting for the other.
    def stages(release: str) -> dict[str, Any]:
        return {
            "first": {"place": "a", "release": release, "duration": 5, "next": {"b": 1}},
            "b": {
                "place": "b",
                "release": release,
                "duration": 5,
                "next": {"first": 0.5, "exit": 0.5},
            },
        }

    places = {"a": {"capacity": 1}, "b": {"capacity": 1}}
    with pytest.raises(FlowsimError, match="deadlock"):
        build(places, stages("blocking"))
    ok = build(places, stages("on_completion"))
    assert not list(network_problems(ok))


def test_return_to_needs_release_on_completion() -> None:
    with pytest.raises(FlowsimError, match="return_to applies only"):
        build(
            {"a": {"capacity": 1}},
            {"first": {"place": "a", "return_to": "previous", "duration": 5}},
        )
    with pytest.raises(FlowsimError, match="needs the stage to name a place"):
        build({}, {"first": {"release": "on_completion", "duration": 5}})


@pytest.mark.slow
def test_littles_law_holds_for_rooms_and_the_cubicle_kept_meanwhile() -> None:
    # The validation suite's bookkeeping check: every place's stays, rooms included, add up to
    # its recorded occupancy exactly, with x-ray released on completion and the cubicle kept.
    from flowsim.experiment import run
    from flowsim.validation.little import little_checks

    s = build(
        {
            "cubicles": {"capacity": 3, "area": "ed"},
            "xray": {"capacity": 1, "area": "other"},
        },
        {
            "first": {"place": "cubicles", "duration": 20, "next": {"xray": 0.5, "exit": 0.5}},
            "xray": {
                "place": "xray",
                "release": "on_completion",
                "return_to": "previous",
                "duration": {"dist": "exponential", "mean": 15},
                "next": {"treat": 1},
            },
            "treat": {"place": "cubicles", "duration": 30},
        },
        per_day=60,
    )
    res = run(s, replications=2, patients=True)
    exact = [c for c in little_checks(s, res) if c.rule == "exact"]
    assert len(exact) == 2
    assert all(c.passed for c in exact), [(c.measure, c.simulated_text) for c in exact]


def test_giving_up_in_a_room_records_the_room_and_frees_it() -> None:
    # One doctor, 2 hours each, in a room released on completion; patients give up after 10
    # minutes waiting for the doctor. The visits given up are in the room, and the room is empty
    # once everyone has gone.
    s = load_scenario(
        {
            "name": "give_up",
            "run": {"warmup": 0, "length": 2 * DAY},
            "classes": {"a": {}},
            "arrivals": {"s": {"per_day": 48, "class_mix": {"a": 1.0}, "first_stage": "first"}},
            "places": {"room": {"capacity": 5}},
            "staff": {"doctor": {"count": 1}},
            "stages": {
                "first": {
                    "place": "room",
                    "staff": "doctor",
                    "release": "on_completion",
                    "duration": 120,
                    "leave_without_being_seen": {"classes": ["a"], "patience": 10},
                }
            },
        }
    )
    rec = simulate(s, 0, 2, record_visits=True)
    v = stage_visits(rec, "first")
    gave_up = np.isnan(v["started"])
    assert gave_up.sum() > 10
    assert (v["place"][gave_up] == 0).all()
    assert np.allclose(v["ended"][gave_up] - v["entered"][gave_up], 10.0)
    room = rec.pools["room"]
    assert room["in_use"][-1] <= 1  # at most the one patient still with the doctor
