"""Patients turned away when a place is full (``when_full: lost``): counts worked by hand."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from flowsim.engine import simulate
from flowsim.errors import FlowsimError
from flowsim.kpis import compute_kpis, kpi_info, kpi_names
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario

DAY = 1440.0


def beds(stage: dict[str, Any], capacity: int = 1, warmup: float = 0) -> Scenario:
    return load_scenario(
        copy.deepcopy(
            {
                "name": "lost",
                "run": {"warmup": warmup, "length": 10 * DAY},
                "classes": {"a": {}},
                "arrivals": {"s": {"per_day": 24, "class_mix": {"a": 1.0}, "first_stage": "stay"}},
                "places": {"bed": {"capacity": capacity, "area": "ward"}},
                "stages": {"stay": {"place": "bed", **stage}},
            }
        )
    )


def test_a_full_place_turns_patients_away_by_hand() -> None:
    # One bed, every stay 90 minutes: a patient arriving while the bed is taken is lost.
    #   free = 0; for each arrival t: if t >= free, admitted and free = t + 90; else lost.
    s = beds({"duration": 90, "when_full": "lost"})
    rec = simulate(s, 0, 17, record_visits=True)
    free, want = 0.0, []
    for t in rec.arrival:
        if t >= free:
            free = t + 90
            want.append(False)
        else:
            want.append(True)
    assert rec.lost is not None and rec.stage_lost is not None
    assert rec.lost.tolist() == want
    assert 10 < sum(want) < len(want)
    # The lost leave at once, never started, and are not counted as leaving unseen.
    assert np.allclose(rec.left[rec.lost], rec.arrival[rec.lost])
    assert not rec.left_without_being_seen.any()
    k = compute_kpis(rec)
    assert k["lost.stay"] == sum(want)
    assert k["lost_pct.stay"] == pytest.approx(100 * sum(want) / len(want))


def test_only_arrivals_in_the_window_are_counted() -> None:
    s = beds({"duration": 90, "when_full": "lost"}, warmup=5 * DAY)
    rec = simulate(s, 0, 17)
    assert rec.lost is not None
    in_window = rec.arrival >= 5 * DAY
    assert compute_kpis(rec)["lost.stay"] == (rec.lost & in_window).sum()


def test_lost_kpis_only_for_stages_that_turn_patients_away() -> None:
    lost = beds({"duration": 90, "when_full": "lost"})
    waits = beds({"duration": 90})
    assert {"lost.stay", "lost_pct.stay"} <= kpi_names(lost)
    assert not {"lost.stay", "lost_pct.stay"} & kpi_names(waits)
    assert set(compute_kpis(simulate(waits, 0, 1))) == kpi_names(waits)
    info = kpi_info("lost_pct.stay")
    assert info is not None and info.unit == "%" and info.better == "lower"


def test_the_last_stage_of_an_overflow_chain_may_turn_patients_away() -> None:
    s = load_scenario(
        {
            "name": "chain",
            "run": {"warmup": 0, "length": 10 * DAY},
            "classes": {"a": {}},
            "arrivals": {"s": {"per_day": 30, "class_mix": {"a": 1.0}, "first_stage": "home"}},
            "places": {"home": {"capacity": 1}, "outlier": {"capacity": 1}},
            "stages": {
                "home": {"place": "home", "duration": 120, "overflow": "outlier"},
                "outlier": {"place": "outlier", "duration": 120, "when_full": "lost"},
            },
        }
    )
    rec = simulate(s, 0, 3)
    k = compute_kpis(rec)
    assert k["lost.outlier"] > 0
    assert rec.pools["home"]["waiting"].max() == 0  # nobody waits: they overflow or are lost


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"duration": 5, "when_full": "lost", "place": None}, "needs the stage to name a place"),
        ({"duration": 5, "when_full": "sometimes"}, "when_full"),
    ],
)
def test_when_full_mistakes_are_explained(stage: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowsimError, match=message):
        beds(stage)


def test_turned_away_at_the_door_is_not_an_ed_attendance() -> None:
    # An ED that diverts when its one cubicle is full: the diverted never attended, so they are
    # neither attendances nor four-hour breaches; everyone admitted attends for 90 minutes.
    data = {
        "name": "divert",
        "run": {"warmup": 0, "length": 10 * DAY},
        "classes": {"a": {}},
        "arrivals": {"s": {"per_day": 24, "class_mix": {"a": 1.0}, "first_stage": "see"}},
        "places": {"cubicle": {"capacity": 1, "area": "ed"}},
        "stages": {"see": {"place": "cubicle", "duration": 90, "when_full": "lost"}},
    }
    rec = simulate(load_scenario(data), 0, 17)
    assert rec.lost is not None and rec.lost.any()
    assert not rec.ed_attendance[rec.lost].any()
    k = compute_kpis(rec)
    assert k["attendances"] == (~rec.lost & ~np.isnan(rec.left)).sum()
    assert k["time_in_department_mean"] == pytest.approx(90.0)


def test_divert_is_another_word_for_lost() -> None:
    lost = simulate(beds({"duration": 90, "when_full": "lost"}), 0, 17)
    divert = simulate(beds({"duration": 90, "when_full": "divert"}), 0, 17)
    assert lost.lost is not None and divert.lost is not None
    assert np.array_equal(lost.lost, divert.lost)
    assert compute_kpis(divert)["lost.stay"] == compute_kpis(lost)["lost.stay"] > 0
