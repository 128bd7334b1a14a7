"""The answer at a glance in the browser app: run settings that start from the scenario file's
own (and say when and why they differ), a notice when the results shown are stale, progress with
the time left, charts by day of each scenario's measured period, an uploaded change file that
``extends: ../baseline.yaml``, and the report offered as a download."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from flowsim import charts, load_scenario
from flowsim.budget import APP_MAX_PATIENTS, estimate
from flowsim.scenario import with_run_length

from .shared import REPO, SCENARIOS

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from flowsim.webapp.components import results_store  # noqa: E402
from flowsim.webapp.components.progress import clock_text, progress_text  # noqa: E402
from flowsim.webapp.components.run_settings import (  # noqa: E402
    APP_SECONDS,
    PATIENTS_PER_SECOND,
    RunSettings,
    file_settings,
    fitted_defaults,
    settings_note,
)
from flowsim.webapp.pages.compare import stale_notice  # noqa: E402

STALE = "These results are for the previous settings."


@pytest.fixture
def fresh_results() -> Iterator[None]:
    results_store.clear()
    yield
    results_store.clear()


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    assert not at.exception
    return at


def _settings(at: AppTest) -> RunSettings:
    return RunSettings(
        at.slider(key="days").value,
        at.slider(key="warmup").value,
        at.slider(key="reps").value,
        int(at.number_input(key="seed").value),
    )


def _plain(markdown: str) -> str:
    return re.sub(r"(?<!`)(`+) (.*?) \1(?!`)", r"\2", markdown)


# -- defaults from the file -------------------------------------------------------------------
def test_the_app_starts_from_the_baseline_files_run_settings() -> None:
    at = _page()
    # scenarios/baseline.yaml: run: warmup 56d, length 91d, replications 10, seed 20240902
    assert _settings(at) == RunSettings(91, 56, 10, 20240902)
    captions = [_plain(c.value) for c in at.sidebar.caption]
    assert any(
        "Run settings from baseline.yaml: 10 replications of 91 days after 56 days' "
        "warm-up, seed 20240902, the same as `flowsim compare` runs." in c
        for c in captions
    ), captions


@pytest.mark.slow
def test_past_the_budget_the_app_runs_the_largest_that_fit_and_says_why() -> None:
    at = _page()
    every = [o for o in at.multiselect(key="changes").options]
    at.multiselect(key="changes").set_value(every).run()
    assert not at.exception
    chosen = _settings(at)
    # Worked out here from the budget's own estimate, independently of the page's search.
    scenarios = [load_scenario(SCENARIOS / "baseline.yaml")] + [
        load_scenario(SCENARIOS / n) for n in every
    ]
    run = [with_run_length(s, chosen.days, chosen.warmup) for s in scenarios]
    limit = min(APP_MAX_PATIENTS, APP_SECONDS * PATIENTS_PER_SECOND * max(1, _workers()))
    assert estimate(run, 10, False).patients > limit  # the file's 10 replications do not fit
    assert estimate(run, chosen.replications, False).patients <= limit
    if chosen.replications < 10:  # the largest that fit: one more would not
        assert estimate(run, chosen.replications + 1, False).patients > limit
    assert (chosen.days, chosen.warmup, chosen.seed) == (91, 56, 20240902)
    notes = [_plain(i.value) for i in at.sidebar.info]
    assert any(
        "differ from the file's (baseline.yaml gives 10 replications" in n
        and "past the app's budget" in n
        and "largest that fit" in n
        for n in notes
    ), notes


def _workers() -> int:
    import os

    return os.cpu_count() or 1


def test_moving_a_slider_says_the_settings_are_the_users_and_a_button_restores_them() -> None:
    at = _page()
    at.slider(key="reps").set_value(3).run()
    notes = [_plain(i.value) for i in at.sidebar.info]
    assert any("You changed the run settings (replications)" in n for n in notes), notes
    at.button(key="run_settings.use_file").click().run()
    assert _settings(at) == RunSettings(91, 56, 10, 20240902)
    assert not at.sidebar.info


@pytest.mark.slow
def test_settings_past_the_budget_are_warned_of_before_the_run() -> None:
    at = _page()
    assert any(c.value.startswith("This run: about ") for c in at.sidebar.caption)
    at.multiselect(key="changes").set_value(list(at.multiselect(key="changes").options)).run()
    at.slider(key="reps").set_value(50).run()
    warned = [w.value for w in at.sidebar.warning if "past the app's budget" in w.value]
    assert len(warned) == 1 and "will be refused" in warned[0]


def test_a_file_outside_the_sliders_ranges_is_cut_with_a_reason() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    long = with_run_length(base, 500, 200)
    fit = fitted_defaults([long], workers=1)
    assert fit.file == RunSettings(500, 200, 10, 20240902)
    assert fit.app.days <= 364 and fit.app.warmup == 120
    assert any("500 days measured" in r for r in fit.reasons)
    assert any("200 warm-up days" in r for r in fit.reasons)
    kind, text = settings_note(fit.app, fit, "long.yaml")
    assert kind == "budget" and "differ from the file's" in text


def test_the_note_is_quiet_when_the_app_runs_the_files_settings() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    fit = fitted_defaults([base], workers=2)
    assert fit.app == fit.file == file_settings(base) and not fit.reasons
    assert settings_note(fit.app, fit, "baseline.yaml")[0] == "same"


# -- stale results ----------------------------------------------------------------------------
def test_the_stale_notice_names_what_changed() -> None:
    last = (("a", "b"), 2, 1)
    assert "the replications or seed changed" in stale_notice(last, (("a", "b"), 2, 9))
    assert "the scenarios or their run length changed" in stale_notice(last, (("a",), 2, 1))
    both = stale_notice(last, (("a",), 3, 1))
    assert both.startswith(f"**{STALE}**") and " and " in both


@pytest.mark.slow
def test_results_shown_after_an_input_changes_say_they_are_stale(fresh_results) -> None:
    at = _page()
    at.slider(key="days").set_value(7)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(2)
    at.button(key="run").click().run()
    assert not at.exception
    assert not [w for w in at.warning if STALE in w.value]
    at.number_input(key="seed").set_value(7).run()  # a run setting
    assert [w for w in at.warning if STALE in w.value]
    assert at.dataframe  # the previous results are still shown, under the notice
    at.number_input(key="seed").set_value(20240902).run()  # back as run: not stale
    assert not [w for w in at.warning if STALE in w.value]
    at.multiselect(key="changes").set_value(["changes/sdec_open_longer.yaml"]).run()  # scenarios
    assert [w for w in at.warning if "the scenarios or their run length" in w.value]
    at.multiselect(key="changes").set_value(["changes/escalation_beds.yaml"]).run()
    assert not [w for w in at.warning if STALE in w.value]
    at.slider(key="warmup").set_value(8).run()  # the run length: the scenarios as run change
    assert [w for w in at.warning if "the scenarios or their run length" in w.value]
    at.slider(key="warmup").set_value(7).run()
    assert not [w for w in at.warning if STALE in w.value]
    at.text_input(key="lever.baseline.yaml.name").set_value("more_beds").run()  # a built variant
    at.button(key="lever.baseline.yaml.add").click().run()
    assert [w for w in at.warning if STALE in w.value]
    at.button(key="run").click().run()
    assert not [w for w in at.warning if STALE in w.value]

    # The report of the result on screen, made on request and offered as one HTML file.
    at.button(key="report.make").click().run()
    assert not at.exception
    report = [b for b in at.get("download_button") if b.label.startswith("Download the report")]
    assert len(report) == 1


# -- uploads ----------------------------------------------------------------------------------
def test_a_copied_change_file_that_extends_its_parent_folder_uploads() -> None:
    at = _page()
    raw = (SCENARIOS / "changes" / "sdec_open_longer.yaml").read_bytes()
    assert b"extends: ../baseline.yaml" in raw
    at.file_uploader(key="uploads").set_value(("sdec_open_longer.yaml", raw, "application/x-yaml"))
    at.run()
    assert not at.exception and not at.error
    assert "sdec_open_longer" in at.selectbox(key="pathway_scenario").options


# -- progress ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (59.4, "59 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")]
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


def test_progress_says_time_so_far_and_left_at_the_pace_so_far() -> None:
    assert progress_text(0, 12, 1.0) == (
        "0 of 12 replications done · 1 s so far · time left known after the first replication"
    )
    # 3 done in 30 s: 10 s each, 9 to go.
    assert (
        progress_text(3, 12, 30.0)
        == "3 of 12 replications done · 30 s so far · about 1 min 30 s left"
    )
    assert progress_text(12, 12, 95.0) == "12 of 12 replications done · 1 min 35 s so far"


# -- charts by day of the measured period -----------------------------------------------------
def _two_starts() -> pd.DataFrame:
    # Two scenarios measured from different dates: two days each, two replications.
    rows = []
    for name, first in (("baseline", "2024-10-14"), ("winter", "2024-12-02")):
        times = pd.date_range(first, periods=48, freq="h")
        for rep, level in ((0, 1.0), (1, 3.0)):
            for i, t in enumerate(times):
                rows.append((name, rep, t, level + (i >= 24) * 10.0))
    return pd.DataFrame(rows, columns=["scenario", "replication", "time", "boarders"])


STARTS = {"baseline": pd.Timestamp("2024-10-14"), "winter": pd.Timestamp("2024-12-02")}


def test_series_are_compared_by_day_of_each_scenarios_own_period() -> None:
    band = charts.ed_band_by_day(_two_starts(), "boarders", STARTS)
    for name in STARTS:
        b = band[band["scenario"] == name]
        assert b["day"].tolist() == [1.0, 2.0]
        assert b["mean"].tolist() == [2.0, 12.0]  # mean of 1 and 3, then of 11 and 13
        assert b["time"].iloc[0] == STARTS[name]  # each keeps its own date
    hourly = charts.ed_band_by_day(_two_starts(), "boarders", STARTS, "h")
    assert hourly.loc[hourly["scenario"] == "winter", "day"].iloc[12] == 1.5


def test_the_over_time_chart_has_no_calendar_axis_and_dates_in_the_tooltip() -> None:
    band = charts.ed_band_by_day(_two_starts(), "boarders", STARTS)
    spec = charts.over_time_chart(
        band, "Boarders", "Patients waiting (hourly mean)", ["baseline", "winter"]
    ).to_dict()
    line = spec["layer"][1]["encoding"]
    assert line["x"]["field"] == "day" and line["x"]["type"] == "quantitative"
    assert line["y"]["title"] == "Patients waiting (hourly mean)"
    assert {"field": "time", "type": "temporal"}.items() <= next(
        t for t in line["tooltip"] if t["field"] == "time"
    ).items()
    assert "per day" not in str(spec)


def test_measured_dates_give_each_scenario_its_own() -> None:
    days = {"baseline": 56.0, "winter": 56.0}
    assert charts.measured_dates(STARTS, days) == (
        "Measured: baseline 14 Oct 2024 to 08 Dec 2024; winter 02 Dec 2024 to 26 Jan 2025"
    )
    same = {"a": STARTS["baseline"], "b": STARTS["baseline"]}
    assert (
        charts.measured_dates(same, {"a": 7.0, "b": 7.0}) == "Measured 14 Oct 2024 to 20 Oct 2024"
    )


def test_time_in_department_shows_twelve_hours_with_the_four_hour_line() -> None:
    cdf = pd.DataFrame(
        {
            "scenario": "base",
            "replication": 0,
            "minutes": np.arange(0, 24 * 60 + 1, 60.0),
            "share_within": np.linspace(0, 1, 25),
        }
    )
    spec = charts.time_in_department_chart(charts.time_in_department_band(cdf), ["base"])
    d = spec.to_dict()
    assert d["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, 12]
    rows = [r for data in d["datasets"].values() for r in data]
    assert max(r["hours"] for r in rows if "mean" in r) == 12.0
    assert [r for r in rows if "text" in r] == [{"hours": 4.0, "text": "4 hours"}]


def test_long_change_names_on_the_box_plot_are_not_cut_off() -> None:
    names = ["baseline", "a_very_long_change_name_that_goes_on_and_on_and_on_x", "another_long_one"]
    kpis = pd.DataFrame(
        {"scenario": names * 2, "replication": [0] * 3 + [1] * 3, "kpi": "x", "value": 1.0}
    )
    x = charts.kpi_spread(kpis, "x", "X", names).to_dict()["layer"][0]["encoding"]["x"]
    assert x["axis"]["labelLimit"] == 0


# -- the report download ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_report_download_is_the_offline_report_and_leaves_no_folder_behind(
    tmp_path, monkeypatch
) -> None:
    import tempfile

    import flowsim
    from flowsim.webapp.components.report_download import report_html

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    scenarios = [
        with_run_length(load_scenario(SCENARIOS / n), 7, 7)
        for n in ("baseline.yaml", "changes/extra_evening_doctor.yaml")
    ]
    results = flowsim.run(scenarios, replications=2, seed=1, jobs=1)
    html = report_html(results, results.compare("baseline")).decode("utf-8")
    assert list(tmp_path.iterdir()) == []  # the results folder written for it is gone
    assert html.startswith("<!DOCTYPE html>") and "extra_evening_doctor" in html
    assert "vegaEmbed(" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?://", html)
