"""The calibrate page: upload an event log, see the fitted profiles and how well each duration
fits, and download the scenario (to use as the baseline of a comparison).

Patient-level data stays in this request: the uploads are written to a temporary folder that is
removed as soon as they are read, and only the fitted figures (counts, shares, parameters) are
kept in the session.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from flowsim.calibration.eventlog import EventLogError, read_event_log, read_map
from flowsim.errors import FlowsimError

from ..components.safe_text import plain

TITLE = "Calibrate from your event log"
URL_PATH = "calibrate"

MAX_LOG_BYTES = 100 * 1024 * 1024
"""Uploads larger than this are refused unread (a year of a large ED is about 15 MB of CSV)."""
SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq")
HOURS = [f"{h:02d}:00" for h in range(24)]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class Fitted:
    """What the page shows and keeps: fitted figures only, nothing patient-level."""

    scenario_text: str
    summary: list[str]
    hourly: pd.DataFrame
    weekday: pd.DataFrame
    durations: pd.DataFrame


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
    # The files are gone; the log is used here and not kept.
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
    return Fitted(text, summary, hourly, weekday, durations)


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
    att = st.file_uploader(f"Attendances (required; {limit})", key="cal_attendances")
    spells = st.file_uploader("Spells (optional)", key="cal_spells")
    capacity = st.file_uploader("Capacity: beds by unit (optional)", key="cal_capacity")
    mapping = st.file_uploader("Mapping file, MAP.yaml (optional)", key="cal_map")
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
    st.caption(
        "To compare change ideas against it, upload the downloaded file as the baseline in "
        "Compare scenarios."
    )
    st.subheader("Arrivals by hour of day (relative rate, smoothed)")
    st.line_chart(fitted.hourly)
    st.subheader("Arrivals by weekday (relative to the mean day)")
    st.bar_chart(fitted.weekday)
    st.subheader("Durations: the distribution chosen and how well it fits")
    st.dataframe(fitted.durations, hide_index=True)
    with st.expander("The scenario file"):
        st.code(fitted.scenario_text, language="yaml")
