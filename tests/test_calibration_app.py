"""The calibrate page: uploads are calibrated without leaving files behind, a bad log is told by
the uploaded file's name (never a server path), and the page renders headless (AppTest); the
model is checked against the log with nothing patient-level kept in the session, its report
opens offline, and the calibrated scenario is a baseline of the compare page."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flowsim import load_scenario
from flowsim.errors import FlowsimError

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from flowsim.calibration.eventlog import EventLogError  # noqa: E402
from flowsim.webapp.pages import calibrate as cal_page  # noqa: E402

from .shared import REPO  # noqa: E402

EXAMPLE = REPO / "examples" / "eventlog"

HEADER = (
    "attendance_id,arrival,mode,acuity,first_seen,decision_to_admit,departure,disposal,admitted_to"
)


def _rows(n: int) -> bytes:
    rows = [
        f"A{i},2025-05-0{1 + i % 7} {8 + i % 12:02d}:00,{'ambulance' if i % 3 else 'walk_in'},"
        f"{1 + i % 5},2025-05-0{1 + i % 7} {8 + i % 12:02d}:{10 + i % 40},,"
        f"2025-05-0{1 + i % 7} {9 + i % 12:02d}:{15 + i % 40},discharged,"
        for i in range(n)
    ]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("flowsim-calibrate-*")}


def test_uploads_are_calibrated_and_no_file_is_left(tmp_path: Path) -> None:
    before = _leftovers()
    fitted = cal_page.calibrate_uploads({"attendances": ("our-ed.csv", _rows(400))})
    assert _leftovers() == before
    out = tmp_path / "calibrated.yaml"
    out.write_text(fitted.scenario_text)
    scenario = load_scenario(out)
    assert set(scenario.arrivals) == {"ambulance", "walk_in"}
    assert "our-ed.csv" in fitted.scenario_text
    assert list(fitted.hourly.columns) == ["ambulance", "walk_in"] and len(fitted.hourly) == 24
    assert set(fitted.durations["class"]) == {"P1", "P2", "P3", "P4", "P5"}
    assert "A1," not in fitted.scenario_text  # nothing patient-level


def test_a_bad_upload_is_named_as_uploaded_not_by_its_server_path() -> None:
    before = _leftovers()
    with pytest.raises(EventLogError) as e:
        cal_page.calibrate_uploads(
            {"attendances": ("our-ed.csv", b"attendance_id,arrival\nA1,x\n")}
        )
    msg = str(e.value)
    assert msg.startswith("our-ed.csv: missing required columns")
    assert tempfile.gettempdir() not in msg and "flowsim-calibrate" not in msg
    assert _leftovers() == before


def test_too_big_or_unknown_kind_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cal_page, "MAX_LOG_BYTES", 10)
    with pytest.raises(FlowsimError, match="uploads are limited to 10"):
        cal_page.calibrate_uploads({"attendances": ("a.csv", b"x" * 11)})
    monkeypatch.undo()
    with pytest.raises(FlowsimError, match=r"notes.txt: expected a \.csv"):
        cal_page.calibrate_uploads({"attendances": ("notes.txt", b"x")})


def _script() -> None:
    from flowsim.webapp.pages.calibrate import page

    page()


def test_the_page_renders_and_asks_for_a_file() -> None:
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Calibrate a scenario from your event log"
    assert any("Upload an attendances file" in i.value for i in at.info)
    assert at.button(key="cal_run").disabled


def test_the_page_shows_a_calibration_kept_in_the_session() -> None:
    at = AppTest.from_function(_script, default_timeout=60)
    at.session_state["cal_fitted"] = cal_page.calibrate_uploads(
        {"attendances": ("our-ed.csv", _rows(400))}
    )
    at.run()
    assert not at.exception
    assert any("400 attendances" in c.value for c in at.caption)
    assert len(at.dataframe) == 1
    assert at.subheader[0].value.startswith("Arrivals by hour of day")


# -- the check: model against observed ----------------------------------------------------------
def _example_slice(days: int = 14) -> dict[str, tuple[str, bytes]]:
    """The first ``days`` of the shipped synthetic year (examples/eventlog), as uploads."""
    end = str(pd.Timestamp("2025-01-06") + pd.Timedelta(days=days))
    a = pd.read_csv(EXAMPLE / "attendances.csv.gz")
    a = a[a["arrival"] < end]
    s = pd.read_csv(EXAMPLE / "spells.csv.gz")
    s = s[(s["admitted"] < end) & (s["discharged"] < end)]
    return {
        "attendances": ("slice.csv", a.to_csv(index=False).encode()),
        "spells": ("spells.csv", s.to_csv(index=False).encode()),
        "capacity": ("capacity.csv", (EXAMPLE / "capacity.csv").read_bytes()),
    }


LOG_COLUMNS = {"attendance_id", "arrival", "departure", "first_seen", "spell_id", "admitted"}


def _walk(value: Any, seen: set[int] | None = None) -> list[Any]:
    """Every value reachable from ``value``: containers, dataclass fields, arrays."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    out = [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            out += _walk(getattr(value, f.name), seen)
    elif isinstance(value, dict):
        for k, v in value.items():
            out += _walk(k, seen) + _walk(v, seen)
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            out += _walk(v, seen)
    return out


def _patient_level(state: dict[str, Any], attendances: int) -> list[str]:
    """What in ``state`` looks patient-level: a table or array with a row per attendance, a
    table with a log's columns, uploaded files, or an attendance id."""
    found = []
    for key, value in state.items():
        for v in _walk(value):
            if isinstance(v, pd.DataFrame) and (
                len(v) >= attendances or LOG_COLUMNS & set(map(str, v.columns))
            ):
                found.append(f"{key}: a table of {len(v)} rows, columns {list(v.columns)}")
            elif isinstance(v, np.ndarray) and v.size >= attendances:
                found.append(f"{key}: an array of {v.size}")
            elif isinstance(v, (bytes, str)) and re.search(
                rb"A0000\d{3}" if isinstance(v, bytes) else r"A0000\d{3}", v
            ):
                found.append(f"{key}: text with an attendance id")
            elif type(v).__name__ == "UploadedFile":
                found.append(f"{key}: an uploaded file")
    return found


def test_the_observed_side_kept_is_aggregates_only() -> None:
    fitted = cal_page.calibrate_uploads({"attendances": ("our-ed.csv", _rows(400))})
    obs = fitted.observed
    assert obs.attendances_per_day == pytest.approx(400 / 7)  # 1 to 7 May
    # One week: each hour of the week once, so the mean arrivals by hour add up to the count.
    assert obs.arrivals_by_hour.shape == (168,) and obs.arrivals_by_hour.sum() == 400
    # Every hand-made attendance stays 65 to 104 minutes: none within an hour, all within two.
    assert list(obs.tid_within_hours[:3]) == [0.0, 0.0, 1.0]
    assert not _patient_level({"cal_fitted": fitted}, 400)
    # The detector itself finds a log's rows.
    assert _patient_level({"log": pd.DataFrame({"attendance_id": ["A0000001"]})}, 400)


def _script() -> None:
    from flowsim.webapp.pages.calibrate import page

    page()


OFFLINE_BREAKERS = re.compile(r"<(script|link|img|iframe)[^>]*(src|href)\s*=\s*[\"']?https?:", re.I)


@pytest.mark.slow
def test_the_check_shows_the_table_and_keeps_nothing_patient_level() -> None:
    uploads = _example_slice()
    attendances = uploads["attendances"][1].count(b"\n") - 1
    at = AppTest.from_function(_script, default_timeout=180)
    at.session_state["cal_fitted"] = cal_page.calibrate_uploads(uploads)
    del uploads
    at.run()
    assert not at.exception
    profiles = len(at.get("vega_lite_chart"))
    at.number_input(key="cal_check_reps").set_value(3)
    at.button(key="cal_check").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert list(table.columns) == [
        "Measure",
        "Group",
        "Unit",
        "Observed",
        "Model mean",
        "95% PI low",
        "95% PI high",
        "Inside?",
    ]
    assert {"four-hour performance", "occupancy, mean"} <= set(table["Measure"])
    assert set(table["Inside?"]) <= {"yes", "NO", "-"}
    assert (table["Inside?"] == "yes").sum() >= len(table) // 2
    # Arrivals, time in department, occupancy, lengths of stay.
    assert len(at.get("vega_lite_chart")) == profiles + 4
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Download the report (offline HTML)", "Download the table (CSV)"} <= labels
    state = {k: at.session_state[k] for k in at.session_state}
    assert not _patient_level(state, attendances)
    report = state["cal_checked"].report_html.decode()
    assert "Model against observed: slice.csv" in report
    assert not OFFLINE_BREAKERS.findall(report)
    assert not list(Path(tempfile.gettempdir()).glob("flowsim-check-*"))


def test_the_check_is_refused_past_the_apps_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowsim.budget

    monkeypatch.setattr(flowsim.budget, "APP_MAX_PATIENTS", 100)
    fitted = cal_page.calibrate_uploads({"attendances": ("our-ed.csv", _rows(400))})
    with pytest.raises(FlowsimError, match="past the budget of 100 patients"):
        cal_page.check_model(fitted, 10)


# -- the calibrated scenario as the compare page's baseline -------------------------------------
def _compare_page(fitted: cal_page.Fitted) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    label = f"calibrated: {fitted.source}"
    at.session_state[cal_page.BASELINE_KEY] = (label, fitted.scenario_text)
    at.session_state[cal_page.BASELINE_KEY + ".select"] = True
    return at.run()


def test_use_as_baseline_offers_it_on_the_compare_page() -> None:
    at = AppTest.from_function(_script, default_timeout=60)
    fitted = cal_page.calibrate_uploads({"attendances": ("our-ed.csv", _rows(400))})
    at.session_state["cal_fitted"] = fitted
    at.run()
    at.button(key="cal_baseline").click().run()
    assert not at.exception
    assert at.session_state[cal_page.BASELINE_KEY] == (
        "calibrated: our-ed.csv",
        fitted.scenario_text,
    )
    assert any("calibrated: our-ed.csv" in s.value for s in at.success)


@pytest.mark.slow
def test_a_change_built_on_the_calibrated_baseline_runs() -> None:
    fitted = cal_page.calibrate_uploads({"attendances": ("our-ed.csv", _rows(400))})
    at = _compare_page(fitted)
    assert not at.exception
    box = at.selectbox(key="baseline")
    assert box.value == "calibrated: our-ed.csv" and "baseline.yaml" in box.options
    # Shipped changes extend the shipped baseline: not offered for this one.
    assert not [m for m in at.multiselect if m.key == "changes"]
    lever = "lever.calibrated: our-ed.csv."
    at.text_input(key=lever + "name").set_value("busier")
    at.slider(key=lever + "demand").set_value(1.2)
    at.run()
    at.button(key=lever + "add").click().run()
    at.slider(key="days").set_value(7)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(2)
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["Variant"]) == {"busier"}
    row = table[table["kpi"] == "attendances_per_day"].iloc[0]
    assert row["Variant mean"] == pytest.approx(1.2 * row["Baseline"], rel=0.15)
    # Back on the shipped baseline, the change built on the calibrated one is left out.
    at.selectbox(key="baseline").set_value("baseline.yaml").run()
    assert not at.exception
    assert any("` busier ` is left out" in c.value for c in at.sidebar.caption)
