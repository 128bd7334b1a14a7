"""The calibrate page: uploads are calibrated without leaving files behind, a bad log is told by
the uploaded file's name (never a server path), and the page renders headless (AppTest)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from flowsim import load_scenario
from flowsim.errors import FlowsimError

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from flowsim.calibration.eventlog import EventLogError  # noqa: E402
from flowsim.webapp.pages import calibrate as cal_page  # noqa: E402

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
