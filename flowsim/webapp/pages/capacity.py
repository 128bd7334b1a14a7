"""The page "How much capacity?": pick a lever and a target, watch the search, see the answer.

It runs the same search as ``flowsim search`` (:mod:`flowsim.search`) on the scenario picked,
with the run settings of the sidebar, inside the app's budget (:mod:`flowsim.budget`).
"""

from __future__ import annotations

import os

import streamlit as st

from flowsim.budget import APP_MAX_PATIENTS
from flowsim.kpis import kpi_names, label
from flowsim.scenario import Scenario, with_run_length
from flowsim.search import Search, parse_target, scenario_levers
from flowsim.search.charts import search_chart
from flowsim.search.output import answer_text, value_table
from flowsim.search.plan import plan_search, search_budget
from flowsim.search.runner import make_evaluate

from ..components.results_store import worker_memory_limit_mb
from ..components.run_settings import RunSettings, run_settings
from ..components.safe_text import plain
from ..components.scenario_picker import load_file, scenarios_folder, shipped_files

TITLE = "How much capacity?"
URL_PATH = "capacity"

MOST = 20
"""The most replications the page lets one lever value have (the command line allows more)."""


def page() -> None:
    st.title("How much capacity?")
    st.caption(
        "The fewest beds or staff whose results meet your target, with stated confidence. "
        "Values near the target get more replications; the others are decided quickly."
    )
    folder = scenarios_folder()
    files = shipped_files(folder)
    if not files:
        st.error("No scenario files found in the scenarios folder.")
        return
    with st.sidebar:
        st.header("1. Scenario")
        name = st.selectbox("Scenario", list(files), key="search_scenario")
        base = load_file(files[name], folder)
        st.header("2. Run settings")
        # Each value tried is one run of these settings; the search's own budget is checked
        # below, once the range of values is known.
        settings = run_settings([base], name, os.cpu_count() or 1)
    scenario = with_run_length(base, settings.days, settings.warmup)
    levers = scenario_levers(scenario)
    whole = [k for k, v in levers.items() if isinstance(v, int)]
    left, right = st.columns(2)
    with left:
        st.subheader("Lever")
        lever = st.selectbox("What to change", whole or list(levers), key="search_lever")
        now = levers[lever]
        low = st.number_input("From", value=max(0, int(now * 0.9)), step=1, key="search_low")
        high = st.number_input("To", value=int(now * 1.1) + 1, step=1, key="search_high")
        # About ten values to try by default: a page search must keep the app's budget.
        step = st.number_input(
            "Step", min_value=1, value=max(1, int(now * 0.2) // 10), step=1, key="search_step"
        )
    with right:
        st.subheader("Target")
        kpis = sorted(kpi_names(scenario))
        kpi = st.selectbox(
            "Measure",
            kpis,
            index=kpis.index("four_hour_pct") if "four_hour_pct" in kpis else 0,
            key="search_kpi",
            format_func=lambda k: f"{label(k)} ({k})",
        )
        op = st.radio("Must be", [">=", "<="], horizontal=True, key="search_op")
        value = st.number_input("Value", value=76.0, key="search_value")
        confidence = st.select_slider(
            "Confidence", [0.8, 0.9, 0.95, 0.99], value=0.95, key="search_confidence"
        )
        most = st.slider(
            "Most replications for one value",
            settings.replications,
            max(MOST, settings.replications),
            max(MOST, settings.replications),
            key="search_most",
        )
    if st.button("Search", type="primary", key="search_go"):
        _search(
            scenario, lever, f"{low}:{high}:{step}", f"{kpi}{op}{value}", confidence, settings, most
        )
    shown = st.session_state.get("search_result")
    if shown is not None:
        text, spec, table = shown
        st.subheader("Answer")
        for line in text.splitlines():
            st.markdown(plain(line))
        st.vega_lite_chart(spec, width="stretch")
        st.dataframe(table, hide_index=True)


def _search(
    scenario: Scenario,
    lever: str,
    values: str,
    target: str,
    confidence: float,
    settings: RunSettings,
    most: int,
) -> None:
    """Run the search, showing its progress, and keep its answer for the page to show."""
    first, seed = settings.replications, settings.seed
    levers = plan_search(scenario, [lever], [values])
    targets = [parse_target(target, kpi_names(scenario))]
    workers = os.cpu_count() or 1
    budget = search_budget(scenario, levers, min(first, most), APP_MAX_PATIENTS, workers, how="")
    evaluate = make_evaluate(
        scenario,
        levers,
        seed,
        backend="processes",
        jobs=workers,
        memory_limit_mb=worker_memory_limit_mb(),
    )
    status = st.status("Searching…", expanded=True)

    def progress(runs: int, doing: str) -> None:
        status.write(plain(f"{runs} replications so far; {doing}"))

    result = Search(
        levers,
        targets,
        evaluate,
        confidence,
        min(first, most),
        most,
        progress,
        max_runs=budget,
        how="run the search from the command line",
    ).run()
    status.update(label=f"Done: {result.runs} replications", state="complete", expanded=False)
    table = value_table(result)
    st.session_state["search_result"] = (answer_text(result), search_chart(result, table), table)
