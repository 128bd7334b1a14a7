"""``flowsim predict`` and ``flowsim study``: verdicts, outputs, and bad files named by line."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowsim import cli
from flowsim.pdsa.observed import ObservedError, ObservedWeeks, read_observed, spellings
from flowsim.pdsa.predict import FORMAT, VERSION, parse_prediction
from flowsim.pdsa.study import study_kpi
from flowsim.pdsa.weekly import measures_of, weekly_values

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pdsa"
CHANGE = dt.date(2025, 3, 3)
MONDAYS = tuple(dt.date(2024, 9, 2) + dt.timedelta(weeks=w) for w in range(38))


def _pred(
    kpi: str, better: int, base: float, change: float, unit: str = "minutes"
) -> dict[str, Any]:
    """A prediction entry made by hand: weekly values spread evenly about each level."""
    rows = [list(change + r - 1.5 + np.linspace(-2, 2, 8)) for r in range(4)]
    return {
        "kpi": kpi,
        "label": "Time in the ED, mean",
        "unit": unit,
        "better_direction": better,
        "chart": "xmr",
        "baseline": {"mean": base},
        "change": {"mean": change, "p2_5": change - 2, "p97_5": change + 2},
        "effect": {"mean": change - base},
        "weeks_needed": 3,
        "weekly": {"change": rows},
    }


def _series(before: list[float], after: list[float]) -> ObservedWeeks:
    values = np.array(before + after, dtype=float)
    return ObservedWeeks("time_in_department_mean", MONDAYS[: len(values)], values, None)


# 26 weeks about 200 minutes that never make a run of 7, a trend, or a point near a limit.
STABLE = [200.0 + (1.0 if i % 2 else -1.0) * (1 + (i % 3)) for i in range(26)]


def test_a_fall_in_a_lower_is_better_measure_is_an_improvement_at_the_right_week() -> None:
    # Limits from STABLE: mean about 200, mean moving range 4 -> 200 +/- 10.6. After the change
    # every week is 195: inside the limits, below the centre: a shift shows at week 7.
    s = study_kpi(
        _series(STABLE, [195.0] * 10), _pred("time_in_department_mean", -1, 200, 195), CHANGE
    )
    assert s.first_signal == (7, "shift", -1)
    assert s.verdict.startswith(
        "Time in the ED, mean: improvement signal (shift) from week 7 after the change; "
        "observed mean 195 min against a predicted 194 min–196 min: consistent with the model"
    )
    assert not s.hits["shift"][:32].any()  # not before


def test_a_rise_in_a_lower_is_better_measure_is_a_concern() -> None:
    s = study_kpi(
        _series(STABLE, [230.0] * 3), _pred("time_in_department_mean", -1, 200, 195), CHANGE
    )
    assert s.first_signal == (1, "outside", 1)
    assert "concern signal (a point outside the limits) from week 1" in s.verdict
    assert "opposite of what the model predicted" in s.verdict


def test_larger_than_predicted_and_not_yet() -> None:
    big = study_kpi(
        _series(STABLE, [185.0] * 4), _pred("time_in_department_mean", -1, 200, 195), CHANGE
    )
    assert "larger than predicted: the model may underestimate the change" in big.verdict
    early = study_kpi(
        _series(STABLE, [199.0]), _pred("time_in_department_mean", -1, 200, 195), CHANGE
    )
    assert "no signal yet; about 2 more weeks needed to see the predicted effect" in early.verdict


def test_re_phased_limits_after_the_change_come_from_the_weeks_after_it() -> None:
    after = [190.0, 194.0, 192.0, 196.0]  # mean 193, moving ranges 4, 2, 4
    s = study_kpi(
        _series(STABLE, after), _pred("time_in_department_mean", -1, 200, 195), CHANGE, rephase=True
    )
    assert s.limits.centre[-1] == pytest.approx(193.0)
    assert s.limits.upper[-1] == pytest.approx(193.0 + 2.66 * 10 / 3)
    assert s.limits.centre[0] == pytest.approx(np.mean(STABLE))


KNOWN = spellings([("four_hour_pct", "Within 4 hours"), ("time_in_department_mean", "Time")])
UNITS = {"four_hour_pct": "%", "time_in_department_mean": "minutes"}


def test_observed_file_is_read_by_name_or_label() -> None:
    text = (
        "week_start,kpi,value,denominator\n"
        "2025-01-13,Within 4 hours,70.5,2000\n"
        "2025-01-06,four_hour_pct,71,2100\n"
        "2025-01-06,time_in_department_mean,200,\n"
    )
    got = read_observed(text, "w.csv", KNOWN, UNITS)
    four = got["four_hour_pct"]
    assert four.weeks == (dt.date(2025, 1, 6), dt.date(2025, 1, 13))
    assert list(four.values) == [71.0, 70.5] and list(
        four.denominators if four.denominators is not None else []
    ) == [2100, 2000]
    assert got["time_in_department_mean"].denominators is None


H = "week_start,kpi,value\n"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("week_start,kpi\n", "w.csv:1: header: missing column(s) value"),
        ("week_start,kpi,value,colour\n", "unknown column(s) 'colour'"),
        (H + "2025-01-06,four_hour_pct,71\n2025-13-06,four_hour_pct,7\n",
         "w.csv:3: week_start: '2025-13-06' is not a date"),
        (H + "2025-01-06,four_hours,71\n", "w.csv:2: kpi: 'four_hours' is not a measure"),
        (H + "2025-01-06,four_hour_pct,abc\n", "w.csv:2: value: 'abc' is not a number"),
        (H + "2025-01-06,four_hour_pct,171\n",
         "w.csv:2: value: 171 cannot be below 0 or above 100"),
        ("week_start,kpi,value,denominator\n2025-01-06,four_hour_pct,71,-3\n",
         "w.csv:2: denominator: '-3' is not a whole number above 0"),
        (H + "2025-01-06,four_hour_pct,71\n\n2025-01-06,four_hour_pct,72\n",
         "w.csv:4: week_start: four_hour_pct for the week of 2025-01-06 is given again "
         "(first on line 2)"),
        (H + "2025-01-06,four_hour_pct\n", "w.csv:2: row: 2 fields, expected 3"),
        ("", "the file is empty"),
    ],
)  # fmt: skip
def test_bad_observed_files_are_named_by_line_and_field(text: str, said: str) -> None:
    with pytest.raises(ObservedError) as e:
        read_observed(text, "w.csv", KNOWN, UNITS)
    assert said in str(e.value)


def test_bad_prediction_files() -> None:
    from flowsim.pdsa.predict import PredictionError

    with pytest.raises(PredictionError, match="p.json:1:2: not valid JSON"):
        parse_prediction("{x", "p.json")
    with pytest.raises(PredictionError, match="not a flowsim prediction"):
        parse_prediction('{"format": "other"}', "p.json")
    with pytest.raises(PredictionError, match="version 99"):
        parse_prediction(json.dumps({"format": FORMAT, "version": 99}), "p.json")


@pytest.mark.slow  # the page inlines Vega: seconds
def test_study_of_the_example_writes_page_and_points(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "study"
    args = [
        "study",
        str(EXAMPLE / "prediction.json"),
        "--observed",
        str(EXAMPLE / "observed_weeks.csv"),
    ]
    assert cli.main([*args, "--change-date", "2025-03-03", "--out", str(out), "--no-png"]) == 0
    assert {p.name for p in out.iterdir()} == {"study.html", "points.csv"}
    page = (out / "study.html").read_text()
    assert "<script src" not in page and "Four-hour" not in page.split("<body>")[0]
    with (out / "points.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 38 * 6
    assert {r["chart"] for r in rows if r["kpi"] == "four_hour_pct"} == {"p"}
    assert {r["phase"] for r in rows[:26]} == {"before"}
    printed = capsys.readouterr().out
    assert printed.count("\n") == 7 and "Within 4 hours:" in printed


def test_study_refuses_a_bad_file_and_the_log_option(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "weeks.csv"
    bad.write_text("week_start,kpi,value\n2024-09-02,four_hour_pct,seventy\n")
    out = tmp_path / "study"
    pred = str(EXAMPLE / "prediction.json")
    code = cli.main(
        ["study", pred, "--observed", str(bad), "--change-date", "2025-03-03", "--out", str(out)]
    )
    assert code == 2 and not out.exists()
    assert f"{bad}:2: value: 'seventy' is not a number" in capsys.readouterr().err
    code = cli.main(["study", pred, "--log", str(bad), "--change-date", "2025-03-03"])
    assert code == 2 and "missing required columns" in capsys.readouterr().err


def test_weekly_values_add_up_to_the_whole_run(tiny_file: Path) -> None:
    # Attendances counted week by week sum to the run's; each week is measured as a whole run is.
    from flowsim.engine import simulate
    from flowsim.kpis import compute_kpis
    from flowsim.loader import load_scenario
    from flowsim.scenario import with_run_length

    s = with_run_length(load_scenario(tiny_file), 14, 1)
    rec = simulate(s, 0, 3)
    weeks = weekly_values(rec, 2)
    assert weeks["attendances"].sum() == compute_kpis(rec)["attendances"]
    assert measures_of(s) == [m for m in weeks if m not in ("attendances", "handovers")]


@pytest.mark.slow
def test_predict_records_scenarios_and_a_single_weeks_distribution(
    tiny_file: Path, tiny_change_file: Path, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "prediction.json"
    args = ["predict", str(tiny_file), str(tiny_change_file), "--weeks", "2", "-r", "3"]
    assert (
        cli.main([*args, "--warmup-days", "1", "--from", "2025-01-06", "-q", "--out", str(out)])
        == 0
    )
    data = parse_prediction(out.read_text(), "p")
    assert data["version"] == VERSION and data["from"] == "2025-01-06" and data["seed"] == 7
    assert data["scenarios"]["change"]["name"] == "more_beds"
    assert len(data["scenarios"]["baseline"]["hash"]) == 16
    assert data["scenarios"]["baseline"]["yaml"].count("start: '2025-01-05'") == 1
    four = next(k for k in data["kpis"] if k["kpi"] == "four_hour_pct")
    assert four["chart"] == "p" and np.array(four["weekly"]["baseline"]).shape == (3, 2)
    b = four["baseline"]
    assert b["p2_5"] <= b["p10"] <= b["p50"] <= b["p90"] <= b["p97_5"]
    assert "Within 4 hours: predicted effect" in capsys.readouterr().out
    # Same inputs, same file.
    again = tmp_path / "again.json"
    assert (
        cli.main(
            [
                *args,
                "--warmup-days",
                "1",
                "--from",
                "2025-01-06",
                "-q",
                "-j",
                "2",
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert again.read_text() == out.read_text()


def test_a_change_date_before_every_week_is_refused(tmp_path: Path, capsys: Any) -> None:
    pred = str(EXAMPLE / "prediction.json")
    weeks = str(EXAMPLE / "observed_weeks.csv")
    out = tmp_path / "study"
    code = cli.main(
        ["study", pred, "--observed", weeks, "--change-date", "2024-01-01", "-o", str(out)]
    )
    assert code == 2 and not out.exists()
    assert "0 week(s) before the change date 2024-01-01" in capsys.readouterr().err


@pytest.mark.slow  # the example's own run: about 16 seconds on two cores
def test_the_shipped_example_is_what_its_commands_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(EXAMPLE.parent.parent)
    pred = tmp_path / "prediction.json"
    command = "predict scenarios/baseline.yaml scenarios/changes/extra_evening_doctor.yaml"
    args = [*command.split(), "--weeks", "8", "--replications", "6", "--from", "2025-03-03"]
    assert cli.main([*args, "--jobs", "2", "-q", "--out", str(pred)]) == 0
    assert pred.read_text() == (EXAMPLE / "prediction.json").read_text()
    out = tmp_path / "study"
    study = ["study", str(pred), "--observed", str(EXAMPLE / "observed_weeks.csv")]
    assert cli.main([*study, "--change-date", "2025-03-03", "--out", str(out), "--no-png"]) == 0
    shipped = EXAMPLE / "study" / "points.csv"
    assert (out / "points.csv").read_text() == shipped.read_text()


def test_a_signal_where_no_change_was_predicted_is_worth_studying() -> None:
    s = study_kpi(_series(STABLE, [230.0]), _pred("time_in_department_mean", -1, 200, 200), CHANGE)
    assert s.verdict.startswith("Time in the ED, mean: concern signal (a point outside the limits)")
    assert "where the model predicted no change" in s.verdict and "worth studying why" in s.verdict


def test_anchor_observed_moves_the_band_by_the_gap_between_baselines() -> None:
    # The model's baseline mean is 210, the observed weeks' centre about 200: the band moves
    # down by that gap, from 193..197 (change 195 +/- 2) to 10 lower, less the centre's offset.
    pred = _pred("time_in_department_mean", -1, 210, 195)
    obs = _series(STABLE, [195.0] * 3)
    model = study_kpi(obs, pred, CHANGE)
    moved = study_kpi(obs, pred, CHANGE, anchor="observed")
    gap = float(np.mean(STABLE)) - 210
    assert model.band == pytest.approx((193.0, 195.0, 197.0))
    assert moved.band == pytest.approx((193.0 + gap, 195.0 + gap, 197.0 + gap))


def test_a_proportion_with_denominators_gets_a_p_chart() -> None:
    pred = _pred("four_hour_pct", 1, 72, 74, unit="%") | {"chart": "p", "label": "Within 4 hours"}
    values = np.array([72.0, 71.0, 73.0, 72.0, 75.0])
    dens = np.array([2000, 1000, 2000, 1000, 500.0])
    obs = ObservedWeeks("four_hour_pct", MONDAYS[21:26], values, dens)
    s = study_kpi(obs, pred, MONDAYS[25])
    p = (1440 + 710 + 1460 + 720) / 6000
    assert s.chart == "p"
    assert s.limits.centre[0] == pytest.approx(100 * p)
    assert s.limits.upper[4] == pytest.approx(100 * (p + 3 * np.sqrt(p * (1 - p) / 500)))
    without = study_kpi(ObservedWeeks("four_hour_pct", obs.weeks, values, None), pred, MONDAYS[25])
    assert without.chart == "xmr" and "XmR chart is drawn instead" in without.note
