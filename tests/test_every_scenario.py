"""Every scenario file in ``scenarios/`` loads and runs a short replication.

Scenario files are found afresh on every run (``shared.SCENARIO_FILES``), so new ones are covered
without editing this test; batch or check files there are skipped.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flowsim.engine import simulate
from flowsim.kpis import compute_kpis
from flowsim.loader import load_scenario

from .shared import SCENARIO_FILES, SCENARIOS

DAY = 1440.0


def test_there_are_scenarios() -> None:
    assert any(p.name == "baseline.yaml" for p in SCENARIO_FILES)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_scenario_loads_and_runs(path: Path) -> None:
    scenario = load_scenario(path)
    short = scenario.model_copy(
        update={"run": scenario.run.model_copy(update={"warmup": 2 * DAY, "length": 5 * DAY})}
    )
    rec = simulate(short, 0, short.run.seed)
    k = compute_kpis(rec)
    assert len(rec.arrival) > 0
    assert math.isfinite(k["four_hour_pct"]) and 0 <= k["four_hour_pct"] <= 100
    assert k["arrivals"] > 0
