"""The browser page: pick a baseline and change ideas (shipped, uploaded or built with levers),
run them with common random numbers, and compare the results with honest uncertainty.

Run it with ``streamlit run app.py`` or ``flowsim app``. The page only arranges widgets and
charts: scenarios come from :mod:`flowsim.loader` and :mod:`flowsim.uploads`, variants from
:mod:`flowsim.levers`, runs from :mod:`flowsim.experiment`, charts from :mod:`flowsim.charts` and
the flow diagram from :mod:`flowsim.pathway`. Results are cached by the content of the scenarios
as run and the run settings, so re-opening a result is instant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import threading
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import streamlit as st
import yaml

from flowsim import charts
from flowsim.batch import with_run_length
from flowsim.errors import FlowsimError, ScenarioError
from flowsim.experiment import Progress, Results, run
from flowsim.kpis import better_direction, kpi_definition
from flowsim.levers import (
    DEMAND_RANGE,
    FACTOR_RANGE,
    LOS_RANGE,
    MAX_BEDS,
    MAX_STAFF,
    CapacityLever,
    ExtraShiftLever,
    Levers,
    SurgeLever,
    admitted_places,
    build_overlay,
    check_levers,
    lever_defaults,
    overlay_yaml,
)
from flowsim.loader import load_scenario, scenario_yaml
from flowsim.pathway import to_dot
from flowsim.scenario import Scenario
from flowsim.uploads import MAX_UPLOAD_BYTES, load_upload

log = logging.getLogger("flowsim.app")
T = TypeVar("T")

DEFAULT_DAYS = 56
DEFAULT_WARMUP = 42
DEFAULT_REPLICATIONS = 6
DEFAULT_SEED = 12345
DEFAULT_CHANGE = "changes/escalation_beds.yaml"

HEADLINE = [
    "four_hour_pct", "twelve_hour_pct", "time_in_department_mean", "time_in_department_p95",
    "time_to_clinician_mean", "left_without_being_seen_pct", "handover_mean",
    "handover_over_30_pct", "handover_over_60_pct", "dta_wait_mean", "dta_over_4h_count",
    "dta_over_12h_count", "delayed_discharge_bed_days",
]
LABELS = {
    "four_hour_pct": "Within 4 hours",
    "twelve_hour_pct": "Over 12 hours in the ED",
    "time_in_department_mean": "Time in the ED, mean",
    "time_in_department_median": "Time in the ED, median",
    "time_in_department_p95": "Time in the ED, 95th percentile",
    "time_to_triage_mean": "Time to triage, mean",
    "time_to_clinician_mean": "Time to see a clinician, mean",
    "left_without_being_seen_pct": "Left without being seen",
    "handover_mean": "Ambulance handover, mean",
    "handover_over_30_pct": "Ambulance handovers over 30 min",
    "handover_over_60_pct": "Ambulance handovers over 60 min",
    "dta_wait_mean": "Decision to admit to leaving the ED, mean",
    "dta_over_4h_count": "Waits over 4 h from decision to admit",
    "dta_over_12h_count": "Trolley waits (over 12 h from decision to admit)",
    "delayed_discharge_bed_days": "Bed days of delayed discharges",
    "occupancy_mean_pct": "Occupied",
    "occupancy_ge_92_pct_time": "Time at or above 92% full",
    "occupancy_ge_95_pct_time": "Time at or above 95% full",
    "occupancy_ge_100_pct_time": "Time full",
}


def label(kpi: str) -> str:
    """A KPI's name for people (``occupancy_mean_pct.wards`` -> ``Occupied: wards``)."""
    head, _, place = kpi.partition(".")
    text = LABELS.get(kpi) or LABELS.get(head) or kpi.replace("_", " ")
    return f"{text}: {place}" if place else text


def scenarios_folder() -> Path:
    """Where shipped scenarios are: ``$FLOWSIM_SCENARIOS``, else ``./scenarios``, else the one
    beside the package (an editable install from the repository)."""
    env = os.environ.get("FLOWSIM_SCENARIOS")
    if env:
        return Path(env)
    here = Path.cwd() / "scenarios"
    if (here / "baseline.yaml").exists():
        return here
    return Path(__file__).resolve().parent.parent / "scenarios"


def shipped_files(folder: Path) -> dict[str, Path]:
    """Scenario files under ``folder`` by their path relative to it (batch files left out)."""
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.yaml"))
            if "batch" not in p.name}


CACHE_ENTRIES = 16
_STORE_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _result_store() -> OrderedDict[str, Results]:
    # One store for the server process, shared by every browser tab: results are read, never
    # changed, by the page.
    return OrderedDict()


def run_key(texts: tuple[str, ...], replications: int, seed: int) -> str:
    """The cache key: a hash of the scenarios as run (standalone YAML) and the settings."""
    h = hashlib.sha256(f"{replications}|{seed}".encode())
    for t in texts:
        h.update(b"\0" + t.encode())
    return h.hexdigest()


def simulate(texts: tuple[str, ...], replications: int, seed: int,
             progress: Progress | None = None) -> Results:
    """Run the scenarios written as ``texts`` (standalone YAML, run settings included), or
    return the results of the same run from the cache at once."""
    store = _result_store()
    key = run_key(texts, replications, seed)
    with _STORE_LOCK:
        if key in store:
            store.move_to_end(key)
            return store[key]
    scenarios = [load_scenario(yaml.safe_load(t)) for t in texts]
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a threaded process (the server) could deadlock; the
        # workers only simulate and never touch the server's threads or locks.
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        results = run(scenarios, replications=replications, seed=seed, jobs=0,
                      progress=progress)
    with _STORE_LOCK:  # each browser tab runs the page in its own thread
        store[key] = results
        while len(store) > CACHE_ENTRIES:
            old, _ = store.popitem(last=False)
            derived = _derived_store()
            for k in [k for k in derived if k[0] == old]:
                del derived[k]
    return results


@st.cache_resource(show_spinner=False)
def _derived_store() -> dict[tuple[str, str], Any]:
    return {}


def memo(key: str, what: str, make: Callable[[], T]) -> T:
    """``make()``, computed once per run (``key``) and ``what``: tables, charts and downloads
    drawn from a cached result are not worked out again when the page is redrawn."""
    store = _derived_store()
    if (key, what) not in store:
        store[(key, what)] = make()
    return cast(T, store[(key, what)])


@st.cache_data(show_spinner=False, max_entries=64)
def _load_file(path: str, text: str) -> Scenario:
    # Keyed on the text too, so an edited file is read again.
    return load_scenario(path)


def load_file(path: Path) -> Scenario:
    return _load_file(str(path), path.read_text(encoding="utf-8", errors="replace"))


def main() -> None:
    st.set_page_config(page_title="flowsim: compare scenarios", layout="wide")
    try:
        page()
    except ScenarioError as e:
        st.error("The scenario is not valid:\n\n" + problems_md(e))
    except FlowsimError as e:
        st.error(str(e))
    except Exception:  # noqa: BLE001 - the page must not show a traceback
        log.exception("unexpected error in the flowsim page")
        st.error("Something went wrong that flowsim did not expect. The details are in the "
                 "log of the terminal that started the app; please report them.")


def page() -> None:
    st.title("flowsim: test a change before trying it on patients")
    folder = scenarios_folder()
    files = shipped_files(folder)
    if not files:
        st.error(f"No scenario files found in {folder}. Start the app from the flowsim folder, "
                 "or set FLOWSIM_SCENARIOS to the folder of your scenarios.")
        return
    names = list(files)
    built: dict[str, str] = st.session_state.setdefault("built", {})

    with st.sidebar:
        st.header("1. Scenarios")
        base_name = st.selectbox("Baseline", names, key="baseline",
                                 index=names.index("baseline.yaml")
                                 if "baseline.yaml" in names else 0,
                                 help="The scenario every change is compared with.")
        options = [n for n in names if n != base_name]
        change_names = st.multiselect(
            "Change ideas (shipped)", options, key="changes",
            default=[DEFAULT_CHANGE] if DEFAULT_CHANGE in options else options[:1],
            help="Overlays of the baseline in scenarios/changes, or other scenario files.")
        uploads = st.file_uploader(
            "Upload scenario files (YAML)", type=["yaml", "yml"], accept_multiple_files=True,
            key="uploads", help=f"Up to {MAX_UPLOAD_BYTES // 1024} kB each. An upload may "
            "`extends:` a file in the scenarios folder, e.g. `extends: baseline.yaml`.")
        uploaded, upload_errors = read_uploads(uploads or [], folder)
        for msg in upload_errors:
            st.error(msg)
        if built:
            st.caption("Built in this page: " + ", ".join(built))
        st.header("2. Run settings")
        days = st.slider("Days measured", 7, 364, DEFAULT_DAYS, step=7, key="days")
        warmup = st.slider("Warm-up days (not measured)", 0, 120, DEFAULT_WARMUP, key="warmup",
                           help="The wards start empty; six weeks fill them to their usual "
                           "level before measuring starts.")
        replications = st.slider("Replications", 2, 50, DEFAULT_REPLICATIONS, key="reps",
                                 help="More replications give narrower confidence intervals "
                                 "and take longer.")
        seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=DEFAULT_SEED,
                               step=1, key="seed", help="The same seed gives the same results.")
        go = st.button("Run the comparison", type="primary", key="run",
                       width="stretch")

    baseline = load_file(files[base_name])
    tab_results, tab_build, tab_pathway, tab_about = st.tabs(
        ["Results", "Build a variant", "Pathway", "What the measures mean"])
    with tab_build:
        build_variant(baseline, base_name, built, folder, days, warmup)
    variants: list[Scenario] = []
    for name in change_names:
        try:
            variants.append(load_file(files[name]))
        except ScenarioError as e:
            st.sidebar.error(f"{name} is not a valid scenario and is left out:\n\n"
                             + problems_md(e))
    variants += uploaded
    for name, text in built.items():
        variants.append(load_upload(text.encode(), f"{name}.yaml", folder))
    with tab_pathway:
        show_pathway([baseline, *variants])
    with tab_about:
        show_definitions()

    with tab_results:
        if go:
            if not variants:
                st.warning("Choose, upload or build at least one change to compare with the "
                           "baseline.")
            else:
                scenarios = [with_run_length(s, days, warmup) for s in [baseline, *variants]]
                texts = tuple(scenario_yaml(s) for s in unique_names(scenarios))
                bar = st.progress(0.0, text="Starting…")

                def progress(done: int, total: int) -> None:
                    bar.progress(done / total, text=f"{done} of {total} replications done")

                simulate(texts, int(replications), int(seed), progress)
                bar.empty()
                st.session_state["last_run"] = (texts, int(replications), int(seed))
        last = st.session_state.get("last_run")
        if last is None:
            st.info("Choose a baseline and change ideas in the sidebar (or build one in "
                    "**Build a variant**), then press **Run the comparison**.")
            return
        if run_key(*last) not in _result_store():   # dropped from the cache: run again
            with st.spinner("Running the last comparison again…"):
                simulate(*last)
        show_results(simulate(*last), run_key(*last))


def problems_md(e: ScenarioError) -> str:
    """The problems as Markdown, one per paragraph, each as code (double backticks, so that a
    message quoting `flowsim schema` keeps its own)."""
    return "\n\n".join(f"`` {p} ``" for p in e.problems)


def read_uploads(files: list[Any], folder: Path) -> tuple[list[Scenario], list[str]]:
    """Scenarios from uploaded files, and a message for each one that is refused."""
    out, errors = [], []
    for f in files:
        if f.size > MAX_UPLOAD_BYTES:
            errors.append(f"{f.name}: the file is {f.size:,} bytes; uploads are limited to "
                          f"{MAX_UPLOAD_BYTES:,} bytes (a scenario is a few kB).")
            continue
        try:
            out.append(load_upload(f.getvalue(), f.name, folder))
        except ScenarioError as e:
            errors.append(f"{f.name} is not a valid scenario:\n\n"
                          + problems_md(e))
    return out, errors


def unique_names(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios with repeated names numbered (``winter_2``), so each has its own results."""
    seen: dict[str, int] = {}
    out = []
    for s in scenarios:
        n = seen.get(s.name, 0) + 1
        seen[s.name] = n
        out.append(s if n == 1 else s.model_copy(update={"name": f"{s.name}_{n}"}))
    return out


# -- building a variant -----------------------------------------------------------------------
def build_variant(baseline: Scenario, base_name: str, built: dict[str, str], folder: Path,
                  days: int, warmup: int) -> None:
    st.subheader(f"Build a change to {base_name}")
    st.caption("Set the levers below. Anything left as it is stays as in the baseline. The "
               "variant can be added to the comparison, and downloaded as a scenario file: save "
               f"it in the scenarios folder (beside {base_name}) and `flowsim run` it.")
    d = lever_defaults(baseline)
    k = f"lever.{base_name}."
    first = baseline.start
    measured_from = first + dt.timedelta(days=warmup)
    last = first + dt.timedelta(days=warmup + days - 1)
    name = st.text_input("Name of the variant (letters, digits and _)", "my_change",
                         key=k + "name", max_chars=60)
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip()) or "my_change"
    if name[0].isdigit():
        name = "v_" + name
    st.caption(f"The run covers {first:%d %b %Y} to {last:%d %b %Y}; measuring starts on "
               f"{measured_from:%d %b %Y}.")

    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Demand**")
        demand = st.slider("Arrivals (× every stream's daily volume)", *DEMAND_RANGE, 1.0,
                           step=0.05, key=k + "demand")
        surge = None
        if st.checkbox("Add a surge", key=k + "surge"):
            a, b = _date_range("Surge days", k + "surge_days", first, last,
                               (measured_from, min(measured_from + dt.timedelta(days=13), last)))
            factor = st.slider("Surge factor (× arrivals on those days)", *FACTOR_RANGE, 1.1,
                               step=0.05, key=k + "surge_factor")
            surge = SurgeLever(start=a, end=b, factor=factor)
        st.markdown("**Beds and spaces**")
        beds = {}
        for place, cap in d.beds.items():
            beds[place] = int(st.number_input(
                f"{baseline.places[place].label or place}", 0, MAX_BEDS, cap, step=1,
                key=k + "beds." + place))
        changes = []
        limited = list(d.beds)
        for i in (1, 2):
            if not limited or not st.checkbox(f"Open or close beds for a period ({i})",
                                              key=k + f"cap{i}"):
                continue
            place = st.selectbox("Place", limited, key=k + f"cap{i}.place",
                                 index=limited.index("wards") if "wards" in limited else 0)
            a, b = _date_range("Days", k + f"cap{i}.days", first, last, (measured_from, last))
            change = int(st.number_input(
                "Beds (+ escalation beds open, − beds closed)", -beds[place], MAX_BEDS, 20,
                step=1, key=k + f"cap{i}.change"))
            changes.append(CapacityLever(place=place, start=a, end=b, change=change))
    with c2:
        st.markdown("**Staff on each shift**")
        shift_counts: dict[str, dict[str, int]] = {}
        for group, counts in d.shift_counts.items():
            who = baseline.staff[group].label or group
            shift_counts[group] = {
                shift: int(st.number_input(f"{who}: {shift}", 0, MAX_STAFF, count, step=1,
                                           key=k + f"staff.{group}.{shift}"))
                for shift, count in counts.items()}
        extra = None
        groups = [g for g, s in baseline.staff.items() if s.count is None]
        if groups and st.checkbox("Add an extra shift every day", key=k + "extra"):
            group = st.selectbox("Staff group", groups, key=k + "extra.group")
            start = st.selectbox("From (hour)", list(range(24)), 16, key=k + "extra.start",
                                 format_func=lambda h: f"{h:02d}:00")
            ends = [h for h in range(1, 25) if h % 24 != start]
            end = st.selectbox("To (hour)", ends, ends.index(2) if 2 in ends else 0,
                               key=k + "extra.end", format_func=lambda h: f"{h:02d}:00")
            count = int(st.number_input("How many", 1, MAX_STAFF, 1, key=k + "extra.count"))
            extra = ExtraShiftLever(staff=group, start=start, end=end, count=count)
        st.markdown("**Length of stay and discharge**")
        los = {p: st.slider(f"Length of stay in {baseline.places[p].label or p} (×)",
                            *LOS_RANGE, 1.0, step=0.05, key=k + "los." + p)
               for p in admitted_places(baseline)}
        delayed = {s: st.slider(f"{_stage(baseline, s)}: share of patients with a delayed "
                                "discharge", 0.0, 1.0,
                                v, step=0.01, key=k + "delayed." + s)
                   for s, v in d.delayed_share.items()}
        noon = {s: st.slider(f"{_stage(baseline, s)}: share of discharges before noon", 0.01,
                             0.99, v,
                             step=0.01, key=k + "noon." + s)
                for s, v in d.before_noon_share.items()}
        weekend = {s: st.slider(f"{_stage(baseline, s)}: share of ready patients discharged on "
                                "Sat and Sun",
                                0.0, 1.0, v, step=0.05, key=k + "weekend." + s)
                   for s, v in d.weekend_share.items()}

    levers = Levers(name=name, demand=demand, surge=surge, beds=beds, capacity_changes=changes,
                    shift_counts=shift_counts, extra_shift=extra, length_of_stay=los,
                    delayed_share=delayed, before_noon_share=noon, weekend_share=weekend)
    problems = check_levers(baseline, levers)
    if problems:
        st.error("\n\n".join(problems))
        return
    text = overlay_yaml(build_overlay(baseline, levers, extends=base_name),
                        schema="flowsim.schema.json")
    b1, b2 = st.columns(2)
    b1.download_button("Download this variant (YAML)", text, f"{name}.yaml",
                       "application/x-yaml", key=k + "download")
    if b2.button("Add to the comparison", key=k + "add"):
        built[name] = text
        st.success(f"Added {name}: press Run the comparison in the sidebar.")
    st.code(text, language="yaml")
    for n in list(built):
        c_a, c_b = st.columns([4, 1])
        c_a.write(f"In the comparison: **{n}**")
        if c_b.button("Remove", key=f"remove.{n}"):
            del built[n]
            st.rerun()


def _stage(s: Scenario, name: str) -> str:
    """A stage as people know it: its label, else its place's label, else its name."""
    stage = s.stages[name]
    place = s.places.get(stage.place or "")
    return stage.label or (place.label if place is not None and place.label else name)


def _date_range(title: str, key: str, first: dt.date, last: dt.date,
                default: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    # The key names the run's dates: a value kept from a longer run cannot fall outside them.
    value = st.date_input(title, default, min_value=first, max_value=last,
                          key=f"{key}.{first}.{last}",
                          format="DD/MM/YYYY")
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:  # the second date is still being picked
            return value[0], value[0]
        return default
    return value, value


# -- results ----------------------------------------------------------------------------------
def kpi_table(comparison: pd.DataFrame, every: bool) -> pd.DataFrame:
    """The comparison as people read it: one row per variant and KPI."""
    t = comparison.copy()
    if not every:
        keep = set(HEADLINE) | {k for k in t["kpi"] if k.partition(".")[0] in
                                ("occupancy_mean_pct", "occupancy_ge_95_pct_time")}
        t = t[t["kpi"].isin(keep)]
        order = {k: i for i, k in enumerate(HEADLINE)}
        t = t.assign(_o=[order.get(k, len(order)) for k in t["kpi"]]).sort_values(
            ["scenario", "_o"], kind="stable").drop(columns="_o")
    return pd.DataFrame({
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
    })


def show_results(results: Results, key: str) -> None:
    names = list(results.scenarios)
    base = names[0]
    s0 = results.scenarios[base]
    start = s0.start + dt.timedelta(minutes=s0.run.warmup)
    end = s0.start + dt.timedelta(minutes=s0.horizon) - dt.timedelta(days=1)
    st.caption(f"Measured {start:%d %b %Y} to {end:%d %b %Y} ({s0.run.length / 1440:g} days "
               f"after {s0.run.warmup / 1440:g} days' warm-up), {results.replications} "
               f"replications of each scenario, seed {results.seed}. Each change is compared "
               "with the baseline replication by replication (they share their random "
               "numbers), so the differences are paired; the 95% confidence interval says how "
               "sure the difference is.")
    if len(results.failures):
        lines = "\n".join(f"- {r.scenario}, replication {r.replication} (seed {r.seed}): "
                          f"`{r.error}`" for r in results.failures.itertuples())
        st.warning(f"{len(results.failures)} replication(s) failed and are left out of every "
                   f"table and chart below:\n\n{lines}")
    comparison = memo(key, "comparison", lambda: results.compare(base))
    st.subheader(f"Each change against {base}")
    every = st.toggle("Show every measure", key="every")
    table = memo(key, f"table.{every}", lambda: kpi_table(comparison, every))
    fmt = {c: "{:,.1f}" for c in ["Baseline", "Variant mean", "Change", "95% CI low",
                                  "95% CI high"]}
    styled = table.style.format(fmt, na_rep="–").map(
        lambda v: f"background-color: {charts.VERDICT_COLOURS.get(v, '#999999')}33",
        subset=["Verdict"])
    st.dataframe(styled, hide_index=True, width="stretch",
                 column_config={
                     "kpi": st.column_config.TextColumn("KPI name", help="The name in the "
                                                        "downloaded tables"),
                     "Verdict": st.column_config.TextColumn(
                         "Verdict", help="better / worse: the 95% CI of the change is on one "
                         "side of zero; no clear difference: it crosses zero. Volumes and "
                         "occupancy say higher / lower."),
                     "Change": st.column_config.NumberColumn(
                         "Change", help="Variant minus baseline, mean of the paired "
                         "differences", format="%+.1f"),
                 })
    with st.expander("What these measures mean"):
        show_definitions(sorted(set(table["kpi"]), key=list(table["kpi"]).index))

    st.subheader("How the measures vary between replications")
    choices = memo(key, "choices", lambda: spread_choices(results.kpis))
    kpi = st.selectbox("Measure", choices, key="spread_kpi", format_func=label)
    unit = kpi_definition(kpi)[0]
    st.altair_chart(memo(key, f"spread.{kpi}", lambda: charts.kpi_spread(
        results.kpis, kpi, f"{label(kpi)} ({unit})", names)), width="stretch")

    st.subheader("Occupancy by hour of the week")
    how = memo(key, "hour_of_week", results.hour_of_week)
    present = memo(key, "places", lambda: set(how["place"].astype(str)))
    places = [p for p, pl in s0.places.items() if not pl.unlimited and p in present]
    if places:
        default = places.index("wards") if "wards" in places else 0
        place = st.selectbox("Place", places, default, key="occ_place",
                             format_func=lambda p: s0.places[p].label or p)
        st.altair_chart(memo(key, f"occupancy.{place}", lambda: charts.occupancy_chart(
            charts.occupancy_by_hour(how, place), s0.places[place].label or place, names)),
            width="stretch")
    tid = results.time_in_department
    if tid is not None:
        st.subheader("How long patients spend in the ED")
        st.altair_chart(memo(key, "time_in_department", lambda: charts.time_in_department_chart(
            charts.time_in_department_band(tid), names)), width="stretch")
    ed = results.ed_timeseries
    if ed is not None:
        st.subheader("Exit block and ambulance queue over time")
        hourly = st.toggle("Hour by hour (instead of daily means)", key="ed_hourly")
        freq, per = ("h", "hour") if hourly else ("D", "day")
        c1, c2 = st.columns(2)
        c1.altair_chart(memo(key, f"boarders.{freq}", lambda: charts.over_time_chart(
            charts.ed_band(ed, "boarders", freq),
            "Admitted patients waiting in the ED (boarders)", f"Patients, mean per {per}",
            names)), width="stretch")
        c2.altair_chart(memo(key, f"ambulances.{freq}", lambda: charts.over_time_chart(
            charts.ed_band(ed, "ambulance_queue", freq),
            "Ambulances waiting to hand over", f"Ambulances, mean per {per}", names)),
            width="stretch")

    st.subheader("Downloads")
    show_downloads(memo(key, "downloads", lambda: downloads(results, comparison)))


def spread_choices(kpis: pd.DataFrame) -> list[str]:
    """The measures offered for the spread chart: the headline ones, then occupancy."""
    names = set(kpis["kpi"].astype(str))
    return [k for k in HEADLINE if k in names] + sorted(
        k for k in names if k.startswith("occupancy_mean_pct."))


def downloads(results: Results, comparison: pd.DataFrame) -> list[tuple[str, bytes, str, str]]:
    """``(label, content, file name, type)`` of each download of a result."""
    out = [
        ("KPIs by replication (CSV)", results.kpis.to_csv(index=False).encode(), "kpis.csv",
         "text/csv"),
        ("Summary with 95% CIs (CSV)", results.summary().to_csv(index=False).encode(),
         "summary.csv", "text/csv"),
        ("Comparison (CSV)", comparison.to_csv(index=False).encode(), "comparison.csv",
         "text/csv"),
        ("Occupancy time series (Parquet)", _parquet(results.timeseries), "timeseries.parquet",
         "application/octet-stream"),
    ]
    if results.ed_timeseries is not None:
        out.append(("ED time series (Parquet)", _parquet(results.ed_timeseries),
                    "ed_timeseries.parquet", "application/octet-stream"))
    out.append(("Scenarios as run (YAML, zip)", _scenario_zip(results), "scenarios.zip",
                "application/zip"))
    return out


def show_downloads(files: list[tuple[str, bytes, str, str]]) -> None:
    cols = st.columns(3)
    for i, (text, data, name, mime) in enumerate(files):
        cols[i % 3].download_button(text, data, name, mime, key=f"dl.{name}")


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _scenario_zip(results: Results) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, s in results.scenarios.items():
            z.writestr(f"scenarios/{name}.yaml", scenario_yaml(s))
    return buf.getvalue()


def show_pathway(scenarios: list[Scenario]) -> None:
    names = [s.name for s in scenarios]
    pick = st.selectbox("Scenario", names, key="pathway_scenario")
    s = scenarios[names.index(pick)]
    st.caption("Arrival streams (top) go through stages, grouped by the place they are in "
               "(with its beds or spaces); arrows carry routing probabilities, by patient "
               "class where they differ. Dashed arrows are taken when a place is full or closed.")
    st.graphviz_chart(to_dot(s), width="stretch")


def show_definitions(kpis: list[str] | None = None) -> None:
    from flowsim.kpis import KPI_DEFINITIONS

    keys = kpis if kpis is not None else list(KPI_DEFINITIONS)
    rows = []
    for k in keys:
        unit, text = kpi_definition(k)
        way = better_direction(k)
        rows.append({"Measure": label(k), "Unit": unit, "What it measures": text,
                     "Better when": {1: "higher", -1: "lower", 0: "(depends)"}[way], "KPI": k})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
