"""The compare page: pick a baseline and change ideas (shipped, uploaded or built with levers),
run them with common random numbers, and compare the results with honest uncertainty.

The page only arranges components (:mod:`flowsim.webapp.components`) and charts: scenarios come
from the scenario picker, variants from the variant builder, runs from the result store, charts
from :mod:`flowsim.charts` and the flow diagram from :mod:`flowsim.pathway`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os

import altair as alt
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
from ..components.report_download import show_report_download
from ..components.results_store import memo, run_key, simulate, stored
from ..components.run_settings import RunSettings, run_settings
from ..components.safe_text import error_md, plain
from ..components.scenario_picker import (
    change_scenarios,
    load_baseline,
    pick_scenarios,
    scenarios_folder,
    shipped_files,
    unique_names,
)
from ..components.stability import show_stability, steady_words
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

    st.html(_WIDE_CHOICES)
    with st.sidebar:
        st.header("1. Scenarios")
        picked = pick_scenarios(folder, files, built)
        base_name = picked.baseline
        baseline = load_baseline(picked)
        variants: list[Scenario] = change_scenarios(picked, built)
        st.header("2. Run settings")
        settings = run_settings([baseline, *variants], base_name, os.cpu_count() or 1)
        go = st.button("Run the comparison", type="primary", key="run", width="stretch")

    tab_results, tab_build, tab_pathway, tab_about = st.tabs(
        ["Results", "Build a variant", "Pathway", "What the measures mean"]
    )
    with tab_build:
        build_variant(baseline, base_name, built, folder, settings.days, settings.warmup)
    with tab_pathway:
        show_pathway(unique_names([baseline, *variants]))
    with tab_about:
        show_definitions()

    with tab_results:
        scenarios = [
            with_run_length(s, settings.days, settings.warmup) for s in [baseline, *variants]
        ]
        now = fingerprint(scenarios, settings)
        if go:
            if not variants:
                st.warning(
                    "Choose, upload or build at least one change to compare with the baseline."
                )
            else:
                texts = tuple(scenario_yaml(s) for s in unique_names(scenarios))
                with replication_progress() as progress:
                    simulate(texts, settings.replications, settings.seed, progress)
                st.session_state["last_run"] = (texts, settings.replications, settings.seed)
                st.session_state["last_inputs"] = now
        last = st.session_state.get("last_run")
        if last is None:
            st.info(
                "Choose a baseline and change ideas in the sidebar (or build one in "
                "**Build a variant**), then press **Run the comparison**."
            )
            return
        ran = st.session_state.get("last_inputs")
        if ran is not None and ran != now:
            st.warning(stale_notice(ran, now), icon="⏳")
        if not stored(run_key(*last)):  # dropped from the cache: run again
            with st.spinner("Running the last comparison again…"):
                simulate(*last)
        show_results(simulate(*last), run_key(*last))


# The chosen change names in full, however long (Streamlit cuts them to a fixed width).
_WIDE_CHOICES = """<style>
[data-testid="stMultiSelectTagsContainer"] span {
  max-width: none; height: auto; white-space: normal; overflow: visible; text-overflow: clip;
  overflow-wrap: anywhere;
}
</style>"""

Inputs = tuple[tuple[str, ...], int, int]
"""The fingerprint of a run's inputs: a digest of each scenario as it would be run, the
replications and the seed."""


def fingerprint(scenarios: list[Scenario], settings: RunSettings) -> Inputs:
    """The fingerprint of the page's inputs: every scenario (choice, uploads, levers) with the
    run length and warm-up applied, as it would be run, and the replications and seed. Worked
    out on every redraw, so from the scenarios' JSON (under a millisecond for eight), not the
    YAML the run is made from (about a hundred times as long)."""
    digests = tuple(
        hashlib.sha256(s.model_dump_json().encode()).hexdigest() for s in unique_names(scenarios)
    )
    return digests, settings.replications, settings.seed


def stale_notice(last: Inputs, now: Inputs) -> str:
    """What the page says when the results shown were run from other inputs than the page's."""
    changed = []
    if sorted(last[0]) != sorted(now[0]):
        changed.append("the scenarios or their run length")
    if last[1:] != now[1:]:
        changed.append("the replications or seed")
    what = " and ".join(changed) or "the order of the scenarios"
    return (
        f"**These results are for the previous settings.** Since they were run, {what} "
        "changed. Press **Run the comparison** to see results for the settings in the sidebar."
    )


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
        measured_period(results)
        + f" ({s0.run.length / 1440:g} days after {s0.run.warmup / 1440:g} days' warm-up), "
        f"{results.replications} "
        f"replications of each scenario, seed {results.seed}. Each change is compared "
        "with the baseline replication by replication (they share their random "
        "numbers), so the differences are paired; the 95% confidence interval says how "
        "sure the difference is."
    )
    st.subheader(f"Each change against {plain(base)}")
    every = st.toggle("Show every measure", key="every")
    stability = memo(key, "stability", results.stability)
    table = memo(
        key,
        f"table.{every}",
        lambda: kpi_table(comparison, every).assign(
            **{"Steady?": lambda t: [steady_words(stability, v, base) for v in t["Variant"]]}
        ),
    )
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
            # Wide enough for the longest measure's name, leaving room for the figures.
            "Measure": st.column_config.TextColumn("Measure", width=290),
            "kpi": st.column_config.TextColumn(
                "KPI name", help="The name in the downloaded tables"
            ),
            "Verdict": st.column_config.TextColumn(
                "Verdict",
                help="better / worse: the 95% CI of the change is on one "
                "side of zero; no clear difference: it crosses zero. Volumes and "
                "occupancy say higher / lower.",
            ),
            "Steady?": st.column_config.TextColumn(
                "Steady?",
                help="yes: the queues settled in every replication of the change and the "
                "baseline; NO: they kept growing in some, so those figures are not a forecast "
                "(see the stability check above)",
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
        show_ed_charts(results, ed, key, names)

    st.subheader("Downloads")
    show_report_download(results, comparison, key)
    show_downloads(memo(key, "downloads", lambda: downloads(results, comparison)))


ED_SERIES = (
    ("boarders", "Admitted patients waiting in the ED (boarders)", "Patients waiting"),
    ("ambulance_queue", "Ambulances waiting to hand over", "Ambulances waiting"),
)


def show_ed_charts(results: Results, ed: pd.DataFrame, key: str, names: list[str]) -> None:
    """Exit block and the ambulance queue, full width, by day of each scenario's own measured
    period, so that scenarios starting on different dates are compared day for day."""
    st.subheader("Exit block and ambulance queue over time")
    hourly = st.toggle("Hour by hour (instead of daily means)", key="ed_hourly")
    freq = "h" if hourly else "D"
    starts = measuring_starts(results)
    for column, title, waiting in ED_SERIES:
        make = functools.partial(
            _ed_chart, ed, column, starts, freq, title, f"{waiting} (hourly mean)", names
        )
        st.altair_chart(memo(key, f"{column}.{freq}", make), width="stretch")
    st.caption(
        "Day 1 is the first measured day of each scenario, so scenarios that start on "
        "different dates are compared day for day (the tooltip gives each one's date). "
        + measured_period(results)
        + "."
    )


def _ed_chart(
    ed: pd.DataFrame,
    column: str,
    starts: dict[str, pd.Timestamp],
    freq: str,
    title: str,
    y_title: str,
    names: list[str],
) -> alt.LayerChart:
    return charts.over_time_chart(
        charts.ed_band_by_day(ed, column, starts, freq), title, y_title, names
    )


def measuring_starts(results: Results) -> dict[str, pd.Timestamp]:
    """When each scenario's measuring begins: its own start date after its warm-up."""
    return {
        n: pd.Timestamp(s.start) + pd.Timedelta(minutes=s.run.warmup)
        for n, s in results.scenarios.items()
    }


def measured_period(results: Results) -> str:
    """Each scenario's own measured dates, in words (Markdown, names as plain text)."""
    days = {n: s.run.length / 1440 for n, s in results.scenarios.items()}
    return charts.measured_dates(measuring_starts(results), days, plain)


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
