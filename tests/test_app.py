"""The Streamlit page, driven headless with Streamlit's AppTest: it loads, runs a comparison and
shows the table and charts, refuses bad uploads with the CLI's messages, and builds a variant
whose downloaded YAML flowsim validates. Run settings are tiny so that the file runs quickly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from flowsim import load_scenario
from flowsim.cli import main as cli

from .shared import REPO, SCENARIOS

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

VERDICTS = {"better", "worse", "higher", "lower", "no clear difference", ""}
LEVER = "lever.baseline.yaml."


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    assert not at.exception
    return at


def _tiny_settings(at: AppTest) -> None:
    at.slider(key="days").set_value(7)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(2)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_page_loads_with_no_exception() -> None:
    at = _page()
    assert not _errors(at)
    assert at.selectbox(key="baseline").value == "baseline.yaml"
    assert at.multiselect(key="changes").value == ["changes/escalation_beds.yaml"]
    assert any("Run the comparison" in i.value for i in at.info)


def test_run_of_baseline_and_a_shipped_change_shows_the_table_and_charts(monkeypatch) -> None:
    from flowsim import webapp

    runs = []
    real_run = webapp.run

    def counting_run(*args, **kwargs):
        runs.append(kwargs.get("progress"))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(webapp, "run", counting_run)
    webapp._result_store().clear()
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
    # KPI spread, occupancy, time in department, boarders, ambulance queue.
    assert len(at.get("vega_lite_chart")) == 5
    assert len(at.get("graphviz_chart")) == 1
    labels = {b.label for b in at.get("download_button")}
    assert {"KPIs by replication (CSV)", "Comparison (CSV)", "Occupancy time series (Parquet)",
            "ED time series (Parquet)", "Scenarios as run (YAML, zip)"} <= labels
    assert len(runs) == 1 and runs[0] is not None   # with a progress bar
    # Running again, or changing the view, shows the result from the cache without running.
    at.button(key="run").click().run()
    at.toggle(key="every").set_value(True).run()
    assert not at.exception
    assert len(at.dataframe[0].value) > len(table)
    assert len(runs) == 1


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


def test_a_built_variant_downloads_as_yaml_that_validates_and_runs(tmp_path: Path) -> None:
    at = _page()
    at.text_input(key=LEVER + "name").set_value("busier_with_beds")
    at.slider(key=LEVER + "demand").set_value(1.2)
    at.number_input(key=LEVER + "beds.wards").set_value(640)
    at.slider(key=LEVER + "delayed.ward_stay").set_value(0.1)
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
    assert s.stages["ward_stay"].delayed_discharge.share == 0.1
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
        "extends: ../baseline.yaml\nplaces:\n  wards: {capacty: 3}\n")
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    at = _page()
    at.multiselect(key="changes").set_value(["changes/typo.yaml",
                                             "changes/escalation_beds.yaml"]).run()
    assert not at.exception
    errors = "\n".join(_errors(at))
    assert "changes/typo.yaml:3:11: places.wards.capacty: unknown field" in errors
    assert at.button(key="run") is not None


def test_dated_levers_write_escalation_beds_and_a_surge() -> None:
    import datetime as dt

    at = _page()
    at.checkbox(key=LEVER + "cap1").check()
    at.checkbox(key=LEVER + "surge").check().run()
    surge_days, bed_days = at.date_input[0], at.date_input[1]
    assert surge_days.min == dt.date(2024, 9, 2)   # the run's first day ...
    assert bed_days.max == dt.date(2024, 12, 8)    # ... and last, at the default settings
    bed_days.set_value((dt.date(2024, 11, 1), dt.date(2024, 11, 30)))
    at.number_input(key=LEVER + "cap1.change").set_value(20)
    at.slider(key=LEVER + "surge_factor").set_value(1.25)
    at.run()
    assert not at.exception and not _errors(at)
    overlay = yaml.safe_load(at.code[0].value)
    assert overlay["places"]["wards"]["changes"]["app_escalation_1"] == {
        "from": dt.date(2024, 11, 1), "to": dt.date(2024, 11, 30), "change": 20}
    assert overlay["arrivals"]["walk_in"]["surges"]["app_surge"]["factor"] == 1.25


def test_failed_replications_are_named_above_the_results(monkeypatch) -> None:
    import dataclasses

    import pandas as pd

    from flowsim import webapp

    real_run = webapp.run

    def run_with_a_failure(*args, **kwargs):
        results = real_run(*args, **kwargs)
        failed = pd.DataFrame([("baseline", 1, kwargs["seed"], "ZeroTimeLoop: stuck")],
                              columns=["scenario", "replication", "seed", "error"])
        return dataclasses.replace(results, failures=failed)

    monkeypatch.setattr(webapp, "run", run_with_a_failure)
    webapp._result_store().clear()
    at = _page()
    _tiny_settings(at)
    at.button(key="run").click().run()
    assert not at.exception and not _errors(at)
    warnings = [w.value for w in at.warning]
    assert any("1 replication(s) failed" in w and "baseline, replication 1" in w
               and "ZeroTimeLoop: stuck" in w for w in warnings), warnings
    webapp._result_store().clear()
