"""Plain messages for bad scenario files: each mistake in the corpus below is reported with the
exact words and the exact line, column and field path, no pydantic wording ever reaches a user,
and a file with several problems has every one of them reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic_core.core_schema import ErrorType

from flowsim import cli
from flowsim.errors import ScenarioError
from flowsim.loader import load_scenario, name_problems_in_data
from flowsim.messages import plain_message
from flowsim.scenario import Scenario, network_problems

from .shared import REPO, TINY

JARGON = (
    "Input should",
    "input should",
    "validation error",
    "type=",
    "pydantic",
    "Value error",
    "Field required",
    "Extra inputs",
    "model_type",
    "constrained-int",
    "literal[",
    "[key]",
    "dictionary",
    "Dictionary",
    "items after validation",
)
"""Words of pydantic's own messages and locations, none of which a user may see."""


def _edit(*changes: tuple[str, str]) -> str:
    text = TINY
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# (id, file text, every problem expected as "line:column: field.path: message")
CORPUS: list[tuple[str, str, list[str]]] = [
    (
        "place given as a list",
        _edit(("cubicles: {capacity: 6, area: ed}", "cubicles: [6, ed]")),
        [
            "13:3: places.cubicles: expected the fields of a place (capacity, area, label, ...), "
            "got a list"
        ],
    ),
    (
        "stage left empty",
        _edit(("  ward:\n    place: ward\n", "  ward:\n  ward_two:\n    place: ward\n")),
        [
            "24:3: stages.ward: expected the fields of a stage (place, staff, duration, ...), "
            "got nothing (an empty value)"
        ],
    ),
    (
        "missing field",
        _edit(("  cubicles: {capacity: 6, area: ed}", "  cubicles: {area: ed}")),
        [
            "13:3: places.cubicles.capacity: required field is missing: how many at once "
            "(at most 100,000), or unlimited"
        ],
    ),
    (
        "misspelt field",
        _edit(("  cubicles: {capacity: 6, area: ed}", "  cubicles: {capacity: 6, aera: ed}")),
        [
            "13:27: places.cubicles.aera: unknown field; did you mean 'area'? (a place has: "
            "capacity, area, label, queue, open_hours, changes)"
        ],
    ),
    (
        "unknown field, nothing like it",
        _edit(("    first_stage: assess", "    first_stage: assess\n    colour: blue")),
        [
            "12:5: arrivals.walk_in.colour: unknown field (check the spelling; an arrival "
            "stream has: per_day, per_hour, per_hour_on, hourly_profile, weekday_factors, surges, "
            "class_mix, "
            "first_stage, handover)"
        ],
    ),
    (
        "capacity in words",
        _edit(("{capacity: 6, area: ed}", "{capacity: six, area: ed}")),
        ["13:14: places.cubicles.capacity: expected a whole number or unlimited, got 'six'"],
    ),
    (
        "capacity over the limit",
        _edit(("{capacity: 6, area: ed}", "{capacity: 600000, area: ed}")),
        ["13:14: places.cubicles.capacity: must be at most 100,000, got 600000"],
    ),
    (
        "capacity with a fraction",
        _edit(("{capacity: 6, area: ed}", "{capacity: 6.5, area: ed}")),
        ["13:14: places.cubicles.capacity: expected a whole number or unlimited, got 6.5"],
    ),
    (
        "whole number in words",
        _edit(("replications: 3", "replications: three")),
        ["3:31: run.replications: expected a whole number, got 'three'"],
    ),
    (
        "number in words",
        _edit(("per_day: 120", "per_day: lots")),
        ["9:5: arrivals.walk_in.per_day: expected a number, got 'lots'"],
    ),
    (
        "number below zero",
        _edit(("urgent: {priority: 1}", "urgent: {priority: -1}")),
        ["5:12: classes.urgent.priority: must be at least 0, got -1"],
    ),
    (
        "probability over one",
        _edit(("next: {ward: 0.3, exit: 0.7}", "next: {ward: 1.3, exit: -0.3}")),
        [
            "23:12: stages.assess.next.ward: must be at most 1, got 1.3",
            "23:23: stages.assess.next.exit: must be at least 0, got -0.3",
        ],
    ),
    (
        "infinite number",
        _edit(("per_day: 120", "per_day: .inf")),
        ["9:5: arrivals.walk_in.per_day: expected a finite number, got inf"],
    ),
    (
        "number that must be above zero",
        _edit(
            (
                "    per_day: 120\n",
                "    per_day: 120\n    surges:\n"
                "      flu: {from: 2025-01-06, to: 2025-01-09, factor: 0}\n",
            )
        ),
        ["11:47: arrivals.walk_in.surges.flu.factor: must be above 0, got 0"],
    ),
    (
        "clock time past midnight",
        _edit(
            (
                "{capacity: 6, area: ed}",
                "{capacity: 6, area: ed, open_hours: {from: '25:00', to: '22:00'}}",
            )
        ),
        [
            "13:50: places.cubicles.open_hours.from: expected a clock time such as 08:00 or "
            "22:30, got '25:00'"
        ],
    ),
    (
        "yes or no in words",
        _edit(("    first_stage: assess", "    first_stage: assess\n    handover: sometimes")),
        ["12:5: arrivals.walk_in.handover: expected true or false, got 'sometimes'"],
    ),
    (
        "text given a list",
        _edit(("{capacity: 6, area: ed}", "{capacity: 6, area: ed, label: [a, b]}")),
        ["13:37: places.cubicles.label: expected text, got a list"],
    ),
    (
        "name with spaces",
        _edit(("name: tiny", "name: tiny plan")),
        [
            "1:1: name: a name may hold only letters, digits and _, and must not start with a "
            "digit; got 'tiny plan'"
        ],
    ),
    (
        "name too long",
        _edit(("name: tiny", "name: " + "t" * 70)),
        ["1:1: name: must be at most 64 characters long, got 70"],
    ),
    (
        "choice not offered",
        _edit(("{capacity: 6, area: ed}", "{capacity: 6, area: ED}")),
        [
            "13:27: places.cubicles.area: expected one of ed, sdec, assessment, ward, other; "
            "got 'ED'"
        ],
    ),
    (
        "weekday misspelt as a key",
        _edit(
            ("  doctor: {count: 2}", "  doctor:\n    per_hour: [2]\n    per_hour_on: {Monday: [2]}")
        ),
        [
            "17:5: staff.doctor.per_hour: needs exactly 24 values; got 1",
            "18:19: staff.doctor.per_hour_on.Monday: expected one of Mon, Tue, Wed, Thu, Fri, "
            "Sat, Sun; got 'Monday'",
        ],
    ),
    (
        "list too short",
        _edit(("    per_day: 120", "    per_day: 120\n    hourly_profile: [1, 2, 3]")),
        ["10:5: arrivals.walk_in.hourly_profile: needs exactly 24 values; got 3"],
    ),
    (
        "list given a number",
        _edit(("    per_day: 120", "    per_day: 120\n    hourly_profile: 1")),
        ["10:5: arrivals.walk_in.hourly_profile: expected a list, such as [1, 2, 3], got 1"],
    ),
    (
        "table left empty",
        _edit(("class_mix: {urgent: 0.3, routine: 0.7}", "class_mix: {}")),
        ["10:5: arrivals.walk_in.class_mix: needs at least 1 entry; got 0"],
    ),
    (
        "named entries given a list",
        _edit(("    per_day: 120", "    per_day: 120\n    surges: [flu]")),
        ["10:5: arrivals.walk_in.surges: expected named entries (name: value), got a list"],
    ),
    (
        "unknown distribution",
        _edit(("{dist: exponential, mean: 20min}", "{dist: exponentiel, mean: 20min}")),
        [
            "22:5: stages.assess.duration: unknown distribution 'exponentiel' (known: fixed, "
            "exponential, lognormal, gamma, erlang, triangular, uniform, empirical, normal, "
            "truncated_normal, weibull, loglogistic)"
        ],
    ),
    (
        "distribution without dist",
        _edit(("{dist: exponential, mean: 20min}", "{mean: 20min}")),
        [
            "22:5: stages.assess.duration: a distribution needs dist (one of fixed, "
            "exponential, lognormal, gamma, erlang, triangular, uniform, empirical, normal, "
            "truncated_normal, weibull, loglogistic); a fixed "
            "duration is written alone, such as 15min"
        ],
    ),
    (
        "duration given a list",
        _edit(("{dist: exponential, mean: 20min}", "[20min, 30min]")),
        [
            "22:5: stages.assess.duration: expected a duration such as 15min, or a "
            "distribution such as {dist: lognormal, mean: 5d, sd: 4d}, got a list"
        ],
    ),
    (
        "distribution parameter missing",
        _edit(("{dist: lognormal, mean: 1d, sd: 12h}", "{dist: lognormal, mean: 1d}")),
        ["26:5: stages.ward.duration.sd: required field is missing"],
    ),
    (
        "distribution parameter misspelt",
        _edit(("{dist: lognormal, mean: 1d, sd: 12h}", "{dist: lognormal, mean: 1d, sdev: 12h}")),
        [
            "26:5: stages.ward.duration.sd: required field is missing",
            "26:43: stages.ward.duration.sdev: unknown field; did you mean 'sd'? (a lognormal "
            "has: mean, sd, dist)",
        ],
    ),
    (
        "duration not a duration",
        _edit(("mean: 20min}", "mean: 20 minutes approx}")),
        [
            "22:35: stages.assess.duration.mean: expected a duration such as 45min, 4h, 7d or "
            "1d 6h (a bare number is minutes; at most 3,660 days), got '20 minutes approx'"
        ],
    ),
    (
        "date not a date",
        _edit(("start: 2025-01-06", "start: next monday")),
        ["2:1: start: expected a date such as 2025-01-06, got 'next monday'"],
    ),
    (
        "date as a number",
        _edit(("start: 2025-01-06", "start: 20250106")),
        ["2:1: start: expected a date such as 2025-01-06, got 20250106"],
    ),
    (
        "a check of flowsim's own",
        _edit(("  doctor: {count: 2}", "  doctor: {count: 2, per_hour_on: {}}\n  nurse: {}")),
        ["17:3: staff.nurse: give exactly one roster: 'count', 'per_hour' (24 counts) or 'shifts'"],
    ),
    (
        "misspelt stage in a table that does not sum to 1",
        _edit(("next: {ward: 0.3, exit: 0.7}", "next: {wrad: 0.3, exit: 0.8}")),
        [
            "23:5: stages.assess.next: next must sum to 1, but sums to 1.1",
            "23:12: stages.assess.next.wrad: unknown stage 'wrad' (known: assess, exit, ward)",
        ],
    ),
    (
        "misspelt names beside a schema error",
        _edit(
            ("first_stage: assess", "first_stage: asess"),
            ("    place: cubicles", "    place: cubicle"),
            ("class_mix: {urgent: 0.3, routine: 0.7}", "class_mix: {urgent: 0.3, rotine: 0.7}"),
            ("{capacity: 6, area: ed}", "{capacity: -6, area: ed}"),
        ),
        [  # in the order a reader meets them in the file
            "10:30: arrivals.walk_in.class_mix.rotine: unknown class 'rotine' (known: routine, "
            "urgent)",
            "11:5: arrivals.walk_in.first_stage: unknown stage 'asess' (known: assess, ward)",
            "13:14: places.cubicles.capacity: must be at least 0, got -6",
            "19:5: stages.assess.place: unknown place 'cubicle' (known: cubicles, ward)",
        ],
    ),
]


def _problems(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    prefix = f"{f}:"
    out = []
    for p in info.value.problems:
        shown = str(p)
        assert shown.startswith(prefix), shown
        out.append(shown[len(prefix) :])
    return out


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_each_mistake_has_its_plain_message_and_position(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert _problems(tmp_path, text) == expected


def test_no_pydantic_wording_in_the_corpus(tmp_path: Path) -> None:
    shown = [m for text in [c[1] for c in CORPUS] for m in _problems(tmp_path, text)]
    assert len(shown) > 30
    assert [s for s in shown if any(j in s for j in JARGON)] == []


@pytest.mark.slow  # reads every file of the malformed corpus, some built to be slow to refuse
def test_no_pydantic_wording_in_the_malformed_corpus() -> None:
    files = sorted((Path(__file__).parent / "malformed").rglob("*.yaml"))
    assert len(files) > 30
    shown: list[str] = []
    for f in files:
        try:
            load_scenario(f)
        except ScenarioError as e:  # a few files are the valid bases of overlays that are not
            shown += [str(p) for p in e.problems]
    assert len(shown) > 30
    assert [s for s in shown if any(j in s for j in JARGON)] == []


@pytest.mark.parametrize("kind", sorted(get_args(ErrorType)))
def test_every_pydantic_error_type_gets_a_plain_message(kind: str) -> None:
    # Even an error type no scenario field can trigger today is worded without pydantic's words,
    # with whatever context pydantic gives or none at all.
    err: dict[str, Any] = {
        "type": kind,
        "loc": ("places", "cubicles", "capacity"),
        "msg": "Input should be something pydantic says",
        "input": "x",
        "ctx": {},
    }
    if kind in ("value_error", "assertion_error"):
        err["msg"] = "Value error, flowsim's own words"
    for root in (Scenario, None):
        msg = plain_message(err, root)
        assert msg and not any(j in msg for j in JARGON), msg


def test_validate_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = [c[1] for c in CORPUS if c[0] == "misspelt names beside a schema error"][0]
    f = tmp_path / "several.yaml"
    f.write_text(text)
    assert cli.main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    for where in ("13:14: places", "10:30: arrivals", "11:5: arrivals", "19:5: stages"):
        assert f"{f}:{where}" in err
    assert "Traceback" not in err


MISSPELLINGS = [
    (  # no places at all: a stage's place is unknown, as the network checks say
        "places:\n  cubicles: {capacity: 6, area: ed}\n"
        "  ward: {capacity: 12, area: ward, queue: first_come}\n",
        "",
    ),
    ("first_stage: assess", "first_stage: asess"),
    ("class_mix: {urgent: 0.3, routine: 0.7}", "class_mix: {urgent: 0.3, rotine: 0.7}"),
    ("    place: cubicles", "    place: cubicle"),
    ("    staff: doctor", "    staff: doctors"),
    ("next: {ward: 0.3, exit: 0.7}", "next: {wards: 0.3, exit: 0.7}"),
    (
        "next: {ward: 0.3, exit: 0.7}",
        "next: {ward: 0.3, exit: 0.7}\n    next_by_class: {urgnt: {ward: 1.0}}",
    ),
    (
        "next: {ward: 0.3, exit: 0.7}",
        "next: {ward: 0.3, exit: 0.7}\n    next_by_class: {urgent: {wrd: 1.0}}",
    ),
    (
        "next: {ward: 0.3, exit: 0.7}",
        "next: {ward: 0.3, exit: 0.7}\n    duration_by_class: {routne: 5min}",
    ),
    ("next: {ward: 0.3, exit: 0.7}", "next: {ward: 0.3, exit: 0.7}\n    overflow: wardd"),
    (
        "next: {ward: 0.3, exit: 0.7}",
        "next: {ward: 0.3, exit: 0.7}\n    leave_without_being_seen: "
        "{classes: [routine, rutine], patience: 4h}",
    ),
]


@pytest.mark.parametrize(("old", "new"), MISSPELLINGS)
def test_names_read_from_the_file_are_checked_as_the_network_checks_them(
    old: str, new: str
) -> None:
    # name_problems_in_data stands in for network_problems while the schema fails, so it must
    # find the same misspelt names, with the same words, at the same paths.
    import yaml

    data = yaml.safe_load(_edit((old, new)))
    scenario = Scenario.model_validate(data)
    network = [(p, m) for p, m in network_problems(scenario) if m.startswith("unknown")]
    assert network, "the misspelling must be one the network checks find"
    assert list(name_problems_in_data(data)) == network


def test_the_example_in_the_docs_is_what_validate_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = (REPO / "docs" / "model.md").read_text()
    section = model.split("### When a file has mistakes", 1)[1]
    shown = section.split("```\n", 2)[1]
    (tmp_path / "plan.yaml").write_text(
        _edit(
            ("{capacity: 6, area: ed}", "{capacity: ten, aera: ed}"),
            ("next: {ward: 0.3, exit: 0.7}", "next: {wrad: 0.3, exit: 0.8}"),
        )
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["validate", "plan.yaml"]) == 2
    assert capsys.readouterr().err == shown


def test_a_stay_for_a_destination_that_is_not_a_route_is_found_while_the_schema_fails() -> None:
    # duration_by_next names destinations; a misspelt one is found by the network checks on a
    # valid file, and by name_problems_in_data, with the same words, when the schema fails too.
    import yaml

    text = _edit(
        (
            "next: {ward: 0.3, exit: 0.7}",
            "next: {ward: 0.3, exit: 0.7}\n    duration_by_next: {wrad: 2h, exit: 20min}",
        )
    )
    data = yaml.safe_load(text)
    scenario = Scenario.model_validate(data)
    network = [(p, m) for p, m in network_problems(scenario) if "duration_by_next" in p]
    assert network == [
        (
            ("stages", "assess", "duration_by_next", "wrad"),
            "'wrad' is not a route from this stage (routes: exit, ward)",
        )
    ]
    assert list(name_problems_in_data(data)) == network
    broken = yaml.safe_load(text.replace("{capacity: 6, area: ed}", "{capacity: -6, area: ed}"))
    assert list(name_problems_in_data(broken)) == network
