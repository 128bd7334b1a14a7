"""The "Study a change" page: make a prediction from the comparison on screen (or upload one),
upload the observed weeks (or an event log to count them from), and see each measure's SPC chart
and verdict.

The page calls the same functions as ``flowsim predict`` and ``flowsim study``; every text that
comes from a file is shown as plain text. An uploaded event log is written to a temporary folder
that is removed as soon as it is read; only the weekly figures are kept in the session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from flowsim.budget import APP_MAX_PATIENTS, check_budget, estimate
from flowsim.calibration.eventlog import EventLogError
from flowsim.errors import FlowsimError
from flowsim.loader import load_scenario
from flowsim.pdsa.charts import spc_chart
from flowsim.pdsa.from_log import LogWeeks, observed_csv, read_log_weeks
from flowsim.pdsa.observed import ObservedWeeks, read_observed, spellings
from flowsim.pdsa.predict import (
    effect_sentence,
    parse_prediction,
    predict,
    prediction_json,
    prepare,
)
from flowsim.pdsa.report import points_csv
from flowsim.pdsa.spc import Rules
from flowsim.pdsa.study import study

from ..components.progress import replication_progress
from ..components.safe_text import plain

TITLE = "Study a change"
URL_PATH = "study"
MAX_BYTES = 2 * 1024 * 1024
"""The largest prediction or observed-weeks file the page reads."""
MAX_LOG_BYTES = 100 * 1024 * 1024
"""The largest event-log file the page reads (a year of a large ED is about 15 MB of CSV)."""
LOG_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq")
TEMP_PREFIX = "flowsim-study-"


def _upload_text(upload: Any) -> str:
    raw = upload.getvalue()
    if len(raw) > MAX_BYTES:
        raise FlowsimError(f"{upload.name}: uploads are limited to {MAX_BYTES // 1024} kB")
    try:
        return str(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise FlowsimError(f"{upload.name}: not a text file (UTF-8)") from e


def _log_suffix(name: str) -> str:
    low = name.lower()
    for suffix in LOG_SUFFIXES:
        if low.endswith(suffix):
            return suffix
    raise FlowsimError(f"{name}: expected a .csv, .csv.gz or .parquet file")


def weeks_from_uploads(
    uploads: dict[str, tuple[str, bytes]], kpis: list[str], change_date: dt.date
) -> LogWeeks:
    """The weekly figures of ``kpis`` counted from uploaded log files (``attendances``, and
    optionally ``spells``, ``capacity``, ``map``: each a file name and its bytes). The files
    exist on disk only inside this call; messages name the uploaded file, never a server path."""
    for name, raw in uploads.values():
        if len(raw) > MAX_LOG_BYTES:
            raise FlowsimError(
                f"{name} is {len(raw):,} bytes; uploads are limited to {MAX_LOG_BYTES:,}"
            )
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp:
        paths: dict[str, Path] = {}
        for role, (name, raw) in uploads.items():
            paths[role] = Path(tmp) / f"{role}{'.yaml' if role == 'map' else _log_suffix(name)}"
            paths[role].write_bytes(raw)
        shown = {str(paths[r]): uploads[r][0] for r in paths}
        try:
            weeks = read_log_weeks(
                paths["attendances"], kpis, change_date,
                paths.get("spells"), paths.get("capacity"), paths.get("map"),
            )  # fmt: skip
        except EventLogError as e:
            raise EventLogError(_named(str(e), shown)) from None
    weeks.summary = [_named(line, shown) for line in weeks.summary]
    weeks.notes = [_named(line, shown) for line in weeks.notes]
    return weeks


def _named(message: str, shown: dict[str, str]) -> str:
    for path, name in shown.items():
        message = message.replace(path, name)
    return re.sub(rf"/\S*{TEMP_PREFIX}\S*/", "", message)


def _observed_from_log(record: dict[str, Any], change_date: dt.date) -> LogWeeks | None:
    limit = f"at most {MAX_LOG_BYTES // (1024 * 1024)} MB each"
    att = st.file_uploader(f"Attendances (required; {limit})", key="pdsa_log_attendances")
    spells = st.file_uploader("Spells (optional: for ward occupancy)", key="pdsa_log_spells")
    capacity = st.file_uploader(
        "Capacity: beds by unit (optional: for ward occupancy)", key="pdsa_log_capacity"
    )
    mapping = st.file_uploader("Mapping file, MAP.yaml (optional)", key="pdsa_log_map")
    if att is None:
        return None
    uploads = {"attendances": (att.name, att.getvalue())}
    for role, f in (("spells", spells), ("capacity", capacity), ("map", mapping)):
        if f is not None:
            uploads[role] = (f.name, f.getvalue())
    kpis = [str(k["kpi"]) for k in record["kpis"]]
    # Counting a year's log takes seconds, so the figures are kept for the same files, the
    # same measures and the same weekday of the change date; the log itself is not kept.
    digest = hashlib.sha256()
    for role, (name, raw) in sorted(uploads.items()):
        digest.update(f"{role}:{name}:{len(raw)}:".encode())
        digest.update(raw)
    key = (digest.hexdigest(), tuple(kpis), change_date.weekday())
    kept = st.session_state.get("pdsa_log_weeks")
    if kept is not None and kept[0] == key:
        weeks: LogWeeks = kept[1]
    else:
        with st.spinner("Counting the weeks in the log..."):
            weeks = weeks_from_uploads(uploads, kpis, change_date)
        st.session_state["pdsa_log_weeks"] = (key, weeks)
    for line in weeks.summary:
        st.caption(plain(line))
    for line in weeks.notes:
        st.warning(plain(line))
    st.download_button(
        "Download the weekly figures counted from the log (CSV)",
        observed_csv(weeks.observed),
        file_name="observed_weeks.csv",
        mime="text/csv",
        key="pdsa_download_log_weeks",
    )
    return weeks


def _from_comparison() -> None:
    """Make a prediction from the baseline and one change of the comparison last run."""
    last = st.session_state.get("last_run")
    if last is None:
        st.info(
            "Run a comparison on the **Compare scenarios** page first, or upload a prediction "
            "file made by `flowsim predict`."
        )
        return
    texts, replications, seed = last
    scenarios = [load_scenario(yaml.safe_load(t)) for t in texts]
    names = [s.name for s in scenarios]
    change = st.selectbox("The change to test", names[1:], key="pdsa_change")
    c1, c2, c3 = st.columns(3)
    weeks = c1.number_input("Weeks simulated", 1, 26, 8, key="pdsa_weeks")
    reps = c2.number_input("Replications", 2, 50, max(2, int(replications)), key="pdsa_reps")
    start = c3.date_input("The change starts on", value=None, key="pdsa_from")
    if st.button("Make the prediction", key="pdsa_predict", type="primary"):
        base, chosen = scenarios[0], scenarios[names.index(str(change))]
        shaped = [prepare(s, int(weeks), None, start) for s in (base, chosen)]
        check_budget(estimate(shaped, int(reps), patients=False), APP_MAX_PATIENTS)
        with replication_progress() as progress:
            st.session_state["pdsa_prediction"] = predict(
                base, chosen, weeks=int(weeks), replications=int(reps), seed=int(seed),
                start=start, progress=progress,
            )  # fmt: skip


def _prediction() -> dict[str, Any] | None:
    how = st.radio(
        "Where the prediction comes from",
        ["The comparison on screen", "A prediction file"],
        key="pdsa_source",
        horizontal=True,
    )
    if how == "A prediction file":
        upload = st.file_uploader("Prediction (JSON)", type=["json"], key="pdsa_prediction_file")
        if upload is None:
            return None
        return parse_prediction(_upload_text(upload), upload.name)
    _from_comparison()
    record: dict[str, Any] | None = st.session_state.get("pdsa_prediction")
    return record


def page() -> None:
    st.title("Study a change: observed weeks against the prediction")
    st.caption(
        "Plan: record what the model predicts before the test of change. Study: set the weeks "
        "observed since against it on SPC charts (Making Data Count rules)."
    )
    st.header("1. The prediction")
    record = _prediction()
    if record is None:
        return
    sc = record.get("scenarios", {})
    st.markdown(
        f"Prediction of {plain(sc.get('change', {}).get('name', '?'))} against "
        f"{plain(sc.get('baseline', {}).get('name', '?'))}:"
    )
    for k in record["kpis"]:
        st.text(effect_sentence(k))
    st.download_button(
        "Download the prediction (JSON)",
        prediction_json(record),
        file_name="prediction.json",
        mime="application/json",
        key="pdsa_download_prediction",
    )

    st.header("2. The observed weeks")
    where = st.radio(
        "Where the observed weeks come from",
        ["A weekly file", "An event log"],
        key="pdsa_observed_source",
        horizontal=True,
    )
    upload = None
    if where == "A weekly file":
        upload = st.file_uploader(
            "Observed weeks (CSV: week_start, kpi, value, denominator)",
            type=["csv"],
            key="pdsa_observed",
        )
    default = dt.date.fromisoformat(record["from"]) if record.get("from") else dt.date.today()
    c1, c2, c3, c4 = st.columns(4)
    change_date = c1.date_input("Change date", value=default, key="pdsa_change_date")
    shift = c2.number_input("Shift: points in a run", 0, 30, 7, key="pdsa_shift")
    trend = c3.number_input("Trend: points rising or falling", 0, 30, 7, key="pdsa_trend")
    rephase = c4.checkbox("Set limits again after the change", key="pdsa_rephase")
    observed: dict[str, ObservedWeeks]
    if where == "An event log":
        st.caption(
            "Upload the log in the format of docs/event-log.md. Weeks begin on the change "
            "date's weekday; each week's figures are counted as the model counts them. The "
            "files are read and removed at once: only the weekly figures are kept."
        )
        weeks = _observed_from_log(record, change_date)
        if weeks is None:
            return
        if not weeks.observed:
            st.error("None of the prediction's measures can be counted from this log.")
            return
        observed = weeks.observed
    else:
        if upload is None:
            return
        known = spellings((k["kpi"], k.get("label", k["kpi"])) for k in record["kpis"])
        units = {k["kpi"]: k.get("unit", "") for k in record["kpis"]}
        observed = read_observed(_upload_text(upload), upload.name, known, units)
    rules = Rules(shift=int(shift), trend=int(trend))
    studies = study(observed, record, change_date, rules, rephase)

    st.header("3. What the charts say")
    for s in studies:
        st.text(s.verdict)
    for s in studies:
        st.subheader(s.label)
        st.vega_lite_chart(spc_chart(s), width="stretch")
        if s.note:
            st.caption(s.note)
    st.download_button(
        "Download the points, limits and signals (CSV)",
        points_csv(studies),
        file_name="points.csv",
        mime="text/csv",
        key="pdsa_download_points",
    )
