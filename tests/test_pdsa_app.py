"""The "Study a change" page, driven headless with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest

from .shared import REPO, TINY

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

EXAMPLE = REPO / "examples" / "pdsa"


def _script() -> None:
    from flowsim.webapp.navigation import guarded
    from flowsim.webapp.pages.study import page

    guarded(page)()


def _page() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=120).run()
    assert not at.exception
    return at


def _with_prediction() -> AppTest:
    at = _page()
    at.radio(key="pdsa_source").set_value("A prediction file").run()
    raw = (EXAMPLE / "prediction.json").read_bytes()
    at.file_uploader(key="pdsa_prediction_file").set_value(
        ("prediction.json", raw, "application/json")
    ).run()
    assert not at.exception and not at.error
    return at


def test_without_a_comparison_the_page_says_what_to_do_first() -> None:
    at = _page()
    assert any("Run a comparison" in i.value for i in at.info)


@pytest.mark.slow
def test_an_uploaded_prediction_and_weeks_give_charts_and_verdicts() -> None:
    at = _with_prediction()
    assert any("Within 4 hours: predicted effect" in t.value for t in at.text)
    assert at.date_input(key="pdsa_change_date").value.isoformat() == "2025-03-03"
    raw = (EXAMPLE / "observed_weeks.csv").read_bytes()
    at.file_uploader(key="pdsa_observed").set_value(("weeks.csv", raw, "text/csv")).run()
    assert not at.exception and not at.error
    verdicts = [t.value for t in at.text if "predicted effect" not in t.value]
    assert len(verdicts) == 6
    assert any(v.startswith("Within 4 hours: improvement signal") for v in verdicts)
    assert len(at.subheader) == 6


def test_a_bad_observed_file_is_named_by_line() -> None:
    at = _with_prediction()
    bad = b"week_start,kpi,value\n2025-01-06,four_hour_pct,71\n2025-01-13,nonsense,3\n"
    at.file_uploader(key="pdsa_observed").set_value(("weeks.csv", bad, "text/csv")).run()
    assert not at.exception
    assert any("weeks.csv:3: kpi:" in e.value for e in at.error)


@pytest.mark.slow
def test_a_prediction_made_from_the_comparison_on_screen(tmp_path: Path) -> None:
    from flowsim import load_scenario
    from flowsim.loader import scenario_yaml

    (tmp_path / "tiny.yaml").write_text(TINY)
    base = load_scenario(tmp_path / "tiny.yaml")
    # The same model under another name: the predicted effect is exactly nothing.
    change = base.model_copy(update={"name": "same_again"})
    at = AppTest.from_function(_script, default_timeout=120)
    at.session_state["last_run"] = ((scenario_yaml(base), scenario_yaml(change)), 2, 7)
    at.run()
    at.number_input(key="pdsa_weeks").set_value(1)
    at.button(key="pdsa_predict").click().run()
    assert not at.exception and not at.error
    assert any("Within 4 hours: predicted effect +0.00" in t.value for t in at.text)
