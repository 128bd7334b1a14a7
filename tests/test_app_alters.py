"""In the app: what each change alters beside its result, and the stability warning."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

from .test_app import _errors, _page, _tiny_settings, fresh_results, unescaped  # noqa: E402, F401


def _unsteady_page() -> None:
    import pandas as pd

    from flowsim.stability import COLUMNS
    from flowsim.webapp.components.stability import show_stability

    rows = [
        [
            "short_of_beds",
            r,
            91,
            800.0,
            120.0,
            1800.0,
            20.0,
            1820.0,
            15.0,
            False,
            "Ward `beds`",
            "NOT STEADY",
        ]
        for r in range(2)
    ] + [["baseline", r, 91, 15.0, 15.0, 15.0, 0.0, 0.0, 0.1, True, "", "steady"] for r in range(2)]
    show_stability(pd.DataFrame(rows, columns=COLUMNS))


@pytest.mark.slow
def test_a_scenario_that_is_not_steady_is_flagged_in_the_app() -> None:
    at = AppTest.from_function(_unsteady_page).run()
    assert not at.exception
    (warning,) = [unescaped(w.value) for w in at.warning]
    assert warning.startswith("Warning: short_of_beds is not in a steady state in 2 of 2")
    assert "rose from about 120 to 1,800" in warning
    assert "Ward `beds`" in warning  # a label with backticks is shown as written
    table = at.table[0].value
    assert list(table["Steady"]) == ["NO", "NO", "yes", "yes"]


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_results")
def test_app_says_what_each_change_alters_after_a_run() -> None:
    at = _page()
    at.multiselect(key="changes").set_value(["changes/fewer_delayed_discharges.yaml"])
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    texts = [unescaped(m.value) for m in at.markdown]
    assert "**What each change alters in the baseline**" in texts
    assert any(
        "- Discharge home with new support (pathway 1): delayed discharges 40% → 20% of patients"
        in t
        for t in texts
    )
    # The shipped baseline settles: no stability warning, but the check is there to open.
    assert not any("not in a steady state" in unescaped(w.value) for w in at.warning)
    assert any("Stability check" in e.label for e in at.expander)
    kpis = at.dataframe[0].value
    assert set(kpis["Steady?"]) == {"yes"}


def test_the_kpi_tables_steady_column_names_the_side_that_kept_growing() -> None:
    import pandas as pd

    from flowsim.webapp.components.stability import steady_words

    table = pd.DataFrame(
        {
            "scenario": ["baseline"] * 3 + ["short_of_beds"] * 3 + ["more_beds"] * 3,
            "steady": [True, True, False] + [False, False, False] + [True] * 3,
        }
    )
    assert steady_words(table, "more_beds", "baseline") == "NO (baseline: 1 of 3 replications)"
    assert steady_words(table, "short_of_beds", "baseline") == (
        "NO (change: 3 of 3 replications; baseline: 1 of 3 replications)"
    )
    settled = table.assign(steady=True)
    assert steady_words(settled, "more_beds", "baseline") == "yes"
    assert steady_words(None, "more_beds", "baseline") == ""
