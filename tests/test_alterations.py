"""What each change alters: every shipped change, the baseline against itself, and pairs made by
hand whose differences are known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flowsim import load_scenario
from flowsim.alterations import alterations, alterations_text, duration_words, weekly_staff_hours
from flowsim.loader import validate_data
from flowsim.scenario import Scenario

from .shared import SCENARIOS, TINY

CHANGES = sorted((SCENARIOS / "changes").glob("*.yaml"))


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario(SCENARIOS / "baseline.yaml")


def _tiny(**overlay: Any) -> Scenario:
    data = yaml.safe_load(TINY)

    def merge(base: dict[str, Any], over: dict[str, Any]) -> None:
        for k, v in over.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                merge(base[k], v)
            else:
                base[k] = v

    merge(data, overlay)
    return validate_data(data, {}, "tiny.yaml")


def test_the_baseline_against_itself_alters_nothing(baseline: Scenario) -> None:
    assert alterations(baseline, baseline) == []
    assert alterations_text(baseline, baseline, none="nothing") == "nothing"


@pytest.mark.parametrize("path", CHANGES, ids=[p.stem for p in CHANGES])
def test_every_shipped_change_says_what_it_alters(path: Path, baseline: Scenario) -> None:
    lines = alterations(load_scenario(path), baseline)
    assert lines, f"{path.name} alters nothing it can describe"
    # Names and descriptions are not alterations: every line names a thing the hospital has.
    assert not any(line.lower().startswith(("name", "description")) for line in lines)


def test_the_shipped_changes_in_the_words_of_their_files(baseline: Scenario) -> None:
    def said(stem: str) -> str:
        return alterations_text(load_scenario(SCENARIOS / "changes" / f"{stem}.yaml"), baseline)

    # Each figure is read from the change file's own comment or description.
    assert "+20 from 28 Oct 2024 to 26 Jan 2025" in said("escalation_beds")
    assert (
        "Discharge home with new support (pathway 1): delayed discharges 40% → 20% of patients"
        in said("fewer_delayed_discharges")
    )
    assert "Sat 40% → 80%, Sun 40% → 80%" in said("seven_day_discharging")
    assert "open 08:00–22:00 every day → 08:00–24:00 every day" in said("sdec_open_longer")
    # "17.5%" and "33.0%" are the shares the file's header states.
    assert "discharges before midday 17.5% → 33.0%" in said("discharge_before_noon")
    assert "fit: mean time 3.6 days → 3.55 days" in said("discharge_before_noon")
    # A stay by destination (duration_by_next) says which destination's stays moved.
    assert (
        "Ward stay until medically fit, before discharge home with new support (pathway 1): "
        "mean time 8.7 days → 8.65 days" in said("discharge_before_noon")
    )
    assert "60% of patients go to UTC assessment instead of minors assessment" in said(
        "streaming_to_utc"
    )
    assert "extra evening shift added (16:00–02:00, 1 every day)" in said("extra_evening_doctor")
    # The rota by hand: 6x10 + 4x12 + 3x10 + 3x10 = 168 doctor-hours a day, 1,176 a week; the
    # extra 16:00-02:00 doctor adds 10 a day.
    assert "ED doctors: 1,176 → 1,246 staff-hours a week" in said("extra_evening_doctor")


def test_beds_and_routing_in_the_words_of_the_issue() -> None:
    before = _tiny(places={"ward": {"label": "AMU beds", "capacity": 64}})
    after = _tiny(
        places={"ward": {"label": "AMU beds", "capacity": 76}},
        stages={"assess": {"next": {"ward": 0.4, "exit": 0.6}}},
    )
    assert alterations(after, before) == [
        "AMU beds: 64 → 76",
        "Assess: 10% of patients go to ward instead of leaving",
    ]
    fewer = _tiny(stages={"assess": {"next": {"ward": 0.2, "exit": 0.8}}})
    assert alterations(fewer, _tiny()) == ["Assess: 10% of patients leave instead of going to ward"]


def test_arrivals_durations_and_run_settings() -> None:
    before = _tiny()
    after = _tiny(
        run={"length": "5d", "seed": 8},
        arrivals={
            "walk_in": {
                "per_day": 132,
                "surges": {"flu": {"from": "2025-01-07", "to": "2025-01-08", "factor": 1.5}},
            }
        },
        stages={"assess": {"duration": {"dist": "exponential", "mean": "150min"}}},
        staff={"doctor": {"count": 3}},
    )
    assert alterations(after, before) == [
        "Measured period: 3 days → 5 days",
        "Random seed: 7 → 8",
        "Walk in arrivals: 120 → 132 a day (+10%)",
        "Walk in arrivals: surge 'flu' added (×1.5 from 7 Jan 2025 to 8 Jan 2025)",
        "Doctor: 2 → 3 on duty",
        "Doctor: 336 → 504 staff-hours a week",
        # 20 minutes stays in minutes; 150 minutes is over 120, so hours and minutes.
        "Assess: mean time 20 min → 2 h 30 min",
    ]


def test_added_and_removed_things_are_named() -> None:
    before = _tiny()
    after = _tiny(
        places={
            "ward": {
                "changes": {"closure": {"from": "2025-01-07", "to": "2025-01-07", "to_capacity": 0}}
            }
        },
        classes={"urgent": {"priority": 0}},
    )
    lines = alterations(after, before)
    assert "Ward: capacity change 'closure' added (set to 0 from 7 Jan 2025 to 7 Jan 2025)" in lines
    assert "urgent: priority 1 → 0" in lines
    assert alterations(before, after) == [
        "Ward: capacity change 'closure' removed (set to 0 from 7 Jan 2025 to 7 Jan 2025)",
        "urgent: priority 0 → 1",
    ]


def test_a_difference_without_particular_words_is_still_reported() -> None:
    before = _tiny()
    after = _tiny(stages={"assess": {"milestone": "triage"}})
    assert alterations(after, before) == ["Assess: milestone changed"]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (45, "45 min"),
        (119.5, "119.5 min"),
        (120, "120 min"),
        (125, "2 h 5 min"),
        (180, "3 h"),
        (150, "2 h 30 min"),
        (2007, "33 h 27 min"),
        (8928, "6.2 days"),
    ],
)
def test_durations_over_two_hours_read_as_hours_and_minutes(minutes: float, words: str) -> None:
    assert duration_words(minutes) == words


def test_weekly_staff_hours_for_each_kind_of_roster() -> None:
    per_hour = _tiny(staff={"doctor": {"count": None, "per_hour": [1] * 12 + [2] * 12}}).staff[
        "doctor"
    ]
    assert weekly_staff_hours(per_hour) == 36 * 7
    night = _tiny(
        staff={
            "doctor": {
                "count": None,
                "shifts": {"n": {"start": "22:00", "end": "08:00", "count": 2, "days": ["Mon"]}},
            }
        }
    ).staff["doctor"]
    assert weekly_staff_hours(night) == 20  # 10 hours past midnight, 2 people, one day


@pytest.mark.slow
def test_compare_prints_what_each_change_alters_under_its_heading() -> None:
    import io

    from flowsim import cli
    from flowsim.experiment import run

    more_beds = _tiny(name="more_beds", places={"ward": {"capacity": 14}})
    results = run([_tiny(), more_beds], replications=2)
    out = io.StringIO()
    cli._print_comparison(results.compare(), out, results)
    text = out.getvalue()
    heading = text.index("more_beds minus baseline")
    assert text[heading:].splitlines()[1] == "What it alters: Ward: 12 → 14"
