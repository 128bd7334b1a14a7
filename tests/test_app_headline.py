"""The headline of a comparison: its sentences (units, hours and minutes, points, verdicts) and,
in the app, the line for the four-hour measure after a real run."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("streamlit")

from flowsim import charts  # noqa: E402
from flowsim.webapp.components import headline  # noqa: E402
from flowsim.webapp.components.headline import duration_text, sentence, value_text  # noqa: E402

from .test_app import _errors, _page, _tiny_settings, fresh_results, unescaped  # noqa: E402, F401

M = "\u2212"


def _row(kpi: str, unit: str, diff: float, lo: float, hi: float, verdict: str) -> dict:
    return {
        "kpi": kpi,
        "unit": unit,
        "difference": diff,
        "ci_low": lo,
        "ci_high": hi,
        "verdict": verdict,
    }


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (135, "2 h 15 min"),
        (45, "45 min"),
        (120, "120 min"),
        (180, "3 h"),
        (3.4, "3.4 min"),
        (-135, f"{M}2 h 15 min"),
    ],
)
def test_duration_text_says_hours_and_minutes_above_two_hours(minutes, text) -> None:
    assert duration_text(minutes) == text


def test_duration_text_signed_shows_plus_and_minus() -> None:
    assert duration_text(135, signed=True) == "+2 h 15 min"
    assert duration_text(-45, signed=True) == f"{M}45 min"


def test_a_percentage_changes_by_points() -> None:
    text = sentence(_row("four_hour_pct", "%", 2.7, 1.9, 3.5, "better"))
    assert text == "Within 4 hours: +2.7 points (95% CI 1.9 to 3.5 points) \u2014 better"


def test_a_worse_time_in_hours_and_minutes() -> None:
    text = sentence(_row("time_in_department_mean", "minutes", 135.0, 130.0, 140.0, "worse"))
    assert text == (
        "Time in the ED, mean: +2 h 15 min (95% CI 2 h 10 min to 2 h 20 min) \u2014 worse"
    )


def test_no_clear_difference_is_said_in_words() -> None:
    text = sentence(_row("handover_mean", "minutes", -1.5, -4.0, 1.0, "no clear difference"))
    assert text.endswith("(95% CI \u22124 min to 1 min) \u2014 no clear difference")
    assert text.startswith(f"Ambulance handover, mean: {M}1.5 min")


def test_without_an_interval_there_is_no_verdict() -> None:
    text = sentence(_row("four_hour_pct", "%", 2.7, math.nan, math.nan, ""))
    assert "+2.7 points" in text
    for word in ("better", "worse", "no clear difference", "95% CI"):
        assert word not in text


def test_a_small_interval_that_excludes_zero_does_not_read_as_zero() -> None:
    text = sentence(_row("four_hour_pct", "%", 0.04, 0.01, 0.08, "better"))
    assert "(95% CI 0.01 to 0.08 points)" in text


def test_a_count_is_in_patients() -> None:
    assert value_text(3.0, "count", signed=True) == "+3.0 patients"


def test_headline_rows_follow_the_headline_order() -> None:
    import pandas as pd

    rows = [
        _row(k, "", 1.0, 0.5, 1.5, "better") | {"scenario": s}
        for s in ("a", "b")
        for k in ("handover_mean", "attendances", "four_hour_pct")
    ]
    got = headline.headline_rows(pd.DataFrame(rows), "b")
    assert [r["kpi"] for r in got] == ["four_hour_pct", "handover_mean"]
    assert {r["scenario"] for r in got} == {"b"}


def test_a_card_escapes_its_text_and_is_coloured_by_verdict() -> None:
    card = headline._card(_row("four_hour_pct", "%", -2.0, -3.0, -1.0, "worse"))
    assert "#D55E00" in card and "\u2014 worse" in card
    assert "<" not in card.split(">", 1)[1].rsplit("<", 1)[0]


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_results")
def test_app_headline_says_the_four_hour_change_and_its_verdict() -> None:

    at = _page()
    at.multiselect(key="changes").set_value(["changes/extra_evening_doctor.yaml"])
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    table = at.dataframe[0].value
    verdict = table[table["kpi"] == "four_hour_pct"].iloc[0]["Verdict"]
    assert verdict in {"better", "worse", "no clear difference"}
    texts = [m.value for m in at.markdown]
    cards = [t for t in texts if "Within 4 hours: " in t]
    assert len(cards) == 1
    assert cards[0].endswith(f"\u2014 {verdict}</div>")
    assert "points (95% CI " in cards[0]
    assert f"{charts.VERDICT_COLOURS[verdict]};" in cards[0]
    # The change's name heads its column, as plain text.
    assert "**extra_evening_doctor**" in [unescaped(t) for t in texts]
    # The difference chart comes first, for the four-hour measure; another measure redraws it.
    assert at.selectbox(key="forest_kpi").value == "four_hour_pct"
    at.selectbox(key="forest_kpi").set_value("handover_mean").run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 6
