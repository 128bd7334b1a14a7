"""Reading scenarios: durations, distributions, and the YAML loader (overlays, anchors, positions,
safe loading, hashing and writing a scenario back out)."""

from __future__ import annotations

import math
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from flowsim.distributions import (
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Triangular,
    Uniform,
)
from flowsim.durations import format_duration, parse_duration
from flowsim.errors import Problem, ScenarioError
from flowsim.loader import load_scenario, scenario_hash, scenario_yaml

from .shared import SCENARIOS

BASELINE = SCENARIOS / "baseline.yaml"

MINIMAL = """\
name: minimal
classes:
  walk_in: {priority: 3}
arrivals:
  front_door:
    per_day: 100
    hourly_profile: [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    class_mix: {walk_in: 1.0}
    first_stage: assess
places:
  cubicles: {capacity: 10, area: ed}
staff:
  doctors: {count: 2}
stages:
  assess:
    place: cubicles
    staff: doctors
    duration: {dist: lognormal, mean: 45min, sd: 30min}
    next: {exit: 1.0}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(textwrap.dedent(text), encoding="utf-8")
    return f


def problems_of(source: Any) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    return info.value.problems


# -- durations -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45min", 45),
        ("4h", 240),
        ("7d", 10080),
        ("1d 6h", 1800),
        ("1d6h", 1800),
        ("2w", 20160),
        ("90s", 1.5),
        ("1.5h", 90),
        (".5h", 30),
        ("30 minutes", 30),
        (" 4H ", 240),
        ("2 days", 2880),
        ("30", 30),
        (30, 30),
        (2.5, 2.5),
        (0, 0),
        ("0min", 0),
    ],
)
def test_parse_duration(text: object, minutes: float) -> None:
    assert parse_duration(text) == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("8.7d", 12528), ("0.1h", 6), ("2.3h", 138), ("30s", 0.5), ("1.1w", 11088)],
)
def test_decimal_durations_are_exact(text: str, minutes: float) -> None:
    # In binary floating point 8.7 * 1440 is 12527.999999999998; the file means 12528 minutes,
    # and a scenario written back as "12528min" must read as the same scenario.
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("minutes", [0, 0.5, 1, 45, 59, 60, 90, 150, 1440, 1800, 10080, 2.25])
def test_format_duration_round_trips(minutes: float) -> None:
    text = format_duration(minutes)
    assert isinstance(text, str)
    assert parse_duration(text) == minutes


def test_format_duration_uses_the_largest_whole_unit() -> None:
    assert format_duration(1440 * 3) == "3d"
    assert format_duration(240) == "4h"
    assert format_duration(45) == "45min"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("4 hours!", "a duration such as"),
        ("abc", "a duration such as"),
        ("", "empty"),
        ("5 fortnights", "a duration such as"),
        ("h", "a duration such as"),
        ("-5min", "zero or more"),
        (-5, "zero or more"),
        ("nan", "finite"),
        (float("inf"), "finite"),
        (True, "a duration such as"),
        (None, "a duration such as"),
        ([1, 2], "a duration such as"),
        ("1:30", "a duration such as"),
    ],
)
def test_parse_duration_refuses(bad: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_duration(bad)


# -- distributions ---------------------------------------------------------------------------
DIST = TypeAdapter(Distribution)


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        ({"dist": "exponential", "mean": "30min"}, 30),
        ({"dist": "lognormal", "mean": "5d", "sd": "4d"}, 7200),
        ({"dist": "gamma", "mean": "2h", "sd": "1h"}, 120),
        ({"dist": "erlang", "k": 3, "mean": 60}, 60),
        ({"dist": "triangular", "low": 10, "mode": 20, "high": 60}, 30),
        ({"dist": "uniform", "low": "1h", "high": "3h"}, 120),
        ({"dist": "empirical", "values": [10, 20, 40], "weights": [1, 2, 1]}, 22.5),
        ({"dist": "empirical", "values": ["1h", "2h"]}, 90),
        ({"dist": "fixed", "value": "15min"}, 15),
        ("15min", 15),
        (25, 25),
    ],
)
def test_sample_mean_matches_expected(spec: Any, mean: float) -> None:
    d = DIST.validate_python(spec)
    assert d.expected() == pytest.approx(mean)
    n = 200_000
    x = d.sample(np.random.default_rng(12345), n)
    assert x.shape == (n,)
    assert (x >= 0).all()
    # Within 4 standard errors: a false alarm about 1 time in 16,000, and the seed is fixed.
    se = x.std(ddof=1) / math.sqrt(n)
    assert abs(x.mean() - mean) <= 4 * se + 1e-9


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "mean": "5d", "sd": "4d"},
        {"dist": "gamma", "mean": "2h", "sd": "1h"},
    ],
)
def test_mean_sd_distributions_have_the_stated_sd(spec: dict[str, Any]) -> None:
    d = DIST.validate_python(spec)
    x = d.sample(np.random.default_rng(7), 400_000)
    assert x.std() == pytest.approx(parse_duration(spec["sd"]), rel=0.03)


def test_expected_values() -> None:
    assert Fixed(dist="fixed", value=15).expected() == 15
    assert Exponential.model_validate({"dist": "exponential", "mean": "4h"}).expected() == 240
    assert Lognormal(dist="lognormal", mean=10, sd=3).expected() == 10
    assert Gamma(dist="gamma", mean=10, sd=3).expected() == 10
    assert Erlang(dist="erlang", k=4, mean=20).expected() == 20
    assert Triangular(dist="triangular", low=0, mode=3, high=6).expected() == 3
    assert Uniform(dist="uniform", low=2, high=4).expected() == 3
    assert Empirical(dist="empirical", values=[0, 10], weights=[3, 1]).expected() == 2.5


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "mean": "1h", "sd": 0},
        {"dist": "gamma", "mean": "1h", "sd": 0},
        {"dist": "triangular", "low": 60, "mode": 60, "high": 60},
    ],
)
def test_degenerate_distributions_are_constant(spec: dict[str, Any]) -> None:
    x = DIST.validate_python(spec).sample(np.random.default_rng(1), 100)
    assert (x == 60).all()


def test_same_seed_same_draws() -> None:
    d = DIST.validate_python({"dist": "lognormal", "mean": 30, "sd": 20})
    a = d.sample(np.random.default_rng(99), 50)
    b = d.sample(np.random.default_rng(99), 50)
    assert (a == b).all()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"dist": "lognormal", "mean": 30}, "sd"),
        ({"dist": "triangular", "low": 30, "mode": 10, "high": 60}, "low <= mode <= high"),
        ({"dist": "uniform", "low": 30, "high": 10}, "low <= high"),
        ({"dist": "weibull", "mean": 30}, "weibull"),
        ({"dist": "erlang", "k": 0, "mean": 30}, "greater than or equal to 1"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1]}, "weights has 1"),
        ({"dist": "empirical", "values": [1, 2], "weights": [0, 0]}, "not all be zero"),
        ({"dist": "lognormal", "mean": 0, "sd": 5}, "mean must be above zero"),
        ({"dist": "exponential", "mean": 30, "sd": 5}, "sd"),
    ],
)
def test_bad_distributions_refused(spec: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        DIST.validate_python(spec)


def test_distributions_are_frozen() -> None:
    d = Exponential(dist="exponential", mean=30)
    with pytest.raises(ValidationError):
        d.mean = 40


# -- loading files ---------------------------------------------------------------------------
def test_minimal_and_baseline_load(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "minimal.yaml", MINIMAL))
    assert s.name == "minimal"
    assert s.stages["assess"].duration.expected() == 45
    assert load_scenario(BASELINE).name == "baseline"


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    text = MINIMAL.replace("name: minimal\n", "")
    assert load_scenario(write(tmp_path, "winter-plan.yaml", text)).name == "winter_plan"
    assert load_scenario(write(tmp_path, "2025.yaml", text)).name == "s_2025"


def test_name_argument_overrides(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, "m.yaml", MINIMAL), name="other").name == "other"


def test_extends_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    over = write(
        tmp_path,
        "more_cubicles.yaml",
        """\
        extends: base.yaml
        arrivals:
          front_door:
            hourly_profile: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        places:
          cubicles: {capacity: 14}
        stages:
          assess:
            duration: 30min
        """,
    )
    s = load_scenario(over)
    assert s.name == "more_cubicles"  # the overlay's own stem, not the base's name
    cubicles = s.places["cubicles"]
    assert cubicles.capacity == 14
    assert cubicles.area == "ed"  # kept from the base: mappings merge key by key
    stream = s.arrivals["front_door"]
    assert stream.hourly_profile[:2] == [2, 2] and stream.hourly_profile[-1] == 1  # replaced
    assert stream.per_day == 100 and stream.first_stage == "assess"
    stage = s.stages["assess"]
    assert isinstance(stage.duration, Fixed) and stage.duration.value == 30  # replaced outright
    assert stage.staff == "doctors" and stage.next == {"exit": 1.0}


def test_extends_replaces_a_distribution_of_another_kind(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    kind = write(
        tmp_path,
        "kind.yaml",
        """\
        extends: base.yaml
        stages:
          assess:
            duration: {dist: triangular, low: 10min, mode: 30min, high: 2h}
        """,
    )
    assert load_scenario(kind).stages["assess"].duration == Triangular(
        dist="triangular", low=10, mode=30, high=120
    )
    # Of the same kind, parameters merge: only the mean changes here.
    mean = write(
        tmp_path,
        "mean.yaml",
        """\
        extends: base.yaml
        stages: {assess: {duration: {mean: 1h}}}
        """,
    )
    assert load_scenario(mean).stages["assess"].duration == Lognormal(
        dist="lognormal", mean=60, sd=30
    )


def test_extends_keeps_an_explicit_overlay_name_and_chains(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    write(tmp_path, "mid.yaml", "extends: base.yaml\nplaces: {cubicles: {capacity: 12}}\n")
    top = write(
        tmp_path, "top.yaml", "extends: mid.yaml\nname: winter\nstaff: {doctors: {count: 3}}\n"
    )
    s = load_scenario(top)
    assert s.name == "winter"
    assert s.places["cubicles"].capacity == 12
    assert s.staff["doctors"].count == 3


def test_extends_a_file_in_another_folder(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write(tmp_path / "base", "b.yaml", MINIMAL)
    (tmp_path / "changes").mkdir()
    over = write(tmp_path / "changes", "c.yaml", "extends: ../base/b.yaml\n")
    assert load_scenario(over, root=tmp_path).name == "c"


def test_overlay_errors_point_at_the_overlay(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", MINIMAL.replace("capacity: 10", "capacity: -1"))
    over = write(
        tmp_path,
        "over.yaml",
        """\
        extends: base.yaml
        # a comment so that lines differ from the base
        stages:
          assess:
            duration: {sd: -10min}
        """,
    )
    by_path = {p.path: p for p in problems_of(over)}
    sd = by_path["stages.assess.duration.sd"]
    assert (sd.file, sd.line) == (str(over), 5)
    cap = by_path["places.cubicles.capacity"]  # not overridden: still the base's line
    assert (cap.file, cap.line) == (str(base), 11)


def test_a_distribution_of_another_kind_takes_its_errors_to_the_overlay(tmp_path: Path) -> None:
    # The base gives sd for its lognormal; the overlay's gamma lacks one. The base's sd is gone
    # with the lognormal, so the error belongs to the overlay's line, not to the base's sd.
    write(tmp_path, "base.yaml", MINIMAL)
    over = write(
        tmp_path,
        "gamma.yaml",
        """\
        extends: base.yaml
        # the lines differ from the base's
        #
        stages:
          assess:
            duration: {dist: gamma, mean: 45min}
        """,
    )
    [p] = problems_of(over)
    assert (p.file, p.line, p.path) == (str(over), 6, "stages.assess.duration.sd")
    assert p.message == "required field is missing"


def test_a_list_an_overlay_replaces_keeps_none_of_the_base_positions(tmp_path: Path) -> None:
    from flowsim.loader import read_scenario_data

    write(tmp_path, "base.yaml", MINIMAL)
    over = write(
        tmp_path,
        "flat.yaml",
        """\
        extends: base.yaml
        arrivals: {front_door: {hourly_profile: [1, 2]}}
        stages: {assess: {duration: 30min}}
        """,
    )
    data, marks = read_scenario_data(over)
    assert data["arrivals"]["front_door"]["hourly_profile"] == [1, 2]
    profile = ("arrivals", "front_door", "hourly_profile")
    assert {p for p in marks if p[:3] == profile} == {profile, (*profile, 0), (*profile, 1)}
    duration = ("stages", "assess", "duration")
    assert [p for p in marks if p[:3] == duration] == [duration]
    assert marks[duration][:2] == (str(over), 3)
    assert marks[("places", "cubicles", "capacity")][0] == str(tmp_path / "base.yaml")


def test_an_extends_policy_decides_which_files_may_be_read(tmp_path: Path) -> None:
    from flowsim.loader import BesideTheFile, ExtendsRefused, InsideFolder, read_scenario_data

    class SameFolderTree:
        """Only files in the folder of the file that names them, or below it."""

        def resolve(self, name: str, naming_file: Path) -> Path:
            base = naming_file.parent / name
            if not base.resolve().is_relative_to(naming_file.parent.resolve()):
                raise ExtendsRefused(f"{name} is outside {naming_file.parent}")
            return base

    (tmp_path / "changes").mkdir()
    write(tmp_path, "base.yaml", MINIMAL)
    over = write(tmp_path / "changes", "c.yaml", "name: c\nextends: ../base.yaml\n")
    assert read_scenario_data(over, BesideTheFile())[0]["name"] == "c"  # any path
    assert read_scenario_data(over, root=tmp_path)[0]["name"] == "c"  # inside the root
    for policy, says in [
        (SameFolderTree(), "../base.yaml is outside"),
        (InsideFolder(tmp_path / "changes"), "no such file in the scenarios folder: ../base.yaml"),
    ]:
        with pytest.raises(ScenarioError) as info:
            read_scenario_data(over, policy)
        [p] = info.value.problems
        assert (p.file, p.line, p.path) == (str(over), 2, "extends")
        assert p.message.startswith(says)


def test_extends_must_name_a_file(tmp_path: Path) -> None:
    f = write(tmp_path, "o.yaml", "extends: [base.yaml]\n")
    [p] = problems_of(f)
    assert (p.line, p.path) == (1, "extends")


def test_a_file_extending_itself_is_a_loop(tmp_path: Path) -> None:
    f = write(tmp_path, "self.yaml", "name: x\nextends: self.yaml\n")
    [p] = problems_of(f)
    assert (p.file, p.line, p.path) == (str(f), 2, "extends")
    assert "loops" in p.message


def test_x_keys_hold_anchors_and_are_ignored(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "a.yaml",
        MINIMAL.replace(
            "arrivals:\n",
            "x-weekdays: &weekdays [1.2, 1, 1, 1, 1, 0.9, 0.9]\n"
            "x-notes: anything at all\narrivals:\n",
        ).replace("    per_day: 100\n", "    per_day: 100\n    weekday_factors: *weekdays\n"),
    )
    s = load_scenario(f)
    assert s.arrivals["front_door"].weekday_factors == [1.2, 1, 1, 1, 1, 0.9, 0.9]


def test_yaml_merge_keys(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "m.yaml",
        MINIMAL.replace(
            "places:\n  cubicles: {capacity: 10, area: ed}\n",
            "x-ed-space: &ed_space {area: ed, queue: priority, capacity: 4}\n"
            "places:\n"
            "  cubicles: {<<: *ed_space, capacity: 10}\n"
            "  resus:\n"
            "    <<: *ed_space\n"
            "    label: Resus\n",
        ),
    )
    s = load_scenario(f)
    assert s.places["cubicles"].capacity == 10 and s.places["cubicles"].area == "ed"
    assert s.places["resus"].capacity == 4 and s.places["resus"].label == "Resus"


def test_merge_keys_follow_the_yaml_rules_when_anchors_are_reused() -> None:
    from flowsim.loader import read_yaml

    data, _ = read_yaml(
        textwrap.dedent("""\
        b: &b {x: 1, y: 2}
        c: &c {x: 3, z: 4}
        a: &a {<<: [*b, *c], y: 9}
        d: {<<: *a, x: 0}
        e: {<<: *a}
        """),
        "m.yaml",
    )
    assert data["a"] == {"x": 1, "y": 9, "z": 4}  # the first mapping listed wins; written wins
    assert data["d"] == {"x": 0, "y": 9, "z": 4}
    assert data["e"] == {"x": 1, "y": 9, "z": 4}  # reusing *a does not lose its own y


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &a [1, *a]\n", "contains it"),
        ("a: &a {b: *a}\n", "contains it"),
        ("a: &a {<<: *a}\n", "itself"),
        ("x: &x 5\na: {<<: *x}\n", "<< needs a mapping"),
        ("a: {<<: [{b: 1}, 2]}\n", "<< needs a mapping"),
    ],
)
def test_bad_aliases_and_merges_are_problems_not_tracebacks(
    tmp_path: Path, text: str, says: str
) -> None:
    [p] = problems_of(write(tmp_path, "a.yaml", text))
    assert says in p.message and p.line is not None


def test_unquoted_clock_times_are_clock_times(tmp_path: Path) -> None:
    # YAML 1.1 reads 8:00 as the base-60 number 480; a flow coach means eight o'clock.
    f = write(
        tmp_path,
        "c.yaml",
        MINIMAL.replace(
            "doctors: {count: 2}",
            "doctors: {shifts: {day: {start: 8:00, end: 20:30, count: 2}, "
            "night: {start: 20:30, end: 8:00, count: 1}}}",
        ),
    )
    day = load_scenario(f).staff["doctors"].shifts["day"]
    assert (day.start, day.end) == (8.0, 20.5)


def test_impossible_date_points_at_the_field(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", "name: x\nstart: 2025-02-30\n")
    [p] = problems_of(f)
    assert (p.line, p.path) == (2, "start")
    assert "out of range" in p.message


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "d.yaml",
        MINIMAL.replace("    per_day: 100\n", "    per_day: 100\n    per_day: 120\n"),
    )
    [p] = problems_of(f)
    assert (p.line, p.path) == (7, "arrivals.front_door.per_day")
    assert "line 6" in p.message


# -- from a dict -----------------------------------------------------------------------------
def test_load_from_a_dict_equals_the_file(tmp_path: Path) -> None:
    data = yaml.safe_load(MINIMAL)
    from_dict = load_scenario(data)
    from_file = load_scenario(write(tmp_path, "minimal.yaml", MINIMAL))
    assert from_dict == from_file
    assert scenario_hash(from_dict) == scenario_hash(from_file)
    assert load_scenario(data, name="renamed").name == "renamed"
    assert data["name"] == "minimal"  # the caller's dict is not changed


def test_dict_errors_have_clean_paths_and_no_lines() -> None:
    data = yaml.safe_load(MINIMAL)
    data["places"]["cubicles"]["capacity"] = "ten"
    data["stages"]["assess"]["duration"] = {"dist": "lognormal", "mean": 5}
    problems = problems_of(data)
    assert {p.path for p in problems} == {"places.cubicles.capacity", "stages.assess.duration.sd"}
    assert all(p.file == "<dict>" and p.line is None for p in problems)


def test_dict_cannot_extend() -> None:
    [p] = problems_of({"extends": "base.yaml"})
    assert p.path == "extends"


# -- hash and writing back -------------------------------------------------------------------
def test_scenario_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    f = write(tmp_path, "m.yaml", MINIMAL)
    h = scenario_hash(load_scenario(f))
    assert h == scenario_hash(load_scenario(f))
    assert len(h) == 16
    # Layout and comments do not matter; values do.
    g = write(
        tmp_path,
        "m2.yaml",
        "# a comment\n" + MINIMAL.replace("{capacity: 10, area: ed}", "{area: ed, capacity: 10}"),
    )
    assert scenario_hash(load_scenario(g)) == h
    changed = write(tmp_path, "m3.yaml", MINIMAL.replace("capacity: 10", "capacity: 11"))
    assert scenario_hash(load_scenario(changed)) != h
    same_minutes = write(tmp_path, "m4.yaml", MINIMAL.replace("mean: 45min", "mean: 45"))
    assert scenario_hash(load_scenario(same_minutes)) == h


@pytest.mark.parametrize("source", ["minimal", "baseline"])
def test_scenario_yaml_round_trips(tmp_path: Path, source: str) -> None:
    original = load_scenario(
        BASELINE if source == "baseline" else write(tmp_path, "minimal.yaml", MINIMAL)
    )
    text = scenario_yaml(original)
    again = load_scenario(write(tmp_path, "again.yaml", text))
    assert again == original
    assert scenario_hash(again) == scenario_hash(original)
    assert scenario_yaml(again) == text


def test_scenario_yaml_of_an_overlay_stands_alone(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    over = load_scenario(
        write(tmp_path, "over.yaml", "extends: base.yaml\nplaces: {cubicles: {capacity: 3}}\n")
    )
    (tmp_path / "out").mkdir()
    again = load_scenario(write(tmp_path / "out", "resolved.yaml", scenario_yaml(over)))
    assert again == over and again.name == "over"


# -- every problem at once, and safe loading -------------------------------------------------
def test_every_field_problem_is_reported_together(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "many.yaml",
        MINIMAL.replace("per_day: 100", "per_day: lots")
        .replace("capacity: 10", "capacity: -2")
        .replace("count: 2", "count: two")
        .replace("mean: 45min", "mean: 45 minutes or so"),
    )
    paths = {p.path for p in problems_of(f)}
    assert {
        "arrivals.front_door.per_day",
        "places.cubicles.capacity",
        "staff.doctors.count",
        "stages.assess.duration.mean",
    } <= paths


def test_every_network_problem_is_reported_together(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "refs.yaml",
        MINIMAL.replace("class_mix: {walk_in: 1.0}", "class_mix: {walkin: 1.0}")
        .replace("place: cubicles", "place: cubicle")
        .replace("staff: doctors", "staff: doctor")
        .replace("next: {exit: 1.0}", "next: {exit: 0.5, xray: 0.5}"),
    )
    got = {(p.line, p.path) for p in problems_of(f)}
    assert got == {
        (8, "arrivals.front_door.class_mix.walkin"),
        (16, "stages.assess.place"),
        (17, "stages.assess.staff"),
        (19, "stages.assess.next.xray"),
    }


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo hi']",
        "!!python/object:collections.OrderedDict {a: 1}",
        "!!python/name:os.system",
        "!!python/object/new:builtins.str ['x']",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!custom thing",
    ],
)
def test_tags_that_build_objects_are_refused(tmp_path: Path, value: str) -> None:
    f = write(tmp_path, "t.yaml", f"name: x\ndescription: {value}\n")
    [p] = problems_of(f)
    assert p.line == 2
    assert "tag" in p.message


def test_explicit_plain_tags_are_fine(tmp_path: Path) -> None:
    f = write(tmp_path, "t.yaml", MINIMAL.replace("name: minimal", "name: !!str minimal"))
    assert load_scenario(f).name == "minimal"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"x-{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    f = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    t0 = time.perf_counter()
    [p] = problems_of(f)
    assert "too many values" in p.message
    assert time.perf_counter() - t0 < 10


def test_zero_byte_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_bytes(b"")
    [p] = problems_of(f)
    assert "empty" in p.message


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_unreadable_paths(tmp_path: Path, kind: str) -> None:
    f = tmp_path / "s.yaml"
    if kind == "folder":
        f.mkdir()
    [p] = problems_of(f)
    assert p.file == str(f)
    assert ("no such file" if kind == "missing" else "folder") in p.message


def test_problem_text() -> None:
    assert str(Problem("s.yaml", 3, 5, "places.x", "bad")) == "s.yaml:3:5: places.x: bad"
    assert str(Problem("s.yaml", 3, None, "", "bad")) == "s.yaml:3: bad"
    assert str(Problem("<dict>", None, None, "name", "bad")) == "<dict>: name: bad"
    e = ScenarioError([Problem("a", 1, 1, "", "x"), Problem("a", 2, 1, "", "y")])
    assert str(e).splitlines() == ["a:1:1: x", "a:2:1: y"]
