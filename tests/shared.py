"""Paths and scenario text that several test modules share.

A plain module rather than ``conftest.py``: pytest loads conftest itself, for fixtures and
hooks, and advises against importing it from test modules. Import from here with
``from .shared import ...``; that also works where a value is needed while the module is being
collected (``parametrize``), which a fixture cannot serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from flowsim.engine import Records
from flowsim.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def is_scenario(path: Path) -> bool:
    """A YAML file is a scenario if it defines ``stages`` or ``extends`` another file; anything
    else in ``scenarios/`` (batch or check files) is not."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return True  # a broken scenario file should fail the tests, not be skipped
    return isinstance(data, dict) and ("stages" in data or "extends" in data)


# Found afresh on every run, so new scenario files are covered without editing any test.
SCENARIO_FILES = sorted(
    p for p in [*SCENARIOS.rglob("*.yaml"), *SCENARIOS.rglob("*.yml")] if is_scenario(p)
)

# A small coupled ED + ward scenario that runs in well under a second.
TINY = """\
name: tiny
start: 2025-01-06
run: {warmup: 1d, length: 3d, replications: 3, seed: 7}
classes:
  urgent: {priority: 1}
  routine: {priority: 2}
arrivals:
  walk_in:
    per_day: 120
    class_mix: {urgent: 0.3, routine: 0.7}
    first_stage: assess
places:
  cubicles: {capacity: 6, area: ed}
  ward: {capacity: 12, area: ward, queue: first_come}
staff:
  doctor: {count: 2}
stages:
  assess:
    place: cubicles
    staff: doctor
    milestone: clinician
    duration: {dist: exponential, mean: 20min}
    next: {ward: 0.3, exit: 0.7}
  ward:
    place: ward
    duration: {dist: lognormal, mean: 1d, sd: 12h}
"""


def hand_made_records(scenario: Scenario, horizon: float, **fields: Any) -> Records:
    """Records of one replication made by hand, for checking measures against worked answers:
    nobody left, decided or seen, no waits and no pools, except the ``fields`` given (the
    per-patient arrays sized by ``arrival``, which must be among them)."""
    n = len(fields["arrival"])
    stages = len(scenario.stages)
    blank: dict[str, Any] = {
        "scenario": scenario,
        "replication": 0,
        "horizon": horizon,
        "stream": np.zeros(n, np.int16),
        "patient_class": np.zeros(n, np.int16),
        "ed_attendance": np.ones(n, bool),
        "left_without_being_seen": np.zeros(n, bool),
        "stage_wait_sum": np.zeros(stages),
        "stage_wait_count": np.zeros(stages),
        "class_wait_sum": np.zeros((len(scenario.classes), stages)),
        "class_wait_count": np.zeros((len(scenario.classes), stages), np.int64),
        "class_waited": np.zeros((len(scenario.classes), stages), np.int64),
        "delayed_minutes": 0.0,
        "pools": {},
    }
    for name in ("ed_departure", "decision_to_admit", "triage", "clinician", "handover", "left"):
        blank[name] = np.full(n, np.nan)
    return Records(**(blank | fields))


# -- scenarios for the capacity search's tests -------------------------------------------------
MMC_BEDS = """
name: mmc_beds
run: {warmup: 2d, length: 15d, replications: 5, seed: 11}
classes: {patient: {}}
arrivals:
  direct_admissions: {per_day: 96, class_mix: {patient: 1}, first_stage: bed_stay}
places:
  beds: {capacity: 3, area: ward}
stages:
  bed_stay: {place: beds, duration: {dist: exponential, mean: 1h}}
"""
"""An M/M/c queue for beds: 4 admissions an hour, 1-hour stays (4 erlangs). Erlang C gives a
probability of waiting of 0.285 with 6 beds and 0.135 with 7."""

OVERFLOW_WARD = """
name: loss
run: {warmup: 5d, length: 400d, replications: 4, seed: 7}
classes: {admission: {}}
arrivals:
  admissions: {per_day: 3, class_mix: {admission: 1}, first_stage: ward_stay}
places:
  ward: {capacity: 8, area: ward, queue: first_come}
  outlier_ward: {capacity: unlimited, area: ward}
stages:
  ward_stay: {place: ward, duration: {dist: exponential, mean: 1d}, overflow: outlier_stay}
  outlier_stay: {place: outlier_ward, duration: {dist: exponential, mean: 1d}}
"""
"""A ward whose patients go to an unlimited outlier ward when it is full (3 admissions a day,
1-day stays): a small search whose lever is the ward's beds."""
