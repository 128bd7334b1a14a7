"""Search levers: the numbers of a scenario a search may change, and the errors for those it may
not."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsim import load_scenario
from flowsim.cli import main
from flowsim.search import LeverError, scenario_levers, with_lever
from flowsim.search.plan import plan_search

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def test_the_baseline_levers() -> None:
    s = load_scenario(BASELINE)
    levers = scenario_levers(s)
    assert levers["places.wards.capacity"] == 605
    assert levers["staff.ed_doctor.shifts.late.count"] == 3
    assert levers["arrivals.walk_in.per_day"] == 195
    assert levers["stages.discharge_with_support.delayed_discharge.share"] == 0.4
    # Not amounts: unlimited places, clock times, routing shares, run settings, durations.
    assert not any(k.startswith(("run.", "classes.")) for k in levers)
    assert not any(
        ".next" in k or "class_mix" in k or k.endswith((".start", ".end")) for k in levers
    )
    assert "places.waiting_room.capacity" not in levers
    assert not any(".duration" in k for k in levers)


def test_with_lever_changes_one_number_only() -> None:
    s = load_scenario(BASELINE)
    more = with_lever(s, "places.wards.capacity", 640)
    assert more.places["wards"].capacity == 640
    assert s.places["wards"].capacity == 605  # the original is frozen and unchanged
    assert more.model_copy(update={"places": s.places}) == s
    late = with_lever(s, "staff.ed_doctor.shifts.late.count", 5)
    assert late.staff["ed_doctor"].shifts["late"].count == 5
    assert late.staff["ed_doctor"].shifts["day"] == s.staff["ed_doctor"].shifts["day"]


def test_levers_refuse_what_a_file_would() -> None:
    s = load_scenario(BASELINE)
    with pytest.raises(LeverError, match="whole numbers"):
        with_lever(s, "places.wards.capacity", 600.5)
    with pytest.raises(LeverError, match="cannot be -1"):
        with_lever(s, "places.wards.capacity", -1)
    with pytest.raises(LeverError, match="cannot be 1.5"):
        with_lever(s, "stages.discharge_home.delayed_discharge.share", 1.5)
    with pytest.raises(
        LeverError, match=r"no number at 'places\.ward\.capacity'.*places\.wards\.capacity"
    ):
        with_lever(s, "places.ward.capacity", 600)
    with pytest.raises(LeverError, match="no number at 'places.waiting_room.capacity'"):
        with_lever(s, "places.waiting_room.capacity", 10)  # unlimited: not a number
    with pytest.raises(LeverError, match="places.wards.capacity: values '600:500'"):
        plan_search(s, ["places.wards.capacity"], ["600:500"])
    with pytest.raises(LeverError, match="cannot be -10"):
        plan_search(s, ["places.wards.capacity"], ["-10:600:10"])
    with pytest.raises(LeverError, match="two levers are the same"):
        plan_search(s, ["places.amu.capacity"] * 2, ["1:2", "1:2"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lever", "places.ward.capacity", "--values", "1:2"], "its levers are: "),
        (["--lever", "places.wards.capacity", "--values", "1:2:0"], "STEP above zero"),
        (
            [
                "--lever",
                "places.wards.capacity",
                "--lever",
                "places.amu.capacity",
                "--values",
                "1:2",
            ],
            "one --values for each --lever",
        ),
        (["--lever", "places.wards.capacity", "--values", "600:610", "--target", "x>=1"], None),
    ],
)
def test_command_line_errors_exit_2(
    options: list[str], message: str | None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = [] if "--target" in options else ["--target", "four_hour_pct>=76"]
    values = [] if "--values" in options else ["--values", "600:610"]
    code = main(["search", str(BASELINE), *options, *values, *target, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert (message or "no KPI called 'x'") in err
    assert not (tmp_path / "o").exists()
