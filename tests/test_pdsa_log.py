"""``flowsim study --log``: weekly figures counted from an event log, checked against a small log
counted by hand (including the week of the October 2025 clock change: BST ends at 01:00 UTC on
Sunday 26 October, so that week lasts 169 hours), against the weekly-file route on a slice of
the example log, and for bad logs and measures a log cannot give."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowsim import cli
from flowsim.calibration.eventlog import read_event_log
from flowsim.pdsa.from_log import log_weeks, observed_csv, read_log_weeks, week_starts
from flowsim.pdsa.observed import read_observed, spellings
from flowsim.pdsa.report import points_csv
from flowsim.pdsa.study import study

ROOT = Path(__file__).resolve().parent.parent
PREDICTION = ROOT / "examples" / "pdsa" / "prediction.json"
EVENTLOG = ROOT / "examples" / "eventlog"
KPIS = [k["kpi"] for k in json.loads(PREDICTION.read_text())["kpis"]]

HEADER = (
    "attendance_id,arrival,mode,acuity,first_seen,decision_to_admit,departure,disposal,admitted_to"
)
# Weeks begin on Mondays 13, 20 and 27 October 2025 (local dates). Minutes in the department are
# worked by hand from the UK clock rules and written after each row.
ROWS = [
    # Thursday 9 October: the log begins more than 72 hours before the first week.
    "A0,2025-10-09 12:00,walk_in,3,,,2025-10-09 13:00,discharged,",
    "A1,2025-10-13 08:00,walk_in,3,,,2025-10-13 11:00,discharged,",  # week 1: 180
    "A2,2025-10-14 10:00,ambulance,2,,2025-10-14 14:00,2025-10-14 15:00,admitted,W1",  # 1: 300
    "A3,2025-10-19 22:00,walk_in,3,,,2025-10-20 01:00,discharged,",  # leaves in week 2: 180
    "A4,2025-10-15 09:00,walk_in,5,,,2025-10-15 09:30,left_before_treatment,",  # week 1: 30
    # 00:30 BST to 01:30 read as BST (the first 01:30): 60 minutes.
    "A5,2025-10-26 00:30,walk_in,4,,,2025-10-26 01:30,discharged,",
    # 01:50 read as BST; 01:10 as BST would come before it, so it is the second 01:10 (GMT): 20.
    "A6,2025-10-26 01:50,walk_in,4,,,2025-10-26 01:10,discharged,",
    # Decision to admit 12:00, left 02:00 next day: 14 hours, a trolley wait; 1,080 minutes in all.
    "A7,2025-10-21 08:00,ambulance,2,,2025-10-21 12:00,2025-10-22 02:00,admitted,W1",
    # 00:00 BST to 04:00 GMT: four hours on the clock, 300 minutes in fact.
    "A8,2025-10-26 00:00,ambulance,3,,,2025-10-26 04:00,discharged,",
    "A9,2025-11-02 20:00,walk_in,3,,,2025-11-02 23:00,discharged,",  # week 3: 180
    "A10,2025-10-29 10:00,walk_in,3,,,2025-10-29 14:00,discharged,",  # week 3: 240, within 4 h
    "A11,2025-11-02 23:00,walk_in,3,,,2025-11-03 01:00,discharged,",  # leaves after the log
]
WEEKS = (dt.date(2025, 10, 13), dt.date(2025, 10, 20), dt.date(2025, 10, 27))

SPELL_HEADER = "spell_id,attendance_id,unit,area,admitted,discharged,medically_fit,destination"
# Short assessment-unit and ward stays far from the three weeks keep the 95th percentile stay
# (the margin left at each end of the spells) at an hour.
FILLER = [
    f"F{i},,W1,ward,2025-{m}-0{1 + i % 9} 10:00,2025-{m}-0{1 + i % 9} 11:00,,home"
    for i, m in ((i, "09" if i < 20 else "12") for i in range(40))
]
SPELLS = [
    *FILLER,
    # The whole of week 2 on the ward, 00:00 BST on the 20th to 00:00 GMT on the 27th: 169 hours.
    "S1,A2,W1,ward,2025-10-20 00:00,2025-10-27 00:00,,home",
    "S2,,W1,ward,2025-10-29 00:00,2025-10-29 12:00,,home",  # week 3: 12 hours
    "S3,A7,AMU,assessment,2025-10-22 02:00,2025-10-23 02:00,,W1",  # not a ward
]
# Two beds, four on 1-2 November: week 3 has 2 x 120 + 4 x 48 = 432 bed hours.
CAPACITY = ["unit,beds,from,to", "W1,2,,", "AMU,10,,", "W1,4,2025-11-01,2025-11-02"]


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def _hand_log(tmp_path: Path, header: str = HEADER, rows: list[str] = ROWS) -> Path:
    return _write(tmp_path, "att.csv", [header, *rows])


def test_weeks_begin_on_the_change_dates_weekday_and_are_whole() -> None:
    starts = week_starts(
        dt.date(2025, 10, 12), dt.date(2025, 11, 2), dt.date(2025, 10, 20).weekday()
    )
    assert starts == list(WEEKS)
    assert week_starts(dt.date(2025, 10, 13), dt.date(2025, 10, 18), 0) == []


def test_weekly_figures_equal_the_hand_counted_ones(tmp_path: Path) -> None:
    log = read_event_log(_hand_log(tmp_path))
    got = log_weeks(log, KPIS, 0, "Europe/London").observed
    four = got["four_hour_pct"]
    assert four.weeks == WEEKS
    np.testing.assert_allclose(four.values, [200 / 3, 60.0, 100.0])
    assert four.denominators is not None
    np.testing.assert_array_equal(four.denominators, [3, 5, 2])
    np.testing.assert_allclose(got["time_in_department_mean"].values, [510 / 3, 1640 / 5, 210.0])
    assert got["time_in_department_mean"].denominators is None
    np.testing.assert_allclose(got["left_without_being_seen_pct"].values, [100 / 3, 0.0, 0.0])
    np.testing.assert_array_equal(got["dta_over_12h_count"].values, [0, 1, 0])


def test_ward_occupancy_takes_the_real_length_of_the_clock_change_week(tmp_path: Path) -> None:
    log = read_event_log(
        _hand_log(tmp_path),
        _write(tmp_path, "spells.csv", [SPELL_HEADER, *SPELLS]),
        _write(tmp_path, "beds.csv", CAPACITY),
    )
    weeks = log_weeks(log, ["occupancy_mean_pct.wards"], 0, "Europe/London")
    occ = weeks.observed["occupancy_mean_pct.wards"]
    assert occ.weeks == WEEKS and occ.denominators is None
    # 169 patient hours over 2 beds x 169 hours; 168 hours would give 50.3%.
    np.testing.assert_allclose(occ.values, [0.0, 50.0, 100 * 12 / 432])


def test_measures_the_log_cannot_give_are_left_out_with_a_note(tmp_path: Path) -> None:
    no_dta = HEADER.replace("decision_to_admit,", "")
    rows = [",".join(r.split(",")[:5] + r.split(",")[6:]) for r in ROWS]
    log = read_event_log(_hand_log(tmp_path, no_dta, rows))
    weeks = log_weeks(log, KPIS, 0, "Europe/London")
    assert set(weeks.observed) == {
        "four_hour_pct",
        "time_in_department_mean",
        "left_without_being_seen_pct",
    }
    said = "\n".join(weeks.notes)
    assert "handover_over_60_pct: left out: the event log has no ambulance handover" in said
    assert "dta_over_12h_count: left out: the attendances have no decision_to_admit" in said
    assert "occupancy_mean_pct.wards: left out: occupancy needs the spells file" in said


@pytest.mark.slow  # the page inlines Vega: seconds
def test_study_log_notes_missing_measures_on_the_page_and_stderr(
    tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "study"
    args = ["study", str(PREDICTION), "--log", str(_hand_log(tmp_path)), "--no-png"]
    assert cli.main([*args, "--change-date", "2025-10-27", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "handover_over_60_pct: left out" in err and "occupancy_mean_pct.wards: left out" in err
    page = (out / "study.html").read_text()
    assert "Not counted" in page and "handover_over_60_pct: left out" in page


def _slice(tmp_path: Path, days: int) -> Path:
    """The example log's first ``days`` days of arrivals (the file is in arrival order)."""
    end = (dt.date(2025, 1, 6) + dt.timedelta(days=days)).isoformat()
    with gzip.open(EVENTLOG / "attendances.csv.gz", "rt") as f:
        lines = [next(f)]
        for line in f:
            if line.split(",", 2)[1] >= end:
                break
            lines.append(line)
    p = tmp_path / "slice.csv"
    p.write_text("".join(lines))
    return p


def test_the_weekly_file_made_from_a_log_reads_back_to_the_same_points(tmp_path: Path) -> None:
    prediction = json.loads(PREDICTION.read_text())
    change = dt.date(2025, 1, 27)
    weeks = read_log_weeks(_slice(tmp_path, 42), KPIS, change)
    assert [len(o.weeks) for o in weeks.observed.values()] == [5, 5, 5, 5]
    known = spellings((k["kpi"], k["label"]) for k in prediction["kpis"])
    units = {k["kpi"]: k["unit"] for k in prediction["kpis"]}
    again = read_observed(observed_csv(weeks.observed), "weekly.csv", known, units)
    by_log = points_csv(study(weeks.observed, prediction, change))
    assert by_log == points_csv(study(again, prediction, change))
    assert by_log.count("four_hour_pct,") == 5


@pytest.mark.slow  # the page inlines Vega: seconds
def test_log_gives_the_same_points_as_the_weekly_file_made_from_it(
    tmp_path: Path, capsys: Any
) -> None:
    log = _slice(tmp_path, 42)
    change = dt.date(2025, 1, 27)
    weeks = read_log_weeks(log, KPIS, change)
    weekly = tmp_path / "weekly.csv"
    weekly.write_text(observed_csv(weeks.observed))
    common = ["--change-date", change.isoformat(), "--no-png"]
    by_log, by_file = tmp_path / "by_log", tmp_path / "by_file"
    assert cli.main(["study", str(PREDICTION), "--log", str(log), *common, "-o", str(by_log)]) == 0
    assert (
        cli.main(["study", str(PREDICTION), "--observed", str(weekly), *common, "-o", str(by_file)])
        == 0
    )
    capsys.readouterr()
    assert (by_log / "observed_weeks.csv").read_text() == weekly.read_text()
    points = (by_log / "points.csv").read_text()
    assert points == (by_file / "points.csv").read_text()
    assert points.count("four_hour_pct,") == 5


def test_a_bad_log_exits_2_with_line_numbers_and_writes_nothing(
    tmp_path: Path, capsys: Any
) -> None:
    rows = [*ROWS, "A12,2025-10-30 25:00,walk_in,3,,,2025-10-30 12:00,discharged,"]
    rows.append("A13,2025-10-30 10:00,bicycle,3,,,2025-10-30 12:00,discharged,")
    out = tmp_path / "study"
    args = ["study", str(PREDICTION), "--log", str(_hand_log(tmp_path, rows=rows))]
    assert cli.main([*args, "--change-date", "2025-10-27", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "att.csv: column mode: unknown codes 'bicycle' (1; line 15)" in err
    assert "column arrival: 1 timestamps cannot be read (line 14;" in err
    assert not out.exists()


def test_log_options_need_log_and_a_log_needs_a_whole_week(tmp_path: Path, capsys: Any) -> None:
    weekly = _write(tmp_path, "w.csv", ["week_start,kpi,value"])
    code = cli.main(
        ["study", str(PREDICTION), "--observed", str(weekly), "--spells", str(weekly),
         "--change-date", "2025-10-27"]
    )  # fmt: skip
    assert code == 2 and "--spells can only be given with --log" in capsys.readouterr().err
    short = _hand_log(tmp_path, rows=ROWS[:3])
    code = cli.main(["study", str(PREDICTION), "--log", str(short), "--change-date", "2025-10-27"])
    assert code == 2 and "2025-10-09 to 2025-10-14: not one whole week beginning on a Monday" in (
        capsys.readouterr().err
    )


def test_a_week_beginning_too_soon_after_the_log_begins_is_left_out(tmp_path: Path) -> None:
    # Without A0 the log begins on Monday 13 October: someone leaving that week may have
    # arrived before the log, so the first week is that of the 20th.
    log = read_event_log(_hand_log(tmp_path, rows=ROWS[1:]))
    weeks = log_weeks(log, ["four_hour_pct"], 0, "Europe/London")
    assert weeks.observed["four_hour_pct"].weeks == WEEKS[1:]
    assert "the week of 2025-10-13 is left out: it begins within 72 hours" in weeks.notes[0]


@pytest.mark.parametrize("missing", ["--spells", "--capacity"])
def test_occupancy_without_spells_or_beds_is_noted(tmp_path: Path, missing: str) -> None:
    spells = _write(tmp_path, "spells.csv", [SPELL_HEADER, *SPELLS])
    beds = _write(tmp_path, "beds.csv", CAPACITY)
    log = read_event_log(
        _hand_log(tmp_path),
        None if missing == "--spells" else spells,
        None if missing == "--capacity" else beds,
    )
    weeks = log_weeks(log, ["occupancy_mean_pct.wards"], 0, "Europe/London")
    assert not weeks.observed and weeks.notes[0].startswith("occupancy_mean_pct.wards: left out")


def test_uploaded_logs_are_counted_and_no_file_is_left(tmp_path: Path) -> None:
    import tempfile

    from flowsim.webapp.pages import study as page

    def left() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob(f"{page.TEMP_PREFIX}*"))

    before = left()
    raw = _hand_log(tmp_path).read_bytes()
    weeks = page.weeks_from_uploads({"attendances": ("our-ed.csv", raw)}, KPIS, WEEKS[2])
    np.testing.assert_allclose(weeks.observed["four_hour_pct"].values, [200 / 3, 60.0, 100.0])
    assert weeks.summary[0].startswith("our-ed.csv: 12 attendances")
    assert left() == before


def test_a_bad_uploaded_log_is_named_as_uploaded_not_by_its_server_path(tmp_path: Path) -> None:
    from flowsim.calibration.eventlog import EventLogError
    from flowsim.webapp.pages import study as page

    bad = _hand_log(tmp_path, rows=[*ROWS, "A12,2025-10-30,walk_in,3,,,soon,discharged,"])
    with pytest.raises(EventLogError) as e:
        page.weeks_from_uploads({"attendances": ("our-ed.csv", bad.read_bytes())}, KPIS, WEEKS[2])
    msg = str(e.value)
    assert msg.startswith("our-ed.csv: column departure: 1 timestamps cannot be read (line 14;")
    assert page.TEMP_PREFIX not in msg and "/tmp" not in msg


@pytest.mark.slow  # Streamlit's AppTest runs the whole page: seconds
def test_the_study_page_counts_an_uploaded_log(tmp_path: Path) -> None:
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        from flowsim.webapp.navigation import guarded
        from flowsim.webapp.pages.study import page

        guarded(page)()

    at = AppTest.from_function(script, default_timeout=120).run()
    at.radio(key="pdsa_source").set_value("A prediction file").run()
    at.file_uploader(key="pdsa_prediction_file").set_value(
        ("prediction.json", PREDICTION.read_bytes(), "application/json")
    ).run()
    at.radio(key="pdsa_observed_source").set_value("An event log").run()
    at.date_input(key="pdsa_change_date").set_value(WEEKS[2]).run()
    at.file_uploader(key="pdsa_log_attendances").set_value(
        ("our-ed.csv", _hand_log(tmp_path).read_bytes(), "text/csv")
    ).run()
    assert not at.exception and not at.error
    assert any("handover_over_60_pct: left out" in w.value for w in at.warning)
    assert [s.value for s in at.subheader] == [
        "Within 4 hours",
        "Time in the ED, mean",
        "Trolley waits (over 12 h from decision to admit)",
        "Left without being seen",
    ]


def test_dropped_rows_are_summarised_and_change_no_week(tmp_path: Path) -> None:
    # Twenty attendances on 4 November fall in a week the log does not cover whole.
    later = [f"L{i},2025-11-04 10:00,walk_in,3,,,2025-11-04 11:00,discharged," for i in range(20)]
    log = read_event_log(_hand_log(tmp_path, rows=[*ROWS, *later, ROWS[0]]))
    weeks = log_weeks(log, ["four_hour_pct"], 0, "Europe/London")
    np.testing.assert_allclose(weeks.observed["four_hour_pct"].values, [200 / 3, 60.0, 100.0])
    assert weeks.observed["four_hour_pct"].weeks == WEEKS
    said = "\n".join(weeks.summary)
    assert "1 duplicate attendance_id rows (the first of each was kept) (line 34)" in said
    assert "1 as the second" in said  # A6's departure, read in October's second 01:00-01:59


def test_a_week_nobody_left_in_is_left_out_with_a_note(tmp_path: Path) -> None:
    rows = [r for r in ROWS if not r.startswith(("A9,", "A10,"))]
    log = read_event_log(_hand_log(tmp_path, rows=rows))
    weeks = log_weeks(log, ["four_hour_pct"], 0, "Europe/London")
    assert weeks.observed["four_hour_pct"].weeks == WEEKS[:2]
    assert weeks.notes == [
        "1 week(s) with nobody leaving the ED are left out (first the week of 2025-10-27)"
    ]
