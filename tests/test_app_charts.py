"""The flow diagram and the chart data: drawn from the scenario and the results, not made up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowsim import charts, load_scenario
from flowsim.pathway import routes, to_dot
from flowsim.scenario import places_held
from flowsim.stats import mean_ci

from .shared import SCENARIOS


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "baseline.yaml")


def test_pathway_has_every_stage_place_and_route(baseline) -> None:
    dot = to_dot(baseline)
    for stage in baseline.stages:
        assert f'"{stage}" [label=' in dot
    for place in baseline.places:
        assert f'"cluster_{place}"' in dot
    for stream in baseline.arrivals:
        assert f'"in:{stream}" -> "{baseline.arrivals[stream].first_stage}"' in dot
    edges = routes(baseline)
    # Plain routing, as written in the file.
    assert ("minors_treatment", "exit", "97%", "route") in edges
    assert ("amu_stay", "ward_stay", "60%", "route") in edges
    # By class: P2 has its own routing from majors treatment; the rest share the default.
    assert ("majors_treatment", "ward_stay", "P2: 19%", "class") in edges
    assert ("majors_treatment", "ward_stay", "P1,P3,P4,P5: 13%", "class") in edges
    assert ("sdec_assessment", "amu_stay", "if full", "overflow") in edges
    assert '"sdec_assessment" -> "amu_stay" [label="if full", style=dashed' in dot
    # Shares leaving each stage add up to 100% for each class group.
    total = sum(
        float(lbl.split(": ")[1].rstrip("%"))
        for src, _, lbl, kind in edges
        if src == "majors_treatment" and lbl.startswith("P2:")
    )
    assert total == pytest.approx(100.0)


def _cluster(dot: str, place: str) -> str:
    start = dot.index(f'subgraph "cluster_{place}"')
    return dot[start : dot.index("  }", start)]


def test_stages_with_no_place_are_drawn_in_the_place_the_patient_keeps(baseline) -> None:
    dot = to_dot(baseline)
    # Treatment after assessment keeps the cubicle; the discharge pathways keep the ward bed.
    assert '"majors_treatment" [label=' in _cluster(dot, "majors")
    wards = _cluster(dot, "wards")
    for stage in ("ward_stay", "discharge_home", "discharge_to_care_home"):
        assert f'"{stage}" [label=' in wards
    # Ambulance arrival is entered from outside, holding nothing: drawn outside every place.
    assert all('"ambulance_arrival" [label=' not in _cluster(dot, p) for p in baseline.places)


PLACES_HELD = """\
name: held
classes: {a: {priority: 1}}
arrivals:
  walk_in: {per_day: 10, class_mix: {a: 1}, first_stage: chat}
  direct: {per_day: 1, class_mix: {a: 1}, first_stage: wait_for_ward}
places:
  cubicles: {capacity: 4, area: ed}
  xray_room: {capacity: 1, area: other}
  scanner: {capacity: 1, area: other}
  ward: {capacity: 9, area: ward}
stages:
  chat: {duration: 5min, next: {assess: 1}}
  assess: {place: cubicles, duration: 20min, next: {xray: 0.5, scan: 0.3, talk: 0.2}}
  xray: {place: xray_room, release: on_completion, return_to: previous, duration: 10min,
         next: {after_xray: 1}}
  after_xray: {duration: 5min, next: {wait_for_ward: 0.5, exit: 0.5}}
  scan: {place: scanner, release: on_completion, duration: 10min, next: {after_scan: 1}}
  after_scan: {duration: 5min, next: {exit: 1}}
  talk: {duration: 5min, next: {wait_for_ward: 1}}
  wait_for_ward: {duration: 0, next: {ward_stay: 1}}
  ward_stay: {place: ward, duration: 1d, next: {home: 1}}
  home: {duration: 0, next: {exit: 1}}
"""


def test_places_held_follow_the_patient(tmp_path) -> None:
    path = tmp_path / "held.yaml"
    path.write_text(PLACES_HELD)
    held = places_held(load_scenario(path))
    assert held == {
        "chat": None,  # an arrival's first stage: nothing held yet
        "assess": "cubicles",
        "xray": "xray_room",
        "after_xray": "cubicles",  # back in the cubicle (return_to: previous)
        "scan": "scanner",
        "after_scan": None,  # the scanner was given up, and the cubicle with it
        "talk": "cubicles",
        "wait_for_ward": None,  # arrivals start here too, holding nothing: no one place
        "ward_stay": "ward",
        "home": "ward",
    }


def test_mean_band_is_the_student_t_interval() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "scenario": ["a"] * 5 + ["b"] * 5 + ["c"],
            "hour": [1] * 11,
            "value": rng.normal(10, 2, 11),
        }
    )
    band = charts.mean_band(df, ["scenario", "hour"], "value").set_index("scenario")
    for name in ("a", "b"):
        m, lo, hi, _ = mean_ci(df.loc[df["scenario"] == name, "value"].to_numpy())
        assert band.loc[name, "mean"] == pytest.approx(m)
        assert (band.loc[name, "low"], band.loc[name, "high"]) == pytest.approx((lo, hi))
    assert band.loc["c", "low"] == band.loc["c", "high"] == band.loc["c", "mean"]


def test_occupancy_by_hour_is_a_share_of_open_beds() -> None:
    how = pd.DataFrame(
        {
            "scenario": ["base"] * 4,
            "replication": [0, 1, 0, 1],
            "place": ["wards"] * 4,
            "hour_of_week": [0, 0, 1, 1],
            "occupancy": [46.0, 48.0, 10.0, 12.0],
            "capacity": [50.0, 50.0, 0.0, 0.0],
        }
    )
    band = charts.occupancy_by_hour(how, "wards")
    assert band["hour_of_week"].tolist() == [0]  # closed hours are left out
    assert band["mean"].iloc[0] == pytest.approx(94.0)


def test_charts_use_the_palette_and_reference_lines() -> None:
    band = pd.DataFrame(
        {
            "scenario": ["base", "change"],
            "hour_of_week": [0, 0],
            "mean": [90.0, 93.0],
            "low": [89.0, 92.0],
            "high": [91.0, 94.0],
        }
    )
    spec = charts.occupancy_chart(band, "Wards", ["base", "change"]).to_dict()
    text = str(spec)
    assert charts.PALETTE[0] in text and charts.PALETTE[1] in text
    levels = [
        v for d in spec["datasets"].values() for row in d for k, v in row.items() if k == "level"
    ]
    assert levels == [92, 95, 100]
    cdf = pd.DataFrame(
        {
            "scenario": ["base"] * 2,
            "replication": [0, 0],
            "minutes": [0.0, 240.0],
            "share_within": [0.0, 0.7],
        }
    )
    spec = charts.time_in_department_chart(charts.time_in_department_band(cdf), ["base"]).to_dict()
    rules = [row for d in spec["datasets"].values() for row in d if "text" in row]
    assert {"hours": 4.0, "text": "4 hours"} in rules


def test_ed_band_averages_within_each_day_then_across_replications() -> None:
    times = pd.date_range("2025-01-06", periods=48, freq="h")
    ed = pd.DataFrame(
        {
            "scenario": "base",
            "replication": np.repeat([0, 1], 48),
            "time": np.tile(times, 2),
            "boarders": np.r_[
                np.full(24, 2.0), np.full(24, 4.0), np.full(24, 6.0), np.full(24, 8.0)
            ],
        }
    )
    band = charts.ed_band(ed, "boarders")
    assert band["mean"].tolist() == [4.0, 6.0]  # day 1: reps 2 and 6; day 2: 4 and 8
    assert len(charts.ed_band(ed, "boarders", "h")) == 48


def _comparison():
    rows = [
        ("small", "four_hour_pct", 0.5, -0.5, 1.5, "no clear difference"),
        ("big", "four_hour_pct", 3.0, 2.0, 4.0, "better"),
        ("bad", "four_hour_pct", -2.0, -3.0, -1.0, "worse"),
        ("big", "handover_mean", -5.0, -6.0, -4.0, "better"),
        ("bad", "handover_mean", 4.0, 3.0, 5.0, "worse"),
        ("small", "handover_mean", -1.0, -2.0, 0.5, "no clear difference"),
    ]
    return pd.DataFrame(
        rows, columns=["scenario", "kpi", "difference", "ci_low", "ci_high", "verdict"]
    )


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def test_forest_plot_sorts_changes_best_first_by_the_kpis_direction() -> None:
    spec = charts.forest_plot(_comparison(), "four_hour_pct").to_dict()
    ci = _layers(spec)[1]
    assert ci["encoding"]["y"]["sort"] == ["big", "small", "bad"]
    # Lower is better for handover: the biggest fall comes first.
    spec = charts.forest_plot(_comparison(), "handover_mean").to_dict()
    assert _layers(spec)[1]["encoding"]["y"]["sort"] == ["big", "small", "bad"]
    assert list(charts.forest_data(_comparison(), "handover_mean")["difference"]) == [
        -5.0,
        -1.0,
        4.0,
    ]


def test_forest_plot_has_a_zero_rule_and_verdict_colours() -> None:
    spec = charts.forest_plot(_comparison(), "four_hour_pct").to_dict()
    zero, ci, point = _layers(spec)
    assert zero["mark"]["type"] == "rule" and zero["encoding"]["x"]["field"] == "zero"
    datasets = spec["datasets"]
    assert [r["zero"] for r in datasets[zero["data"]["name"]]] == [0.0]
    assert ci["mark"]["type"] == "rule" and ci["encoding"]["x2"]["field"] == "ci_high"
    scale = point["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours == {
        "better": charts.VERDICT_COLOURS["better"],
        "worse": charts.VERDICT_COLOURS["worse"],
        "no clear difference": charts.VERDICT_COLOURS["no clear difference"],
    }
    assert colours["better"] == "#009E73" and colours["worse"] == "#D55E00"
    assert "points" in ci["encoding"]["x"]["title"]
    shapes = point["encoding"]["shape"]["scale"]
    assert len(set(shapes["range"])) == 3  # told apart in black and white too
