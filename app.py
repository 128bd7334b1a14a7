"""flowsim in the browser: pick a baseline and change ideas, run them, compare the results.

Start with ``streamlit run app.py`` (after ``pip install -e ".[app]"``). This page runs shipped
scenario files with common random numbers and shows paired differences against the baseline;
every figure has its 95% confidence interval.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import flowsim
from flowsim.batch import with_run_length
from flowsim.kpis import kpi_definition

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
HEADLINE = ["four_hour_pct", "twelve_hour_pct", "time_in_department_mean",
            "time_to_clinician_mean", "handover_over_60_pct", "dta_over_4h_count",
            "dta_over_12h_count", "occupancy_mean_pct.wards"]


def _files() -> dict[str, Path]:
    return {p.relative_to(SCENARIOS).as_posix(): p for p in sorted(SCENARIOS.rglob("*.yaml"))
            if "batch" not in p.name}


@st.cache_data(show_spinner=False, max_entries=32)
def _run(texts: tuple[str, ...], paths: tuple[str, ...], days: float, warmup: float,
         replications: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Cached by the files' contents and the settings, so re-opening a result is instant.
    scenarios = [with_run_length(flowsim.load_scenario(p), days, warmup) for p in paths]
    bar = st.progress(0.0, text="running replications")
    results = flowsim.run(scenarios, replications=replications, seed=seed, jobs=0,
                          progress=lambda d, t: bar.progress(d / t, text=f"{d}/{t} replications"))
    bar.empty()
    return results.kpis, results.compare(scenarios[0].name)


def main() -> None:
    st.set_page_config(page_title="flowsim", layout="wide")
    st.title("flowsim: test a change before trying it on patients")
    files = _files()
    names = list(files)
    with st.sidebar:
        base = st.selectbox("Baseline", names, index=names.index("baseline.yaml")
                            if "baseline.yaml" in names else 0)
        changes = st.multiselect("Change ideas", [n for n in names if n != base],
                                 default=[n for n in names if n.startswith("changes/")][:1])
        days = st.slider("Days measured", 14, 365, 56, step=7)
        warmup = st.slider("Warm-up days", 0, 60, 28)
        replications = st.slider("Replications", 2, 50, 5)
        seed = st.number_input("Seed", min_value=0, value=12345, step=1)
        go = st.button("Run", type="primary", disabled=not changes)
    if not go:
        st.info("Choose a baseline and at least one change idea, then press Run.")
        return
    paths = tuple(str(files[n]) for n in [base, *changes])
    texts = tuple(Path(p).read_text() for p in paths)
    try:
        kpis, comparison = _run(texts, paths, float(days), float(warmup), int(replications),
                                int(seed))
    except flowsim.ScenarioError as e:
        st.error("\n".join(str(p) for p in e.problems))
        return
    table = comparison[comparison["kpi"].isin(HEADLINE)].copy()
    table["unit"] = [kpi_definition(k)[0] for k in table["kpi"]]
    st.subheader("Change minus baseline (paired, 95% CI)")
    st.dataframe(table, hide_index=True, use_container_width=True)
    st.subheader("4-hour performance by replication")
    data = kpis[kpis["kpi"] == "four_hour_pct"].astype({"scenario": str})
    chart = alt.Chart(data).mark_boxplot().encode(
        x=alt.X("scenario:N", title=None),
        y=alt.Y("value:Q", title="% leaving within 4 hours", scale=alt.Scale(zero=False)),
        color=alt.Color("scenario:N", legend=None, scale=alt.Scale(scheme="tableau10")))
    st.altair_chart(chart, use_container_width=True)
    st.download_button("Download KPIs (CSV)", kpis.to_csv(index=False), "kpis.csv", "text/csv")


main()
