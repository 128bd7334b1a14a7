"""Reading event logs: bad logs give clear messages with line numbers and counts, droppable rows
are dropped and counted, mappings rename columns and codes, and the clock changes are read as
docs/event-log.md says (worked by hand from the UK rules: BST is UTC+1 from 01:00 UTC on the last
Sunday of March to 01:00 UTC on the last Sunday of October)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flowsim import cli
from flowsim.calibration.eventlog import EventLogError, read_event_log, read_map

HEADER = (
    "attendance_id,arrival,mode,acuity,first_seen,decision_to_admit,departure,disposal,admitted_to"
)
GOOD = [
    "A1,2025-05-01 10:00,ambulance,2,2025-05-01 10:20,,2025-05-01 13:00,discharged,",
    "A2,2025-05-01 11:00,walk_in,4,2025-05-01 11:30,,2025-05-01 12:00,discharged,",
]


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "att.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


def _good(n: int) -> list[str]:
    return [
        f"G{i},2025-05-02 10:00,walk_in,3,2025-05-02 10:10,,2025-05-02 11:00,discharged,"
        for i in range(n)
    ]


def _minutes(log_table: pd.DataFrame, row: int, later: str, earlier: str) -> float:
    r = log_table.iloc[row]
    return float((r[later] - r[earlier]) / pd.Timedelta(minutes=1))


def test_a_missing_required_column_is_named_with_the_columns_found(tmp_path: Path) -> None:
    p = _csv(
        tmp_path, ["A1,2025-05-01 10:00,walk_in,3"], header="attendance_id,arrival,mode,acuity"
    )
    with pytest.raises(EventLogError) as e:
        read_event_log(p)
    msg = str(e.value)
    assert "att.csv" in msg and "departure, disposal" in msg and "found: attendance_id" in msg


def test_unreadable_timestamps_are_listed_by_line(tmp_path: Path) -> None:
    rows = [*GOOD, "A3,yesterday,walk_in,3,,,2025-05-01 12:00,discharged,", *_good(3)]
    rows.append("A4,2025-13-45 10:00,walk_in,3,,,2025-05-01 12:00,discharged,")
    with pytest.raises(EventLogError) as e:
        read_event_log(_csv(tmp_path, rows))
    msg = str(e.value)
    assert "column arrival: 2 timestamps cannot be read (lines 4, 8;" in msg
    assert "'yesterday'" in msg


def test_unknown_codes_are_counted_with_their_lines(tmp_path: Path) -> None:
    rows = [
        *GOOD,
        "A3,2025-05-01 10:00,helicopter,2,,,2025-05-01 13:00,discharged,",
        "A4,2025-05-01 10:00,helicopter,2,,,2025-05-01 13:00,discharged,",
        "A5,2025-05-01 10:00,walk_in,2,,,2025-05-01 13:00,home,",
    ]
    with pytest.raises(EventLogError) as e:
        read_event_log(_csv(tmp_path, rows))
    msg = str(e.value)
    assert "column mode: unknown codes 'helicopter' (2; lines 4, 5)" in msg
    assert "column disposal: unknown codes 'home' (1; line 6)" in msg


def test_rows_that_can_be_dropped_are_dropped_and_counted_by_reason(tmp_path: Path) -> None:
    rows = [
        *GOOD,
        "A1,2025-05-01 10:00,ambulance,2,,,2025-05-01 13:00,discharged,",  # duplicate id
        "A3,2025-05-01 10:00,walk_in,2,,,2025-05-01 09:00,discharged,",  # departs before arrival
        "A4,2025-05-01 10:00,walk_in,2,,,2025-05-05 10:00,discharged,",  # 96 hours
        "A5,2025-05-01 10:00,walk_in,2,,,,discharged,",  # no departure
        *_good(80),
    ]
    log = read_event_log(_csv(tmp_path, rows))
    reasons = {d.reason.split(" (")[0]: (d.count, d.lines) for d in log.dropped}
    assert reasons["duplicate attendance_id rows"] == (1, (4,))
    assert reasons["departures before arrivals"] == (1, (5,))
    assert reasons["times in the department over 72 hours"] == (1, (6,))
    assert reasons["rows without an arrival or departure time"] == (1, (7,))
    assert len(log.attendances) == 82


def test_too_many_dropped_rows_is_an_error_not_a_summary(tmp_path: Path) -> None:
    bad = [f"B{i},2025-05-01 10:00,walk_in,2,,,2025-05-01 09:00,discharged," for i in range(6)]
    with pytest.raises(EventLogError) as e:
        read_event_log(_csv(tmp_path, [*GOOD, *bad, *_good(92)]))
    assert "6 of 100 rows would be dropped" in str(e.value)


def test_october_repeated_hour(tmp_path: Path) -> None:
    rows = [
        # 01:50 first time (00:50 UTC), leaves 01:10 second time (01:10 UTC): 20 minutes.
        "A1,2025-10-26 01:50,walk_in,3,,,2025-10-26 01:10,discharged,",
        # Both inside the repeated hour, in order: read as the first occurrence, 30 minutes.
        "A2,2025-10-26 01:10,walk_in,3,,,2025-10-26 01:40,discharged,",
        # 00:30 BST (23:30 UTC) to 02:30 GMT (02:30 UTC): three hours.
        "A3,2025-10-26 00:30,walk_in,3,,,2025-10-26 02:30,discharged,",
        *_good(40),
    ]
    log = read_event_log(_csv(tmp_path, rows))
    a = log.attendances
    assert _minutes(a, 0, "departure", "arrival") == 20
    assert _minutes(a, 1, "departure", "arrival") == 30
    assert _minutes(a, 2, "departure", "arrival") == 180
    assert log.clock["repeated_hour_second"] == 1
    assert log.clock["repeated_hour_first"] == 3
    assert a.iloc[0]["arrival"] == pd.Timestamp("2025-10-26 00:50", tz="UTC")


def test_march_missing_hour(tmp_path: Path) -> None:
    rows = [
        # 00:30 GMT to 02:30 BST (01:30 UTC): one hour, not two.
        "A1,2025-03-30 00:30,walk_in,3,,,2025-03-30 02:30,discharged,",
        # 01:30 does not exist: read as 01:30 GMT; 03:00 BST is 02:00 UTC: 30 minutes.
        "A2,2025-03-30 01:30,walk_in,3,,,2025-03-30 03:00,discharged,",
        *_good(40),
    ]
    log = read_event_log(_csv(tmp_path, rows))
    assert _minutes(log.attendances, 0, "departure", "arrival") == 60
    assert _minutes(log.attendances, 1, "departure", "arrival") == 30
    assert log.clock["missing_hour_shifted"] == 1


def test_timestamps_with_their_own_offset_are_used_as_given(tmp_path: Path) -> None:
    rows = [
        "A1,2025-10-26T01:30:00+01:00,walk_in,3,,,2025-10-26T01:10:00+00:00,discharged,",
    ]
    log = read_event_log(_csv(tmp_path, rows))
    assert _minutes(log.attendances, 0, "departure", "arrival") == 40


def test_a_mapping_renames_columns_codes_and_reads_its_timestamp_format(tmp_path: Path) -> None:
    header = "ID,ARRIVED,MODE,TRIAGE,LEFT,OUTCOME"
    rows = [
        "X1,01/05/2025 10:00,1,2,01/05/2025 13:00,01",
        "X2,01/05/2025 11:00,2,4,01/05/2025 12:30,02",
    ]
    att = _csv(tmp_path, rows, header=header)
    m = tmp_path / "map.yaml"
    m.write_text(
        "attendances:\n"
        "  columns: {ID: attendance_id, ARRIVED: arrival, MODE: mode, TRIAGE: acuity,\n"
        "            LEFT: departure, OUTCOME: disposal}\n"
        "  values:\n"
        "    mode: {'1': ambulance, '2': walk_in}\n"
        "    disposal: {'01': admitted, '02': discharged}\n"
        "  timestamp_format: '%d/%m/%Y %H:%M'\n"
    )
    log = read_event_log(att, mapping=read_map(m))
    a = log.attendances
    assert list(a["mode"]) == ["ambulance", "walk_in"]
    assert list(a["disposal"]) == ["admitted", "discharged"]
    assert _minutes(a, 1, "departure", "arrival") == 90  # 1 May is BST; both the same clock


def test_a_mapping_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    m = tmp_path / "map.yaml"
    m.write_text("attendance:\n  columns: {}\n")
    with pytest.raises(EventLogError, match=r"map.yaml: attendance: Extra inputs"):
        read_map(m)


def test_parquet_is_read_like_csv(tmp_path: Path) -> None:
    df = pd.read_csv(_csv(tmp_path, GOOD), dtype=str, keep_default_na=False)
    p = tmp_path / "att.parquet"
    df.to_parquet(p)
    log = read_event_log(p)
    assert _minutes(log.attendances, 0, "departure", "arrival") == 180


def test_spells_checks_and_period(tmp_path: Path) -> None:
    att = _csv(tmp_path, [*GOOD, "A3,2025-06-01 10:00,walk_in,3,,,2025-06-01 12:00,admitted,AMU"])
    sp = _csv(
        tmp_path,
        [
            "S1,A3,AMU,assessment,2025-06-01 12:00,2025-06-02 10:00,,home",
            "S2,,AMU,corridor,2025-06-01 12:00,2025-06-02 10:00,,home",
        ],
        header="spell_id,attendance_id,unit,area,admitted,discharged,medically_fit,destination",
        name="spells.csv",
    )
    with pytest.raises(
        EventLogError, match=r"spells.csv: column area: unknown codes 'corridor' \(1; line 3\)"
    ):
        read_event_log(att, sp)


def test_the_command_says_what_is_wrong_and_exits_2(tmp_path: Path, capsys) -> None:
    p = _csv(
        tmp_path, ["A1,2025-05-01 10:00,walk_in,3"], header="attendance_id,arrival,mode,acuity"
    )
    out = tmp_path / "s.yaml"
    assert cli.main(["calibrate", str(p), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "flowsim: error:" in err and "missing required columns" in err
    assert "Traceback" not in err
    assert not out.exists()
