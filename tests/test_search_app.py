"""The page "How much capacity?", driven headless with Streamlit's AppTest: it lists the
scenario's levers, runs a search on a small scenario and shows the answer, chart and table."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from .shared import OVERFLOW_WARD  # noqa: E402

SCRIPT = """
from flowsim.webapp.navigation import guarded
from flowsim.webapp.pages import capacity

# Streamlit runs this as __main__; a worker process started by spawn (Dask) later in the same
# test session re-reads the main script as __mp_main__, and must not draw the page.
if __name__ == "__main__":
    guarded(capacity.page)()
"""


def _capacity_page(folder: Path) -> AppTest:
    script = folder / "capacity_page.py"
    script.write_text(SCRIPT)
    return AppTest.from_file(str(script), default_timeout=240).run()


@pytest.mark.slow  # imports Streamlit
def test_the_page_is_in_the_navigation() -> None:
    from flowsim.webapp.navigation import PAGES
    from flowsim.webapp.pages import capacity

    assert capacity in PAGES
    assert (capacity.TITLE, capacity.URL_PATH) == ("How much capacity?", "capacity")


@pytest.mark.slow
def test_the_page_finds_the_fewest_beds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    # A shorter run than the command-line tests use keeps the page test quick.
    (folder / "loss.yaml").write_text(OVERFLOW_WARD.replace("length: 400d", "length: 300d"))
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    at = _capacity_page(tmp_path)
    assert not at.exception
    assert at.title[0].value == "How much capacity?"
    assert at.selectbox(key="search_lever").options == ["places.ward.capacity"]
    at.slider(key="days").set_value(280)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(4)
    at.number_input(key="search_low").set_value(1)
    at.number_input(key="search_high").set_value(12)
    at.selectbox(key="search_kpi").set_value("occupancy_mean.outlier_ward")
    at.radio(key="search_op").set_value("<=")
    at.number_input(key="search_value").set_value(0.45)
    at.button(key="search_go").click()
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    # Erlang B with 3 erlangs offered: B(4) = 20.6% and B(5) = 11.0% turned away, so 0.62 and
    # 0.33 outlier beds in use (Little's law): at most 0.45 is met first by 5 beds.
    assert "is 5" in text, text
    assert len(at.dataframe) == 1
