"""KPIs from records written by hand, so every definition is checked against arithmetic; and the
KPI registry: it lists exactly the KPIs computed, and ``docs/kpis.md`` is what it writes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from flowsim import load_scenario
from flowsim.cli import main as cli
from flowsim.engine import Records, simulate
from flowsim.kpis import (
    HEADLINE,
    KPIS,
    arrives_in_ed,
    better_direction,
    compute_kpis,
    headline_kpis,
    hourly_series,
    kpi_definition,
    kpi_info,
    kpi_markdown,
    kpi_names,
    label,
    step_area,
)
from flowsim.scenario import with_run_length

from .shared import REPO, SCENARIO_FILES, SCENARIOS, TINY, hand_made_records

NAN = math.nan


def test_step_area_integrates_a_step_function() -> None:
    t = np.array([0.0, 10.0, 10.0, 30.0])
    v = np.array([0.0, 2.0, 3.0, 1.0])  # 0 until 10, then 3 (the later value at 10), 1 from 30
    at = np.array([0.0, 5.0, 10.0, 20.0, 30.0, 40.0])
    assert step_area(t, v, at).tolist() == [0.0, 0.0, 0.0, 30.0, 60.0, 70.0]


def test_kpi_definitions_cover_per_place_names() -> None:
    assert kpi_definition("four_hour_pct")[0] == "%"
    assert kpi_definition("occupancy_mean_pct.wards")[0] == "%"
    assert kpi_definition("wait_mean.triage")[0] == "minutes"


def _records(**arrays: np.ndarray) -> Records:
    data = yaml.safe_load(TINY)
    data["run"] = {"warmup": "1d", "length": "1d"}
    s = load_scenario(data)
    day = 1440.0
    pools = {
        "cubicles": {
            "kind": np.array("place"),
            "time": np.array([0.0, day, day + 720]),
            "in_use": np.array([0, 6, 3]),
            "waiting": np.array([0, 2, 0]),
            "cap_time": np.array([0.0]),
            "cap_value": np.array([6.0]),
        },
        "ward": {
            "kind": np.array("place"),
            "time": np.array([0.0]),
            "in_use": np.array([0]),
            "waiting": np.array([0]),
            "cap_time": np.array([0.0]),
            "cap_value": np.array([12.0]),
        },
        "doctor": {
            "kind": np.array("staff"),
            "time": np.array([0.0, day]),
            "in_use": np.array([0, 1]),
            "waiting": np.array([0, 0]),
            "cap_time": np.array([0.0]),
            "cap_value": np.array([2.0]),
        },
    }
    fields: dict[str, object] = {
        "stage_wait_sum": np.array([30.0, 0.0]),
        "stage_wait_count": np.array([3, 0]),
        "delayed_minutes": 720.0,
        "pools": pools,
    }
    return hand_made_records(s, 2 * day, **(fields | arrays))


def test_ed_measures_count_attendances_by_departure_in_the_window() -> None:
    day = 1440.0
    rec = _records(
        # arrived in warm-up, left in window after 5h; two within 4h; one over 12h; one still in
        arrival=np.array([day - 60, day + 10, day + 20, day + 30, day + 600]),
        ed_departure=np.array([day + 240, day + 100, day + 250, day + 800, NAN]),
        left=np.array([day + 240, day + 100, NAN, day + 800, NAN]),
        decision_to_admit=np.array([NAN, NAN, day + 200, day + 40, NAN]),
        clinician=np.array([day, day + 40, day + 60, NAN, NAN]),
        left_without_being_seen=np.array([False, False, False, True, False]),
    )
    k = compute_kpis(rec)
    tid = np.array([300.0, 90.0, 230.0, 770.0])
    assert k["attendances"] == 4
    assert k["four_hour_pct"] == pytest.approx(50.0)
    assert k["twelve_hour_pct"] == pytest.approx(25.0)
    assert k["time_in_department_mean"] == pytest.approx(tid.mean())
    assert k["time_in_department_median"] == pytest.approx(np.median(tid))
    assert k["time_to_clinician_mean"] == pytest.approx(np.mean([60.0, 30.0, 40.0]))
    assert k["left_without_being_seen_pct"] == pytest.approx(25.0)
    assert k["admission_pct"] == pytest.approx(50.0)
    assert k["dta_wait_mean"] == pytest.approx(np.mean([50.0, 760.0]))
    assert k["dta_over_4h_count"] == 1 and k["dta_over_12h_count"] == 1
    assert k["in_system_at_end"] == 2 and k["in_department_at_end"] == 1
    assert k["delayed_discharge_bed_days"] == 0.5
    assert k["wait_mean.assess"] == 10.0 and math.isnan(k["wait_mean.ward"])


def test_occupancy_measures_are_time_weighted_over_the_window() -> None:
    rec = _records(arrival=np.array([10.0]))
    k = compute_kpis(rec)
    # Window is day 2: 6 in use for 12 h, then 3 for 12 h, of 6 cubicles.
    assert k["occupancy_mean.cubicles"] == pytest.approx(4.5)
    assert k["occupancy_mean_pct.cubicles"] == pytest.approx(75.0)
    assert k["occupancy_ge_95_pct_time.cubicles"] == pytest.approx(50.0)
    assert k["occupancy_ge_100_pct_time.cubicles"] == pytest.approx(50.0)
    assert k["queue_mean.cubicles"] == pytest.approx(1.0)
    assert k["busy_mean_pct.doctor"] == pytest.approx(50.0)
    series = hourly_series(rec)
    cub = series.occupancy[series.place == "cubicles"]
    assert len(cub) == 24 and cub[:12].tolist() == [6.0] * 12 and cub[12:].tolist() == [3.0] * 12


# -- the registry ------------------------------------------------------------------------------
def test_docs_kpis_md_is_what_the_registry_writes(capsys) -> None:
    assert cli(["kpis", "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert printed == kpi_markdown()
    assert (REPO / "docs" / "kpis.md").read_text() == printed, (
        "docs/kpis.md is stale: flowsim kpis --markdown > docs/kpis.md"
    )


def test_the_docs_table_has_a_row_per_kpi() -> None:
    rows = [line for line in kpi_markdown().splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == [k.pattern for k in KPIS]


def _tiny_with_a_waiting_room() -> dict:
    data = yaml.safe_load(TINY)
    data["places"]["waiting_room"] = {"capacity": "unlimited", "area": "ed"}
    data["stages"]["wait"] = {
        "place": "waiting_room",
        "duration": {"dist": "fixed", "value": "5min"},
        "next": {"assess": 1.0},
    }
    data["arrivals"]["walk_in"]["first_stage"] = "wait"
    return data


CASES = {p.relative_to(SCENARIOS).as_posix(): p for p in SCENARIO_FILES}
CASES["tiny"] = yaml.safe_load(TINY)
CASES["tiny_with_a_waiting_room"] = _tiny_with_a_waiting_room()


@pytest.mark.parametrize("case", list(CASES))
def test_the_kpis_computed_are_the_kpis_listed(case: str) -> None:
    s = with_run_length(load_scenario(CASES[case]), 2, 1)
    computed = set(compute_kpis(simulate(s, 0, s.run.seed)))
    assert computed == kpi_names(s)
    # Turned-away counts exist only where a stage turns patients away (tests/test_features_lost.py);
    # a scenario whose arrival streams all start in the ED has no per-stream KPI.
    outside_ed = any(not arrives_in_ed(s, a) for a in s.arrivals)
    assert {kpi_info(k).pattern for k in computed} == {
        k.pattern for k in KPIS if not k.needs_lost and (outside_ed or k.per != "stream")
    }


def test_a_place_without_a_capacity_limit_has_no_occupancy_percentages() -> None:
    s = load_scenario(_tiny_with_a_waiting_room())
    names = kpi_names(s)
    assert "occupancy_mean.waiting_room" in names and "queue_mean.waiting_room" in names
    assert not {n for n in names if n.endswith(".waiting_room") and "_pct" in n}


def test_per_place_names_resolve_and_unknown_names_do_not() -> None:
    info = kpi_info("occupancy_mean_pct.wards")
    assert info is not None and info.name == "occupancy_mean_pct" and info.per == "place"
    assert kpi_info("occupancy_mean_pct") is None  # a per-place KPI needs its place
    assert kpi_info("attendances.wards") is None  # a plain KPI has none
    assert kpi_info("no_such_kpi") is None
    assert label("occupancy_mean_pct.wards") == "Occupied: wards"
    assert label("dta_over_12h_count") == "Trolley waits (over 12 h from decision to admit)"
    assert label("no_such_kpi") == "no such kpi"


def test_better_directions_follow_the_registry() -> None:
    assert better_direction("four_hour_pct") == 1
    assert better_direction("twelve_hour_pct") == -1
    assert better_direction("attendances_per_day") == 0
    assert better_direction("busy_mean_pct.ed_doctor") == 0
    assert better_direction("occupancy_ge_95_pct_time.wards") == -1


def test_the_headline_is_in_registry_order_with_places_after() -> None:
    names = [
        "occupancy_mean_pct.wards",
        "four_hour_pct",
        "queue_mean.wards",
        "attendances_per_day",
        "occupancy_ge_95_pct_time.wards",
        "time_to_triage_mean",
    ]
    assert headline_kpis(names) == [
        "attendances_per_day",
        "four_hour_pct",
        "occupancy_mean_pct.wards",
        "occupancy_ge_95_pct_time.wards",
    ]
    assert len(set(k.pattern for k in KPIS)) == len(KPIS)
    assert all(kpi_info(k) is not None and kpi_info(k).headline for k in HEADLINE)
