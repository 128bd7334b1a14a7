"""Stays by where the patient goes next (``duration_by_next``): route first, then the duration."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from flowsim.engine import Records, simulate
from flowsim.errors import FlowsimError
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario

DAY = 1440.0


def ward(by_next: dict[str, Any], duration: Any = "2d") -> Scenario:
    return load_scenario(
        copy.deepcopy(
            {
                "name": "ward",
                "run": {"warmup": 0, "length": 20 * DAY},
                "classes": {"a": {}},
                "arrivals": {"s": {"per_day": 30, "class_mix": {"a": 1.0}, "first_stage": "stay"}},
                "places": {"beds": {"capacity": "unlimited", "area": "ward"}},
                "stages": {
                    "stay": {
                        "place": "beds",
                        "duration": duration,
                        "next": {"exit": 0.5, "rehab": 0.3, "care_home": 0.2},
                        "duration_by_next": by_next,
                    },
                    "rehab": {"duration": 0},
                    "care_home": {"duration": 0},
                },
            }
        )
    )


def stays_by_destination(rec: Records) -> dict[str, np.ndarray]:
    """Each finished ward stay (end - start), keyed by where the patient went next."""
    assert rec.visits is not None
    v = rec.visits
    names = list(rec.scenario.stages)
    went: dict[int, str] = {}
    for p, st in zip(v["patient"].tolist(), v["stage"].tolist(), strict=True):
        if names[st] != "stay":
            went[p] = names[st]
    stay = v["stage"] == names.index("stay")
    out: dict[str, list[float]] = {"exit": [], "rehab": [], "care_home": []}
    for p, a, b in zip(v["patient"][stay], v["started"][stay], v["ended"][stay], strict=True):
        out[went.get(int(p), "exit")].append(b - a)
    return {k: np.asarray(x) for k, x in out.items()}


def test_each_destination_gets_its_own_fixed_stay() -> None:
    # Fixed stays: home 1 day (the stage's own duration), rehabilitation 10 days, care home 3
    # days; every stay must be exactly its destination's.
    rec = simulate(ward({"rehab": "10d", "care_home": "3d"}, "1d"), 0, 4, record_visits=True)
    got = stays_by_destination(rec)
    for target, days in (("exit", 1), ("rehab", 10), ("care_home", 3)):
        assert len(got[target]) > 20
        assert np.allclose(got[target], days * DAY, atol=1e-9)


def test_changing_one_destination_leaves_the_others_draws_alone() -> None:
    # Common random numbers: lengthening care-home stays must not move the route drawn for any
    # patient, nor the stays of patients going home or to rehabilitation.
    base = ward(
        {"rehab": {"dist": "lognormal", "mean": "8d", "sd": "4d"}},
        {"dist": "exponential", "mean": "2d"},
    )
    longer = ward(
        {
            "rehab": {"dist": "lognormal", "mean": "8d", "sd": "4d"},
            "care_home": {"dist": "weibull", "shape": 1.2, "scale": "20d"},
        },
        {"dist": "exponential", "mean": "2d"},
    )
    a = stays_by_destination(simulate(base, 0, 9, record_visits=True))
    b = stays_by_destination(simulate(longer, 0, 9, record_visits=True))
    for target in ("exit", "rehab"):
        # Listed in order of ending, which the longer stays change; the values are the same.
        assert len(a[target]) > 20
        assert np.array_equal(np.sort(a[target]), np.sort(b[target]))
    assert np.mean(b["care_home"]) > 2 * np.mean(a["care_home"])


def test_a_destination_must_be_a_route() -> None:
    with pytest.raises(FlowsimError, match="not a route from this stage"):
        ward({"discharge_lounge": "1d"})
