"""Every scenario file in ``scenarios/`` loads and runs a short replication.

Scenario files are found afresh on every run, so new ones are covered without editing this
test. A YAML file is a scenario if it defines ``stages`` or ``extends`` another file; anything
else there (batch or check files) is skipped.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from flowsim.engine import simulate
from flowsim.kpis import compute_kpis
from flowsim.loader import load_scenario

DAY = 1440.0
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def is_scenario(path: Path) -> bool:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return True  # a broken scenario file should fail below, not be skipped
    return isinstance(data, dict) and ("stages" in data or "extends" in data)


FILES = sorted(p for p in [*SCENARIOS.rglob("*.yaml"), *SCENARIOS.rglob("*.yml")]
               if is_scenario(p))


def test_there_are_scenarios() -> None:
    assert any(p.name == "baseline.yaml" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_scenario_loads_and_runs(path: Path) -> None:
    scenario = load_scenario(path)
    short = scenario.model_copy(update={
        "run": scenario.run.model_copy(update={"warmup": 2 * DAY, "length": 5 * DAY})})
    rec = simulate(short, 0, short.run.seed)
    k = compute_kpis(rec)
    assert len(rec.arrival) > 0
    assert math.isfinite(k["four_hour_pct"]) and 0 <= k["four_hour_pct"] <= 100
    assert k["arrivals"] > 0
