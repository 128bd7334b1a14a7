"""The Streamlit page loads and runs a comparison without an exception."""

from __future__ import annotations

import pytest

from .conftest import REPO

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402


def test_page_loads_with_no_exception() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.selectbox[0].value == "baseline.yaml"


def test_run_of_baseline_and_a_change_shows_the_comparison() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    changes = at.sidebar.multiselect[0]
    assert changes.options, "no change files shipped in scenarios/"
    changes.set_value([changes.options[0]])
    at.sidebar.slider[0].set_value(14)   # days measured
    at.sidebar.slider[1].set_value(7)    # warm-up days
    at.sidebar.slider[2].set_value(2)    # replications
    at.sidebar.button[0].click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "four_hour_pct" in set(table["kpi"])
    assert set(table["verdict"]) <= {"better", "worse", "higher", "lower", "no clear difference"}
