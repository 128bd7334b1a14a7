"""The "Study a change" page: make a prediction from the comparison on screen (or upload one),
upload the observed weeks, and see each measure's SPC chart and verdict.

The page calls the same functions as ``flowsim predict`` and ``flowsim study``; every text that
comes from a file is shown as plain text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st
import yaml

from flowsim.budget import APP_MAX_PATIENTS, check_budget, estimate
from flowsim.errors import FlowsimError
from flowsim.loader import load_scenario
from flowsim.pdsa.charts import spc_chart
from flowsim.pdsa.observed import read_observed, spellings
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


def _upload_text(upload: Any) -> str:
    raw = upload.getvalue()
    if len(raw) > MAX_BYTES:
        raise FlowsimError(f"{upload.name}: uploads are limited to {MAX_BYTES // 1024} kB")
    try:
        return str(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise FlowsimError(f"{upload.name}: not a text file (UTF-8)") from e


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
