"""The Streamlit app, driven headless with Streamlit's AppTest: its compare page loads, runs a
comparison and shows the table and charts, refuses bad uploads with the CLI's messages, and
builds a variant whose downloaded YAML flowsim validates. Run settings are tiny so that the file
runs quickly."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flowsim import load_scenario
from flowsim.cli import main as cli
from flowsim.kpis import KPIS, headline_kpis
from flowsim.levers import before_noon

from .shared import REPO, SCENARIOS

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from flowsim.webapp.components import results_store  # noqa: E402

VERDICTS = {"better", "worse", "higher", "lower", "no clear difference", ""}
LEVER = "lever.baseline.yaml."


@pytest.fixture
def fresh_results() -> Iterator[None]:
    """An empty result store, so that a run really runs, and emptied again afterwards, so that
    a result made with a patched runner is not served to a later test."""
    results_store.clear()
    yield
    results_store.clear()


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    assert not at.exception
    return at


def _tiny_settings(at: AppTest) -> None:
    at.slider(key="days").set_value(7)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(2)


def unescaped(markdown: str) -> str:
    """Markdown as it reads: user text in it is in code spans (see ``safe_text.plain``)."""
    return re.sub(r"(?<!`)(`+) (.*?) \1(?!`)", r"\2", markdown)


def _errors(at: AppTest) -> list[str]:
    """The page's error messages as they read (user text in them is escaped Markdown)."""
    return [unescaped(e.value) for e in at.error]


def test_page_loads_with_no_exception() -> None:
    at = _page()
    assert not _errors(at)
    assert at.selectbox(key="baseline").value == "baseline.yaml"
    assert at.multiselect(key="changes").value == ["changes/escalation_beds.yaml"]
    assert any("Run the comparison" in i.value for i in at.info)


def test_what_the_measures_mean_lists_the_kpi_registry() -> None:
    at = _page()
    table = at.dataframe[0].value  # before a run, the only table is the definitions
    assert list(table["KPI"]) == [k.pattern for k in KPIS]
    row = table[table["KPI"] == "four_hour_pct"].iloc[0]
    assert (row["Measure"], row["Unit"], row["Better when"]) == ("Within 4 hours", "%", "higher")


@pytest.mark.slow
def test_run_of_baseline_and_a_shipped_change_shows_the_table_and_charts(
    monkeypatch, fresh_results
) -> None:
    runs = []
    real_run = results_store.run

    def counting_run(*args, **kwargs):
        runs.append(kwargs.get("progress"))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(results_store, "run", counting_run)
    at = _page()
    at.multiselect(key="changes").set_value(["changes/extra_evening_doctor.yaml"])
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    table = at.dataframe[0].value
    assert set(table["Variant"]) == {"extra_evening_doctor"}
    assert "four_hour_pct" in set(table["kpi"])
    assert set(table["Verdict"]) <= VERDICTS
    row = table[table["kpi"] == "four_hour_pct"].iloc[0]
    assert row["95% CI low"] <= row["Change"] <= row["95% CI high"]
    # Difference chart, KPI spread, occupancy, time in department, boarders, ambulance queue.
    assert len(at.get("vega_lite_chart")) == 6
    assert len(at.get("graphviz_chart")) == 1
    labels = {b.label for b in at.get("download_button")}
    assert {
        "KPIs by replication (CSV)",
        "Comparison (CSV)",
        "Occupancy time series (Parquet)",
        "ED time series (Parquet)",
        "Scenarios as run (YAML, zip)",
    } <= labels
    assert len(runs) == 1 and runs[0] is not None  # with a progress bar
    # Running again, or changing the view, shows the result from the cache without running.
    at.button(key="run").click().run()
    at.toggle(key="every").set_value(True).run()
    assert not at.exception
    every = at.dataframe[0].value
    assert len(every) > len(table)
    assert len(runs) == 1
    # Without "every measure", the table shows the registry's headline measures, in its order.
    assert list(table["kpi"]) == headline_kpis(every["kpi"])
    assert {"four_hour_pct", "occupancy_mean_pct.wards"} <= set(table["kpi"])
    assert at.selectbox(key="spread_kpi").value == "four_hour_pct"


def test_an_invalid_upload_shows_the_cli_message() -> None:
    at = _page()
    bad = b"extends: baseline.yaml\nplaces:\n  wards: {capacity: -3}\n"
    at.file_uploader(key="uploads").set_value(("broken.yaml", bad, "application/x-yaml")).run()
    assert not at.exception
    errors = "\n".join(_errors(at))
    assert "broken.yaml:3:11: places.wards.capacity:" in errors


def test_an_over_size_upload_is_refused_with_a_message() -> None:
    at = _page()
    big = b"# padding\n" * 30_000
    at.file_uploader(key="uploads").set_value(("big.yaml", big, "application/x-yaml")).run()
    assert not at.exception
    assert any("uploads are limited to" in e for e in _errors(at))


@pytest.mark.slow
def test_a_built_variant_downloads_as_yaml_that_validates_and_runs(tmp_path: Path) -> None:
    at = _page()
    at.text_input(key=LEVER + "name").set_value("busier_with_beds")
    at.slider(key=LEVER + "demand").set_value(1.2)
    at.number_input(key=LEVER + "beds.wards").set_value(640)
    at.slider(key=LEVER + "delayed.discharge_with_support").set_value(0.1)
    # The four discharge pathways leave the wards through one window: one slider moves them all.
    noon = at.slider(key=LEVER + "noon.discharge_home")
    label = noon.label.replace("` ", "").replace(" `", "")  # names are shown as plain text
    assert label == "Discharges from Adult inpatient ward beds: share of discharges before noon"
    noon.set_value(0.33)
    assert not any(w.key == LEVER + "noon.discharge_with_support" for w in at.slider)
    at.run()
    assert not at.exception and not _errors(at)
    assert any(b.label == "Download this variant (YAML)" for b in at.get("download_button"))
    text = at.code[0].value
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    path = folder / "busier_with_beds.yaml"
    path.write_text(text)
    assert cli(["validate", str(path)]) == 0
    s, base = load_scenario(path), load_scenario(SCENARIOS / "baseline.yaml")
    assert s.arrivals["walk_in"].per_day == pytest.approx(1.2 * base.arrivals["walk_in"].per_day)
    assert s.places["wards"].capacity == 640
    assert s.stages["discharge_with_support"].delayed_discharge.share == 0.1
    assert s.stages["discharge_home"].delayed_discharge.share == 0.05
    pathways = [n for n in s.stages if n.startswith("discharge_")]
    assert len(pathways) == 4
    for n in pathways:
        assert before_noon(s.stages[n].discharge_window.hours) == pytest.approx(0.33, abs=1e-3)
    assert before_noon(s.stages["amu_stay"].discharge_window.hours) == pytest.approx(
        before_noon(base.stages["amu_stay"].discharge_window.hours)
    )
    # Added to the comparison, it runs beside the shipped change.
    at.button(key=LEVER + "add").click().run()
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    assert set(at.dataframe[0].value["Variant"]) == {"escalation_beds", "busier_with_beds"}


def test_a_broken_shipped_file_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "baseline.yaml").write_text("name: broken\nclasses: {}\nbogus: 1\n")
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    at = _page()
    errors = "\n".join(_errors(at))
    assert "baseline.yaml:3:1: bogus: unknown field" in errors
    assert "Traceback" not in errors


def test_a_broken_change_file_is_left_out_with_its_message(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    (folder / "changes" / "typo.yaml").write_text(
        "extends: ../baseline.yaml\nplaces:\n  wards: {capacty: 3}\n"
    )
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    at = _page()
    at.multiselect(key="changes").set_value(
        ["changes/typo.yaml", "changes/escalation_beds.yaml"]
    ).run()
    assert not at.exception
    errors = "\n".join(_errors(at))
    assert "changes/typo.yaml:3:11: places.wards.capacty: unknown field" in errors
    # The page carries on without it: the pathway offers the baseline and the good change.
    assert at.selectbox(key="pathway_scenario").options == ["baseline", "escalation_beds"]
    assert any("Run the comparison" in i.value for i in at.info)


def test_dated_levers_write_escalation_beds_and_a_surge() -> None:
    at = _page()
    at.checkbox(key=LEVER + "cap1").check()
    at.checkbox(key=LEVER + "surge").check().run()
    surge_days, bed_days = at.date_input[0], at.date_input[1]
    # The dates offered run from the baseline's first day to the last day of the run at the
    # page's settings (warm-up plus days measured).
    first = load_scenario(SCENARIOS / "baseline.yaml").start
    days = at.slider(key="warmup").value + at.slider(key="days").value
    last = first + dt.timedelta(days=days - 1)
    assert (surge_days.min, surge_days.max) == (first, last)
    assert (bed_days.min, bed_days.max) == (first, last)
    opened = last - dt.timedelta(days=40)
    closed = opened + dt.timedelta(days=29)
    bed_days.set_value((opened, closed))
    at.number_input(key=LEVER + "cap1.change").set_value(20)
    at.slider(key=LEVER + "surge_factor").set_value(1.25)
    at.run()
    assert not at.exception and not _errors(at)
    overlay = yaml.safe_load(at.code[0].value)
    assert overlay["places"]["wards"]["changes"]["app_escalation_1"] == {
        "from": opened,
        "to": closed,
        "change": 20,
    }
    assert overlay["arrivals"]["walk_in"]["surges"]["app_surge"]["factor"] == 1.25


@pytest.mark.slow
def test_failed_replications_are_named_above_the_results(monkeypatch, fresh_results) -> None:
    import dataclasses

    import pandas as pd

    real_run = results_store.run

    def run_with_a_failure(*args, **kwargs):
        results = real_run(*args, **kwargs)
        failed = pd.DataFrame(
            [("baseline", 1, kwargs["seed"], "ZeroTimeLoop: stuck")],
            columns=["scenario", "replication", "seed", "error"],
        )
        return dataclasses.replace(results, failures=failed)

    monkeypatch.setattr(results_store, "run", run_with_a_failure)
    at = _page()
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    warnings = [unescaped(w.value) for w in at.warning]
    assert any(
        "1 replication(s) failed" in w
        and "baseline, replication 1" in w
        and "ZeroTimeLoop: stuck" in w
        for w in warnings
    ), warnings


def test_every_page_module_is_in_the_navigation() -> None:
    import importlib
    import pkgutil

    from flowsim.webapp import pages
    from flowsim.webapp.navigation import PAGES

    found = {m.name for m in pkgutil.iter_modules(pages.__path__)}
    assert [m.__name__.rpartition(".")[2] for m in PAGES][0] == "compare"  # opens first
    assert {m.__name__.rpartition(".")[2] for m in PAGES} == found
    for name in found:
        module = importlib.import_module(f"flowsim.webapp.pages.{name}")
        assert module.TITLE and module.URL_PATH and callable(module.page)
    assert len({m.URL_PATH for m in PAGES}) == len(PAGES)
