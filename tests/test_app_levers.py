"""Levers build overlay files that flowsim validates and runs unchanged, and refuse nonsense."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from flowsim import load_scenario
from flowsim.cli import main as cli
from flowsim.levers import (
    CapacityLever,
    ExtraShiftLever,
    Levers,
    SurgeLever,
    before_noon,
    build_overlay,
    check_levers,
    lever_defaults,
    overlay_yaml,
    reweighted,
    scaled,
)

from .shared import SCENARIOS


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "baseline.yaml")


@pytest.fixture
def scenarios_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    return folder


def _everything(baseline) -> Levers:
    d = lever_defaults(baseline, name="winter_plan")
    return d.model_copy(
        update={
            "demand": 1.1,
            "surge": SurgeLever(start=dt.date(2024, 10, 20), end=dt.date(2024, 10, 30), factor=1.3),
            "beds": {**d.beds, "amu": 70},
            "capacity_changes": [
                CapacityLever(
                    place="wards", start=dt.date(2024, 11, 1), end=dt.date(2024, 11, 30), change=20
                ),
                CapacityLever(
                    place="wards",
                    start=dt.date(2024, 10, 20),
                    end=dt.date(2024, 10, 27),
                    change=-25,
                ),
            ],
            "shift_counts": {
                **d.shift_counts,
                "ed_doctor": {**d.shift_counts["ed_doctor"], "night": 4},
            },
            "extra_shift": ExtraShiftLever(staff="triage_nurse", start=22, end=2, count=1),
            "length_of_stay": {"wards": 0.9},
            "delayed_share": {"discharge_with_support": 0.1},
            "before_noon_share": {**d.before_noon_share, "discharge_home": 0.33},
            "weekend_share": {**d.weekend_share, "discharge_home": 0.8},
        }
    )


def test_levers_left_alone_change_nothing(baseline) -> None:
    overlay = build_overlay(baseline, lever_defaults(baseline), "baseline.yaml")
    assert set(overlay) == {"extends", "name", "description"}
    assert overlay["extends"] == "baseline.yaml"


def test_every_lever_lands_in_the_scenario(baseline, scenarios_copy: Path) -> None:
    text = overlay_yaml(build_overlay(baseline, _everything(baseline), "baseline.yaml"))
    path = scenarios_copy / "winter_plan.yaml"
    path.write_text(text)
    s = load_scenario(path)
    assert s.name == "winter_plan"
    for name, stream in baseline.arrivals.items():
        assert s.arrivals[name].per_day == pytest.approx(stream.per_day * 1.1)
        assert s.arrivals[name].surges["app_surge"].factor == 1.3
    assert s.places["amu"].capacity == 70
    changes = s.places["wards"].changes
    assert sorted(c.change for c in changes.values()) == [-25, 20]
    assert s.staff["ed_doctor"].shifts["night"].count == 4
    assert (
        s.staff["ed_doctor"].shifts["day"].count == baseline.staff["ed_doctor"].shifts["day"].count
    )
    # An hourly roster gets the extra nurse at 22:00-02:00, past midnight.
    added = [
        a - b
        for a, b in zip(
            s.staff["triage_nurse"].per_hour, baseline.staff["triage_nurse"].per_hour, strict=True
        )
    ]
    assert [h for h, x in enumerate(added) if x] == [0, 1, 22, 23]
    ward, base_ward = s.stages["ward_stay"], baseline.stages["ward_stay"]
    assert ward.duration.expected() == pytest.approx(0.9 * base_ward.duration.expected(), rel=1e-3)
    # Stays by destination are scaled too, each one.
    assert base_ward.duration_by_next
    for to, d in base_ward.duration_by_next.items():
        assert ward.duration_by_next[to].expected() == pytest.approx(0.9 * d.expected(), rel=1e-3)
    assert s.stages["discharge_with_support"].delayed_discharge.share == 0.1
    assert s.stages["discharge_home"].delayed_discharge == (
        baseline.stages["discharge_home"].delayed_discharge
    )
    home = s.stages["discharge_home"].discharge_window
    assert before_noon(home.hours) == pytest.approx(0.33, abs=1e-3)
    assert home.days["Sat"] == home.days["Sun"] == 0.8
    # Everything not touched is as in the baseline.
    assert s.stages["majors_assessment"] == baseline.stages["majors_assessment"]
    assert s.places["majors"] == baseline.places["majors"]


def test_downloaded_overlay_validates_and_runs_with_the_cli(
    baseline, scenarios_copy: Path, tmp_path: Path, capsys
) -> None:
    text = overlay_yaml(build_overlay(baseline, _everything(baseline), "baseline.yaml"))
    path = scenarios_copy / "winter_plan.yaml"
    path.write_text(text)
    assert cli(["validate", str(path)]) == 0
    out = tmp_path / "out"
    assert (
        cli(
            [
                "run",
                str(path),
                "-r",
                "1",
                "--days",
                "2",
                "--warmup-days",
                "1",
                "-j",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert (out / "kpis.csv").exists()
    assert "winter_plan" in capsys.readouterr().out


def test_overlay_of_a_baseline_in_a_subfolder_extends_by_its_relative_path(
    scenarios_copy: Path,
) -> None:
    base = load_scenario(scenarios_copy / "changes" / "escalation_beds.yaml", root=scenarios_copy)
    levers = lever_defaults(base, name="escalation_and_noon").model_copy(
        update={"before_noon_share": {"discharge_home": 0.3, "amu_stay": 0.2727}}
    )
    text = overlay_yaml(build_overlay(base, levers, "changes/escalation_beds.yaml"))
    assert "extends: changes/escalation_beds.yaml" in text
    path = scenarios_copy / "escalation_and_noon.yaml"
    path.write_text(text)
    s = load_scenario(path, root=scenarios_copy)
    assert "escalation" in s.places["wards"].changes  # from the baseline it extends
    home = s.stages["discharge_home"].discharge_window
    assert before_noon(home.hours) == pytest.approx(0.3, abs=1e-3)


@pytest.mark.parametrize(
    "update",
    [
        {"demand": 5.0},
        {"demand": 0.0},
        {"beds": {"wards": -1}},
        {"delayed_share": {"x": 1.5}},
        {"weekend_share": {"x": -0.1}},
        {"before_noon_share": {"x": 1.0}},
        {"name": "9 lives"},
        {"length_of_stay": {"wards": 0.0}},
    ],
)
def test_impossible_values_are_refused(baseline, update) -> None:
    data = {**lever_defaults(baseline).model_dump(), **update}
    with pytest.raises(ValidationError):
        Levers.model_validate(data)


def test_impossible_dated_levers_are_refused() -> None:
    with pytest.raises(ValidationError, match="before the start"):
        SurgeLever(start=dt.date(2025, 1, 10), end=dt.date(2025, 1, 1), factor=1.2)
    with pytest.raises(ValidationError, match="same hour"):
        ExtraShiftLever(staff="ed_doctor", start=8, end=8, count=1)
    with pytest.raises(ValidationError):
        ExtraShiftLever(staff="ed_doctor", start=8, end=16, count=0)


def test_levers_naming_what_the_baseline_lacks_are_reported(baseline) -> None:
    levers = Levers(
        beds={"waiting_room": 3, "nowhere": 1},
        capacity_changes=[
            CapacityLever(
                place="attic", start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2), change=5
            )
        ],
        shift_counts={"ed_doctor": {"brunch": 2}, "porter": {"count": 1}},
        delayed_share={"triage": 0.5},
    )
    problems = check_levers(baseline, levers)
    assert len(problems) == 6, problems
    with pytest.raises(ValueError, match="attic"):
        build_overlay(baseline, levers, "baseline.yaml")


def test_reweighted_hours_keep_their_shape_within_morning_and_afternoon() -> None:
    hours = [0.0] * 8 + [1, 2, 3, 4] + [4, 3, 2, 1] + [0.5] * 8
    out = reweighted(hours, 0.4)
    assert before_noon(out) == pytest.approx(0.4, abs=1e-4)
    assert out[9] / out[8] == pytest.approx(2.0, rel=1e-3)
    assert out[13] / out[12] == pytest.approx(0.75, rel=1e-3)


@pytest.mark.parametrize(
    "dist",
    [
        "15min",
        "{dist: exponential, mean: 4h}",
        "{dist: lognormal, mean: 5d, sd: 4d}",
        "{dist: gamma, mean: 2h, sd: 1h}",
        "{dist: erlang, k: 3, mean: 90min}",
        "{dist: triangular, low: 1h, mode: 2h, high: 6h}",
        "{dist: uniform, low: 1h, high: 3h}",
        "{dist: empirical, values: [1h, 2h, 5h], weights: [1, 2, 1]}",
    ],
)
def test_scaled_distributions_scale_their_mean(dist: str) -> None:
    from flowsim.scenario import Stage

    stage = Stage.model_validate({"duration": yaml.safe_load(dist)})
    out = Stage.model_validate({"duration": scaled(stage.duration, 1.5)})
    assert out.duration.dist == stage.duration.dist
    assert out.duration.expected() == pytest.approx(1.5 * stage.duration.expected(), rel=1e-3)
