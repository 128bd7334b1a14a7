"""The calibrate page: upload an event log, see the fitted profiles and how well each duration
fits, check the model against the log, download the scenario and use it as the baseline of a
comparison.

Patient-level data stays in this request: the uploads are written to a temporary folder that is
removed as soon as they are read, and only the fitted figures (counts, shares, parameters) and
the observed side of the check (:class:`~flowsim.calibration.against.Observed`: means, shares
and counts by hour) are kept in the session. The uploaders are emptied once a log is fitted.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from flowsim.calibration.against import Comparison, Observed, observe
from flowsim.calibration.eventlog import EventLogError, read_event_log, read_map
from flowsim.errors import FlowsimError
from flowsim.experiment import Progress

from ..components.progress import replication_progress
from ..components.safe_text import plain

TITLE = "Calibrate from your event log"
URL_PATH = "calibrate"

MAX_LOG_BYTES = 100 * 1024 * 1024
"""Uploads larger than this are refused unread (a year of a large ED is about 15 MB of CSV)."""
SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq")
HOURS = [f"{h:02d}:00" for h in range(24)]
CHECK_REPLICATIONS = 10
"""Replications of the check by default: as ``flowsim calibrate --report``, so the figures agree."""
BASELINE_KEY = "calibrated_baseline"
"""Session key of the calibrated scenario offered as a baseline on the compare page: a pair of
the label shown there and the scenario's YAML (read by the scenario picker)."""
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class Fitted:
    """What the page shows and keeps: fitted figures only, nothing patient-level."""

    scenario_text: str
    summary: list[str]
    hourly: pd.DataFrame
    weekday: pd.DataFrame
    durations: pd.DataFrame
    source: str
    observed: Observed


@dataclass(frozen=True)
class Checked:
    """The model against the log: the comparison (aggregates) and its offline HTML report."""

    comparison: Comparison
    report_html: bytes
    failures: int


def _suffix(name: str) -> str:
    low = name.lower()
    for s in SUFFIXES:
        if low.endswith(s):
            return s
    raise FlowsimError(f"{name}: expected a .csv, .csv.gz or .parquet file")


def calibrate_uploads(uploads: dict[str, tuple[str, bytes]]) -> Fitted:
    """Calibrate from uploaded files (``attendances``, and optionally ``spells``,
    ``capacity``, ``map``: each a file name and its bytes). The files exist on disk only inside
    this call; messages name the uploaded file, never a server path."""
    for _, (name, raw) in uploads.items():
        if len(raw) > MAX_LOG_BYTES:
            raise FlowsimError(
                f"{name} is {len(raw):,} bytes; uploads are limited to {MAX_LOG_BYTES:,}"
            )
    with tempfile.TemporaryDirectory(prefix="flowsim-calibrate-") as tmp:
        folder = Path(tmp)
        paths: dict[str, Path] = {}
        for role, (name, raw) in uploads.items():
            suffix = ".yaml" if role == "map" else _suffix(name)
            paths[role] = folder / f"{role}{suffix}"
            paths[role].write_bytes(raw)
        shown = {str(paths[r]): uploads[r][0] for r in paths}
        try:
            mapping = read_map(paths["map"]) if "map" in paths else None
            log = read_event_log(
                paths["attendances"], paths.get("spells"), paths.get("capacity"), mapping
            )
        except EventLogError as e:
            raise EventLogError(_named(str(e), shown)) from None
    # The files are gone; the log is used here and not kept: what the check needs of it is
    # worked out now, as aggregates.
    from flowsim.calibration.fit import calibrate
    from flowsim.calibration.write import scenario_text

    cal = calibrate(log)
    text = scenario_text(cal, "calibrated", uploads["attendances"][0])
    summary = [
        f"{len(log.attendances):,} attendances"
        + (f" and {len(log.spells):,} spells" if log.spells is not None else "")
        + f", {log.first_day} to {log.last_day} ({log.days} days)"
    ]
    summary += [_named(str(d), shown) for d in log.dropped]
    hourly = pd.DataFrame({m: s.hourly_profile for m, s in cal.streams.items()}, index=HOURS)
    weekday = pd.DataFrame({m: s.weekday_factors for m, s in cal.streams.items()}, index=DAYS)
    rows = []
    for mode, by_class in cal.first_wait.items():
        for c, f in by_class.items():
            rows.append([f"{mode} wait for a clinician", c, f.dist["dist"], f.n, f.ks, f.method])
    for mode, by_class in cal.treatment.items():
        for c, f in by_class.items():
            rows.append([f"{mode} treatment", c, f.dist["dist"], f.n, f.ks, f.method])
    for unit, f in cal.handover.items():
        rows.append([f"{unit} handover", "all", f.dist["dist"], f.n, f.ks, f.method])
    for unit, u in cal.units.items():
        rows.append(
            [f"{unit} stay", "all", u.stay.dist["dist"], u.stay.n, u.stay.ks, u.stay.method]
        )
    durations = pd.DataFrame(
        rows, columns=["duration", "class", "distribution", "n", "KS distance", "how"]
    )
    source = uploads["attendances"][0]
    return Fitted(text, summary, hourly, weekday, durations, source, observe(log, source))


def check_model(fitted: Fitted, replications: int, progress: Progress | None = None) -> Checked:
    """Run the calibrated scenario over the log's dates (within the app's budget) and put it
    beside the observed aggregates kept from the log, as ``flowsim calibrate --report`` does."""
    import yaml

    from flowsim.budget import APP_MAX_PATIENTS, check_budget, estimate, physical_memory
    from flowsim.calibration.against import compare_observed
    from flowsim.experiment import run
    from flowsim.loader import load_scenario

    from ..components.results_store import worker_memory_limit_mb

    if not 2 <= replications <= 1000:
        raise FlowsimError("the check needs 2 to 1,000 replications for a prediction interval")
    scenario = load_scenario(yaml.safe_load(fitted.scenario_text))
    workers = os.cpu_count() or 1
    # The visit table is needed (arrivals by hour, stays), so it is counted in the budget.
    work = estimate(scenario, replications, patients=True, workers=workers)
    check_budget(work, APP_MAX_PATIENTS, how="", memory_bytes=physical_memory())
    with warnings.catch_warnings():
        # As in the result store: forking the threaded server is safe for workers that only
        # simulate.
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        results = run(
            scenario,
            replications=replications,
            jobs=0,
            patients=True,
            progress=progress,
            memory_limit_mb=worker_memory_limit_mb(),
        )
    if len(results.failures) >= replications:
        first = results.failures.iloc[0]["error"]
        raise FlowsimError(f"every replication of the check failed; the first: {first}")
    comparison = compare_observed(fitted.observed, scenario, results)
    return Checked(comparison, report_html(comparison, fitted.source), len(results.failures))


def report_html(comparison: Comparison, source: str) -> bytes:
    """The offline HTML report of ``comparison``, built in a temporary folder that is removed."""
    from flowsim.calibration.against import write_comparison

    with tempfile.TemporaryDirectory(prefix="flowsim-check-") as tmp:
        write_comparison(comparison, Path(tmp), source)
        return (Path(tmp) / "model-vs-observed.html").read_bytes()


def _named(message: str, shown: dict[str, str]) -> str:
    for path, name in shown.items():
        message = message.replace(path, name)
    return re.sub(r"/\S*flowsim-calibrate-\S*/", "", message)


def page() -> None:
    st.title("Calibrate a scenario from your event log")
    st.markdown(
        "Upload your ED attendances (and, if you have them, inpatient spells and beds) as CSV "
        "or Parquet, in the format of `docs/event-log.md`. The files are read for this "
        "calibration only: nothing patient-level is kept or written, and the scenario holds "
        "only rates, shares and fitted parameters."
    )
    limit = f"at most {MAX_LOG_BYTES // (1024 * 1024)} MB each"
    # New uploaders once a log is fitted: the old ones, and the files they hold, are dropped.
    gen = st.session_state.setdefault("cal_uploads", 0)
    att = st.file_uploader(f"Attendances (required; {limit})", key=f"cal_attendances.{gen}")
    spells = st.file_uploader("Spells (optional)", key=f"cal_spells.{gen}")
    capacity = st.file_uploader("Capacity: beds by unit (optional)", key=f"cal_capacity.{gen}")
    mapping = st.file_uploader("Mapping file, MAP.yaml (optional)", key=f"cal_map.{gen}")
    if st.button("Calibrate", key="cal_run", disabled=att is None) and att is not None:
        uploads = {"attendances": (att.name, att.getvalue())}
        for role, f in (("spells", spells), ("capacity", capacity), ("map", mapping)):
            if f is not None:
                uploads[role] = (f.name, f.getvalue())
        try:
            with st.spinner("Reading and fitting..."):
                st.session_state["cal_fitted"] = calibrate_uploads(uploads)
        except FlowsimError as e:
            st.session_state.pop("cal_fitted", None)
            st.error(plain(e))
        else:
            st.session_state.pop("cal_checked", None)
            st.session_state["cal_uploads"] = gen + 1
            st.rerun()
    fitted: Fitted | None = st.session_state.get("cal_fitted")
    if fitted is None:
        st.info("Upload an attendances file and press Calibrate.")
        return
    for line in fitted.summary:
        st.caption(plain(line))
    st.download_button(
        "Download the scenario (YAML)",
        fitted.scenario_text,
        file_name="calibrated.yaml",
        mime="text/yaml",
        key="cal_download",
    )
    show_use_as_baseline(fitted)
    st.subheader("Arrivals by hour of day (relative rate, smoothed)")
    st.line_chart(fitted.hourly)
    st.subheader("Arrivals by weekday (relative to the mean day)")
    st.bar_chart(fitted.weekday)
    st.subheader("Durations: the distribution chosen and how well it fits")
    st.dataframe(fitted.durations, hide_index=True)
    with st.expander("The scenario file"):
        st.code(fitted.scenario_text, language="yaml")

    show_check(fitted)


def show_use_as_baseline(fitted: Fitted) -> None:
    """Offer the calibrated scenario as the baseline of the compare page."""
    label = f"calibrated: {fitted.source}"
    if st.button("Use as the baseline in Compare scenarios", key="cal_baseline"):
        st.session_state[BASELINE_KEY] = (label, fitted.scenario_text)
        # Read by the scenario picker, which selects it once (its own widget, its own run).
        st.session_state["calibrated_baseline.select"] = True
    if st.session_state.get(BASELINE_KEY, ("", ""))[1] == fitted.scenario_text:
        st.success(
            f"**{plain(label)}** is offered as the baseline in Compare scenarios. Build "
            "change ideas on it there with **Build a variant** (the levers work on any "
            "baseline); the shipped change files extend the shipped baseline and do not apply "
            "to it."
        )


def show_check(fitted: Fitted) -> None:
    """Model against observed: run the scenario over the log's dates and show the table, the
    charts and the offline report."""
    st.subheader("Check the model against your log")
    st.markdown(
        "Runs the calibrated scenario over your log's own dates and puts each measure the log "
        "shows beside the model's mean and a 95% *prediction* interval: what one real period "
        "could show if the model were right. Observed inside the interval is evidence the "
        "model reproduces your department; outside is a place to look."
    )
    reps = st.number_input(
        "Replications",
        min_value=2,
        max_value=100,
        value=CHECK_REPLICATIONS,
        key="cal_check_reps",
        help="More replications give a steadier mean and a truer interval, and take longer.",
    )
    if st.button("Check the model against your log", key="cal_check"):
        try:
            with replication_progress() as progress:
                st.session_state["cal_checked"] = check_model(fitted, int(reps), progress)
        except FlowsimError as e:
            st.session_state.pop("cal_checked", None)
            st.error(plain(e))
    checked: Checked | None = st.session_state.get("cal_checked")
    if checked is None:
        return
    c = checked.comparison
    if checked.failures:
        st.warning(f"{checked.failures} replication(s) failed and are left out of the check.")
    m = c.measures
    inside = m["inside"].dropna()
    st.markdown(
        f"Observed inside the model's 95% prediction interval for **{int(inside.sum())} of "
        f"{len(inside)}** measures ({c.replications} replications)."
    )
    st.dataframe(check_table(m), hide_index=True)
    from flowsim.calibration.against import NOT_SHOWN, comparison_charts

    for _, spec in comparison_charts(c):
        st.vega_lite_chart(spec)
    st.caption(plain(NOT_SHOWN))
    st.download_button(
        "Download the report (offline HTML)",
        checked.report_html,
        file_name="model-vs-observed.html",
        mime="text/html",
        key="cal_report",
    )
    st.download_button(
        "Download the table (CSV)",
        m.to_csv(index=False),
        file_name="measures.csv",
        mime="text/csv",
        key="cal_measures_csv",
    )


def check_table(measures: pd.DataFrame) -> pd.DataFrame:
    """The side-by-side table as people read it."""
    return pd.DataFrame(
        {
            "Measure": measures["measure"],
            "Group": measures["group"],
            "Unit": measures["unit"],
            "Observed": measures["observed"].round(1),
            "Model mean": measures["simulated_mean"].round(1),
            "95% PI low": measures["pi_low"].round(1),
            "95% PI high": measures["pi_high"].round(1),
            "Inside?": [
                "-" if v is None or v != v else ("yes" if v else "NO") for v in measures["inside"]
            ],
        }
    )
