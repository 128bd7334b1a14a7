"""The compare page: pick a baseline and change ideas (shipped, uploaded or built with levers),
run them with common random numbers, and compare the results with honest uncertainty.

The page only arranges components (:mod:`flowsim.webapp.components`) and charts: scenarios come
from the scenario picker, variants from the variant builder, runs from the result store, charts
from :mod:`flowsim.charts` and the flow diagram from :mod:`flowsim.pathway`.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import streamlit as st

from flowsim import charts
from flowsim.experiment import Results
from flowsim.kpis import headline_kpis, kpi_definition, label
from flowsim.loader import scenario_yaml
from flowsim.scenario import Scenario, with_run_length

from ..components.alterations import show_alterations
from ..components.definitions import show_definitions
from ..components.downloads import downloads, show_downloads
from ..components.headline import HEADLINE_KPIS, show_headline
from ..components.pathway_view import show_pathway
from ..components.progress import replication_progress
from ..components.results_store import memo, run_key, simulate, stored
from ..components.run_settings import run_settings
from ..components.safe_text import error_md, plain
from ..components.scenario_picker import (
    change_scenarios,
    load_file,
    pick_scenarios,
    scenarios_folder,
    shipped_files,
    unique_names,
)
from ..components.stability import show_stability
from ..components.variant_builder import build_variant

TITLE = "Compare scenarios"
URL_PATH = "compare"

log = logging.getLogger("flowsim.app")


def page() -> None:
    st.title("flowsim: test a change before trying it on patients")
    folder = scenarios_folder()
    files = shipped_files(folder)
    if not files:
        # The folder's path stays in the server's log: the page never shows the server's paths.
        log.error("no scenario files found in %s", folder)
        st.error(
            "No scenario files found in the scenarios folder. Start the app from the flowsim "
            "folder, or set FLOWSIM_SCENARIOS to the folder of your scenarios."
        )
        return
    built: dict[str, str] = st.session_state.setdefault("built", {})

    with st.sidebar:
        st.header("1. Scenarios")
        picked = pick_scenarios(folder, files, built)
        st.header("2. Run settings")
        settings = run_settings()
        go = st.button("Run the comparison", type="primary", key="run", width="stretch")

    base_name = picked.baseline
    baseline = load_file(files[base_name], folder)
    tab_results, tab_build, tab_pathway, tab_about = st.tabs(
        ["Results", "Build a variant", "Pathway", "What the measures mean"]
    )
    with tab_build:
        build_variant(baseline, base_name, built, folder, settings.days, settings.warmup)
    variants: list[Scenario] = change_scenarios(picked, built)
    with tab_pathway:
        show_pathway(unique_names([baseline, *variants]))
    with tab_about:
        show_definitions()

    with tab_results:
        if go:
            if not variants:
                st.warning(
                    "Choose, upload or build at least one change to compare with the baseline."
                )
            else:
                scenarios = [
                    with_run_length(s, settings.days, settings.warmup)
                    for s in [baseline, *variants]
                ]
                texts = tuple(scenario_yaml(s) for s in unique_names(scenarios))
                with replication_progress() as progress:
                    simulate(texts, settings.replications, settings.seed, progress)
                st.session_state["last_run"] = (texts, settings.replications, settings.seed)
        last = st.session_state.get("last_run")
        if last is None:
            st.info(
                "Choose a baseline and change ideas in the sidebar (or build one in "
                "**Build a variant**), then press **Run the comparison**."
            )
            return
        if not stored(run_key(*last)):  # dropped from the cache: run again
            with st.spinner("Running the last comparison again…"):
                simulate(*last)
        show_results(simulate(*last), run_key(*last))


# -- results ----------------------------------------------------------------------------------
def kpi_table(comparison: pd.DataFrame, every: bool) -> pd.DataFrame:
    """The comparison as people read it: one row per variant and KPI."""
    t = comparison.copy()
    if not every:
        order = {k: i for i, k in enumerate(headline_kpis(t["kpi"].astype(str)))}
        t = t[t["kpi"].isin(order)]
        t = (
            t.assign(_o=[order[k] for k in t["kpi"]])
            .sort_values(["scenario", "_o"], kind="stable")
            .drop(columns="_o")
        )
    return pd.DataFrame(
        {
            "Variant": t["scenario"].astype(str),
            "Measure": [label(k) for k in t["kpi"]],
            "Unit": [kpi_definition(k)[0] for k in t["kpi"]],
            "Baseline": t["baseline_mean"],
            "Variant mean": t["scenario_mean"],
            "Change": t["difference"],
            "95% CI low": t["ci_low"],
            "95% CI high": t["ci_high"],
            "Verdict": t["verdict"],
            "kpi": t["kpi"],
        }
    )


def show_results(results: Results, key: str) -> None:
    names = list(results.scenarios)
    base = names[0]
    s0 = results.scenarios[base]
    start = s0.start + dt.timedelta(minutes=s0.run.warmup)
    end = s0.start + dt.timedelta(minutes=s0.horizon) - dt.timedelta(days=1)
    if len(results.failures):
        lines = "\n".join(
            f"- {plain(r.scenario)}, replication {r.replication} (seed {r.seed}): "
            + error_md(r.error, scenarios_folder())
            for r in results.failures.itertuples()
        )
        st.warning(
            f"{len(results.failures)} replication(s) failed and are left out of every "
            f"table and chart below:\n\n{lines}"
        )
    comparison = memo(key, "comparison", lambda: results.compare(base))
    show_headline(comparison, base, names[1:])
    show_stability(memo(key, "stability", results.stability))
    show_alterations(results.scenarios, base, names[1:])
    show_forest(comparison, key)
    st.caption(
        f"Measured {start:%d %b %Y} to {end:%d %b %Y} ({s0.run.length / 1440:g} days "
        f"after {s0.run.warmup / 1440:g} days' warm-up), {results.replications} "
        f"replications of each scenario, seed {results.seed}. Each change is compared "
        "with the baseline replication by replication (they share their random "
        "numbers), so the differences are paired; the 95% confidence interval says how "
        "sure the difference is."
    )
    st.subheader(f"Each change against {plain(base)}")
    every = st.toggle("Show every measure", key="every")
    table = memo(key, f"table.{every}", lambda: kpi_table(comparison, every))
    fmt = {
        c: "{:,.1f}" for c in ["Baseline", "Variant mean", "Change", "95% CI low", "95% CI high"]
    }
    styled = table.style.format(fmt, na_rep="–").map(
        lambda v: f"background-color: {charts.VERDICT_COLOURS.get(v, '#999999')}33",
        subset=["Verdict"],
    )
    st.dataframe(
        styled,
        hide_index=True,
        width="stretch",
        column_config={
            "kpi": st.column_config.TextColumn(
                "KPI name", help="The name in the downloaded tables"
            ),
            "Verdict": st.column_config.TextColumn(
                "Verdict",
                help="better / worse: the 95% CI of the change is on one "
                "side of zero; no clear difference: it crosses zero. Volumes and "
                "occupancy say higher / lower.",
            ),
            "Change": st.column_config.NumberColumn(
                "Change",
                help="Variant minus baseline, mean of the paired differences",
                format="%+.1f",
            ),
        },
    )
    with st.expander("What these measures mean"):
        show_definitions(sorted(set(table["kpi"]), key=list(table["kpi"]).index))

    st.subheader("How the measures vary between replications")
    choices = memo(key, "choices", lambda: spread_choices(results.kpis))
    first = choices.index("four_hour_pct") if "four_hour_pct" in choices else 0
    kpi = st.selectbox("Measure", choices, first, key="spread_kpi", format_func=label)
    unit = kpi_definition(kpi)[0]
    st.altair_chart(
        memo(
            key,
            f"spread.{kpi}",
            lambda: charts.kpi_spread(results.kpis, kpi, f"{label(kpi)} ({unit})", names),
        ),
        width="stretch",
    )

    st.subheader("Occupancy by hour of the week")
    how = memo(key, "hour_of_week", results.hour_of_week)
    present = memo(key, "places", lambda: set(how["place"].astype(str)))
    places = [p for p, pl in s0.places.items() if not pl.unlimited and p in present]
    if places:
        default = places.index("wards") if "wards" in places else 0
        place = st.selectbox(
            "Place", places, default, key="occ_place", format_func=lambda p: s0.places[p].label or p
        )
        st.altair_chart(
            memo(
                key,
                f"occupancy.{place}",
                lambda: charts.occupancy_chart(
                    charts.occupancy_by_hour(how, place), s0.places[place].label or place, names
                ),
            ),
            width="stretch",
        )
    tid = results.time_in_department
    if tid is not None:
        st.subheader("How long patients spend in the ED")
        st.altair_chart(
            memo(
                key,
                "time_in_department",
                lambda: charts.time_in_department_chart(charts.time_in_department_band(tid), names),
            ),
            width="stretch",
        )
    ed = results.ed_timeseries
    if ed is not None:
        st.subheader("Exit block and ambulance queue over time")
        hourly = st.toggle("Hour by hour (instead of daily means)", key="ed_hourly")
        freq, per = ("h", "hour") if hourly else ("D", "day")
        c1, c2 = st.columns(2)
        c1.altair_chart(
            memo(
                key,
                f"boarders.{freq}",
                lambda: charts.over_time_chart(
                    charts.ed_band(ed, "boarders", freq),
                    "Admitted patients waiting in the ED (boarders)",
                    f"Patients, mean per {per}",
                    names,
                ),
            ),
            width="stretch",
        )
        c2.altair_chart(
            memo(
                key,
                f"ambulances.{freq}",
                lambda: charts.over_time_chart(
                    charts.ed_band(ed, "ambulance_queue", freq),
                    "Ambulances waiting to hand over",
                    f"Ambulances, mean per {per}",
                    names,
                ),
            ),
            width="stretch",
        )

    st.subheader("Downloads")
    show_downloads(memo(key, "downloads", lambda: downloads(results, comparison)))


def show_forest(comparison: pd.DataFrame, key: str) -> None:
    """The difference chart: each change's paired difference for a chosen headline measure."""
    present = set(comparison["kpi"].astype(str))
    choices = [k for k in HEADLINE_KPIS if k in present]
    if not choices:
        return
    kpi = st.selectbox(
        "Measure for the difference chart", choices, 0, key="forest_kpi", format_func=label
    )
    st.altair_chart(
        memo(key, f"forest.{kpi}", lambda: charts.forest_plot(comparison, kpi)), width="stretch"
    )


def spread_choices(kpis: pd.DataFrame) -> list[str]:
    """The measures offered for the spread chart: the headline ones, in registry order."""
    return headline_kpis(sorted(set(kpis["kpi"].astype(str))))
