"""The calibrated model against what was observed: the scenario run over the log's own dates,
and each measure's observed value beside the simulated mean and a 95% prediction interval.

A *prediction* interval says what one real period could show if the model were right (the
spread of single replications, widened for the estimate of their mean): ``mean +- t * sd *
sqrt(1 + 1/R)``. It is wider than the confidence interval of the mean, which says only where the
model's long-run average lies. Written as an offline HTML page (flowsim/report/page.py) and CSV
tables; nothing patient-level is in either.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..report.page import chart_placeholder, render, table, write_atomic, write_page
from .eventlog import EventLog
from .fit import _hourly_occupancy, name_of

if TYPE_CHECKING:
    from ..experiment import Results
    from ..scenario import Scenario

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Length-of-stay quantiles compared per unit."""
TID_STEP = 10
"""Minutes between the points of the time-in-department distribution."""

NOT_SHOWN = (
    "What this does not show: whether the model predicts the effect of a change (only that it "
    "reproduces one period it was fitted to: a check of fit, not of prediction); patterns "
    "within a measure that a mean hides (a good average can hide a bad Monday); anything the "
    "log does not record (staff, SDEC, cubicles by type, reasons for delay); and measures the "
    "model takes as inputs (the arrival counts and stays are fitted, so they agree by "
    "construction; so, largely, do the waits, whose part no queue explains is fitted as a "
    "delay: what the waits test is the queueing the model adds on top. Four-hour "
    "performance, the spread of time in department and occupancy are the real tests)."
)


@dataclass
class Comparison:
    """Model against observed: one table of single measures and three of profiles."""

    measures: pd.DataFrame
    arrivals_by_hour: pd.DataFrame
    time_in_department: pd.DataFrame
    occupancy_by_hour: pd.DataFrame
    stays: pd.DataFrame
    replications: int


def prediction_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% prediction interval for one more value like ``values``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) * math.sqrt(1 + 1 / v.size))
    return mean, mean - half, mean + half


def _row(measure: str, group: str, observed: float, sims: np.ndarray, unit: str) -> dict[str, Any]:
    mean, lo, hi = prediction_interval(sims)
    inside = bool(lo <= observed <= hi) if math.isfinite(lo) and math.isfinite(observed) else None
    return {
        "measure": measure,
        "group": group,
        "unit": unit,
        "observed": observed,
        "simulated_mean": mean,
        "pi_low": lo,
        "pi_high": hi,
        "inside": inside,
    }


def _minutes(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return np.asarray((later - earlier) / pd.Timedelta(minutes=1), dtype=float)


@dataclass(frozen=True)
class Observed:
    """What the comparison needs from a log, as aggregates only (counts, means, quantiles, shares
    by hour): worked out once, while the log is read, so that the log itself need not be kept
    (the app holds this in the session, never the rows)."""

    source: str
    attendances_per_day: float
    four_hour_pct: float
    tid_mean: float
    tid_median: float
    tid_p95: float
    admitted_pct: float
    admissions_per_day: float
    first_seen_mean: float | None
    dta_wait_mean: float | None
    arrivals_by_hour: np.ndarray
    """Mean arrivals in each hour of the week (168)."""
    hours_per_hour_of_week: np.ndarray
    """How many of each hour of the week (168) the log's dates hold."""
    tid_within_hours: np.ndarray
    """Share of attendances that left the ED within 0, 60, 120, ... minutes, up to the longest."""
    occupancy: dict[str, np.ndarray]
    """Mean occupancy by hour of the week (168) of each unit in the spells."""
    stays: dict[str, np.ndarray]
    """Length-of-stay quantiles (days, :data:`QUANTILES`) of each unit in the spells."""


def observe(log: EventLog, source: str = "") -> Observed:
    """The observed side of the comparison, from ``log``: aggregates only."""
    a = log.attendances
    days = log.days
    tid = _minutes(a["departure"], a["arrival"])
    admitted = (a["disposal"] == "admitted").to_numpy()
    seen = a["first_seen"].notna().to_numpy()
    dta = admitted & a["decision_to_admit"].notna().to_numpy()
    hours = np.arange(int(math.ceil(float(tid.max()) / 60)) + 1 if tid.size else 1) * 60
    return Observed(
        source=source,
        attendances_per_day=len(a) / days,
        four_hour_pct=100 * float(np.mean(tid <= 240)),
        tid_mean=float(tid.mean()),
        tid_median=float(np.median(tid)),
        tid_p95=float(np.percentile(tid, 95)),
        admitted_pct=100 * float(admitted.mean()),
        admissions_per_day=float(admitted.sum()) / days,
        first_seen_mean=(
            float(_minutes(a["first_seen"], a["arrival"])[seen].mean()) if seen.any() else None
        ),
        dta_wait_mean=(
            float(_minutes(a["departure"], a["decision_to_admit"])[dta].mean())
            if dta.any()
            else None
        ),
        arrivals_by_hour=_observed_arrivals(log),
        hours_per_hour_of_week=_hours_per_hour_of_week(pd.Timestamp(log.first_day), log.days),
        tid_within_hours=np.searchsorted(np.sort(tid), hours, side="right") / tid.size,
        occupancy=_observed_occupancy(log),
        stays=_observed_stays(log),
    )


def compare(log: EventLog, scenario: Scenario, results: Results) -> Comparison:
    """Observed measures from ``log`` beside the same measures from ``results`` of ``scenario``."""
    return compare_observed(observe(log), scenario, results)


def compare_observed(obs: Observed, scenario: Scenario, results: Results) -> Comparison:
    """The measures of ``obs`` (see :func:`observe`) beside the same measures from ``results``
    of ``scenario``."""
    k = results.kpis
    by_kpi = {
        name: grp.sort_values("replication")["value"].to_numpy() for name, grp in k.groupby("kpi")
    }

    def sim(name: str) -> np.ndarray:
        found: np.ndarray = by_kpi.get(name, np.array([]))
        return found

    rows = [
        _row(
            "ED attendances per day",
            "all",
            obs.attendances_per_day,
            sim("attendances_per_day"),
            "per day",
        ),
        _row("four-hour performance", "all", obs.four_hour_pct, sim("four_hour_pct"), "%"),
        _row(
            "time in department, mean",
            "all",
            obs.tid_mean,
            sim("time_in_department_mean"),
            "minutes",
        ),
        _row(
            "time in department, median",
            "all",
            obs.tid_median,
            sim("time_in_department_median"),
            "minutes",
        ),
        _row(
            "time in department, 95th percentile",
            "all",
            obs.tid_p95,
            sim("time_in_department_p95"),
            "minutes",
        ),
        _row("admitted", "all", obs.admitted_pct, sim("admission_pct"), "%"),
        _row(
            "admissions from the ED per day",
            "all",
            obs.admissions_per_day,
            sim("admission_pct") / 100 * sim("attendances_per_day"),
            "per day",
        ),
    ]
    if obs.first_seen_mean is not None:
        rows.append(
            _row(
                "time to first clinician, mean",
                "all",
                obs.first_seen_mean,
                sim("time_to_clinician_mean"),
                "minutes",
            )
        )
    if obs.dta_wait_mean is not None:
        rows.append(
            _row(
                "decision to admit to leaving the ED, mean",
                "admitted",
                obs.dta_wait_mean,
                sim("dta_wait_mean") + _handover_means(scenario, results),
                "minutes",
            )
        )

    occupancy = _occupancy(obs, scenario, results)
    for unit, grp in occupancy.groupby("group"):
        rows.append(
            _row(
                "occupancy, mean",
                str(unit),
                float(grp["observed"].mean()),
                sim(f"occupancy_mean.{grp['place'].iloc[0]}"),
                "patients",
            )
        )

    return Comparison(
        measures=pd.DataFrame(rows),
        arrivals_by_hour=_arrivals_by_hour(obs, scenario, results),
        time_in_department=_tid(obs, results),
        occupancy_by_hour=occupancy,
        stays=_stays(obs, scenario, results),
        replications=results.replications,
    )


def _handover_means(scenario: Scenario, results: Results) -> np.ndarray | float:
    """Each replication's mean handover time (the ``*_handover`` stages), or 0 without them.

    The engine marks the decision to admit when a bed is asked for, which in a calibrated
    scenario is after the handover time spent in the cubicle; every admitted ED patient passes
    one handover stage, so its mean added to ``dta_wait_mean`` is the decision to admit to
    leaving the ED, as the log counts it."""
    p = results.patients
    stages = [n for n in scenario.stages if n.endswith("_handover")]
    if p is None or not stages:
        return 0.0
    v = p[p["stage"].astype(str).isin(stages) & (p["started"] >= scenario.run.warmup)]
    v = v[np.isfinite(v["ended"].to_numpy())]
    means = (v["ended"] - v["started"]).groupby(v["replication"]).mean()
    out: np.ndarray = (
        means.reindex(sorted(set(results.kpis["replication"]))).fillna(0.0).to_numpy(dtype=float)
    )
    return out


def _hour_of_week(local: pd.Series) -> np.ndarray:
    return np.asarray(local.dt.day_of_week * 24 + local.dt.hour, dtype=int)


def _hours_per_hour_of_week(first: pd.Timestamp, days: int) -> np.ndarray:
    hours = pd.date_range(first, periods=days * 24, freq="h")
    return np.bincount(np.asarray(hours.day_of_week * 24 + hours.hour), minlength=168)


def _observed_arrivals(log: EventLog) -> np.ndarray:
    per_hour = _hours_per_hour_of_week(pd.Timestamp(log.first_day), log.days)
    out: np.ndarray = (
        np.bincount(_hour_of_week(log.attendances["arrival_local"]), minlength=168) / per_hour
    )
    return out


def _arrivals_by_hour(obs: Observed, scenario: Scenario, results: Results) -> pd.DataFrame:
    per_hour = obs.hours_per_hour_of_week
    observed = obs.arrivals_by_hour
    p = results.patients
    assert p is not None
    firsts = {f"{m}_arrival" for m in scenario.arrivals if m != "direct_admissions"}
    v = p[p["stage"].astype(str).isin(firsts)]
    w0 = scenario.run.warmup
    v = v[(v["entered"] >= w0) & (v["entered"] < w0 + scenario.run.length)]
    start = pd.Timestamp(scenario.start)
    how = ((start.weekday() * 24 * 60 + v["entered"].to_numpy()) // 60 % 168).astype(int)
    sims = np.zeros((results.replications, 168))
    for i, r in enumerate(sorted(v["replication"].unique())):
        sims[i] = np.bincount(how[v["replication"].to_numpy() == r], minlength=168) / per_hour
    return _band("arrivals per hour", observed, sims, "hour_of_week")


def _band(
    measure: str, observed: np.ndarray, sims: np.ndarray, x: str, group: str = "all"
) -> pd.DataFrame:
    rows = []
    for j in range(len(observed)):
        mean, lo, hi = prediction_interval(sims[:, j])
        rows.append(
            {
                "measure": measure,
                "group": group,
                x: j,
                "observed": float(observed[j]),
                "simulated_mean": mean,
                "pi_low": lo,
                "pi_high": hi,
            }
        )
    return pd.DataFrame(rows)


def _tid(obs: Observed, results: Results) -> pd.DataFrame:
    t = results.time_in_department
    assert t is not None
    minutes = np.sort(t["minutes"].unique())
    # Only the whole hours are shown, so only they are kept from the log.
    within = obs.tid_within_hours
    hour = minutes // 60
    observed = np.where(minutes % 60 == 0, within[np.minimum(hour, len(within) - 1)], math.nan)
    observed = np.where((minutes % 60 == 0) & (hour >= len(within)), 1.0, observed)
    sims = t.pivot_table(index="replication", columns="minutes", values="share_within").to_numpy()
    out = _band("share left the ED within", observed, sims, "minutes")
    out["minutes"] = minutes[out["minutes"].to_numpy()]
    return out[out["minutes"] % (6 * TID_STEP) == 0].reset_index(drop=True)


def _observed_occupancy(log: EventLog) -> dict[str, np.ndarray]:
    s = log.spells
    if s is None or s.empty:
        return {}
    out = {}
    t0 = log.attendances["arrival"].min()
    t1 = log.attendances["arrival"].max()
    for unit in sorted(s["unit"].unique()):
        u = s[s["unit"] == unit]
        stays = _minutes(u["discharged"], u["admitted"])
        settle = pd.Timedelta(minutes=float(np.percentile(stays, 95)))
        start = min(t0 + settle, t1 - pd.Timedelta(days=7))
        grid = pd.date_range(start, t1, freq="h")
        occ = _hourly_occupancy(u["admitted"], u["discharged"], start, t1)
        local = pd.Series(grid.tz_convert("Europe/London").tz_localize(None))
        hw = _hour_of_week(local)
        out[str(unit)] = np.bincount(hw, weights=occ, minlength=168) / np.maximum(
            np.bincount(hw, minlength=168), 1
        )
    return out


def _occupancy(obs: Observed, scenario: Scenario, results: Results) -> pd.DataFrame:
    if not obs.occupancy:
        return pd.DataFrame(columns=["measure", "group", "place", "hour_of_week", "observed"])
    how = results.hour_of_week()
    frames = []
    for unit, observed in obs.occupancy.items():
        place = name_of(unit, "unit").lower()
        if place not in scenario.places:
            continue
        sim = how[how["place"].astype(str) == place].pivot_table(
            index="replication", columns="hour_of_week", values="occupancy"
        )
        sims = sim.reindex(columns=range(168)).to_numpy()
        band = _band("occupancy", observed, sims, "hour_of_week", unit)
        band["place"] = place
        frames.append(band)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _observed_stays(log: EventLog) -> dict[str, np.ndarray]:
    s = log.spells
    if s is None or s.empty:
        return {}
    return {
        str(unit): np.quantile(
            _minutes(s.loc[s["unit"] == unit, "discharged"], s.loc[s["unit"] == unit, "admitted"])
            / 1440,
            QUANTILES,
        )
        for unit in sorted(s["unit"].unique())
    }


def _stays(obs: Observed, scenario: Scenario, results: Results) -> pd.DataFrame:
    p = results.patients
    if not obs.stays or p is None:
        return pd.DataFrame()
    rows = []
    w0 = scenario.run.warmup
    for unit, observed in obs.stays.items():
        stage = f"{name_of(unit, 'unit').lower()}_stay"
        v = p[(p["stage"].astype(str) == stage) & (p["entered"] >= w0)]
        v = v[np.isfinite(v["ended"].to_numpy())]
        sims = np.array(
            [
                np.quantile((g["ended"] - g["entered"]).to_numpy() / 1440, QUANTILES)
                for _, g in v.groupby("replication")
                if len(g)
            ]
        )
        if sims.size == 0:
            continue
        band = _band("length of stay (days)", observed, sims, "quantile", unit)
        band["quantile"] = [QUANTILES[i] for i in band["quantile"]]
        rows.append(band)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# -- the page -----------------------------------------------------------------------------------
def _band_chart(df: pd.DataFrame, x: str, title: str, x_title: str) -> dict[str, Any]:
    data = df[[x, "group", "observed", "simulated_mean", "pi_low", "pi_high"]].to_dict("records")
    facet = df["group"].nunique() > 1
    layer: dict[str, Any] = {
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.3, "color": "#1f77b4"},
                "encoding": {
                    "x": {"field": x, "type": "quantitative", "title": x_title},
                    "y": {"field": "pi_low", "type": "quantitative", "title": title},
                    "y2": {"field": "pi_high"},
                },
            },
            {
                "mark": {"type": "line", "color": "#1f77b4"},
                "encoding": {
                    "x": {"field": x, "type": "quantitative"},
                    "y": {"field": "simulated_mean", "type": "quantitative"},
                },
            },
            {
                "mark": {"type": "line", "color": "#000", "strokeDash": [4, 2]},
                "encoding": {
                    "x": {"field": x, "type": "quantitative"},
                    "y": {"field": "observed", "type": "quantitative"},
                },
            },
        ]
    }
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{title}: observed (dashed) and model (line, 95% prediction band)",
        "data": {"values": data},
    }
    if facet:
        spec["facet"] = {"row": {"field": "group", "type": "nominal", "title": None}}
        spec["spec"] = dict(layer, width=700, height=160)
        spec["resolve"] = {"scale": {"y": "independent"}}
    else:
        spec.update(layer, width=700, height=220)
    return spec


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else f"{v:,.1f}"
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "NO"
    return str(v)


def _csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        df.to_csv(path, index=False)

    return write


def comparison_charts(c: Comparison) -> list[tuple[str, dict[str, Any]]]:
    """The report's charts (a file stem and a Vega-Lite spec each), for the page and the app."""
    charts: list[tuple[str, dict[str, Any]]] = [
        (
            "arrivals-by-hour-of-week",
            _band_chart(
                c.arrivals_by_hour,
                "hour_of_week",
                "arrivals per hour",
                "hour of the week (0 = Monday 00:00)",
            ),
        ),
        (
            "time-in-department",
            _band_chart(
                c.time_in_department, "minutes", "share left the ED within", "minutes from arrival"
            ),
        ),
    ]
    if not c.occupancy_by_hour.empty:
        charts.append(
            (
                "occupancy-by-hour-of-week",
                _band_chart(
                    c.occupancy_by_hour,
                    "hour_of_week",
                    "patients in the unit",
                    "hour of the week (0 = Monday 00:00)",
                ),
            )
        )
    if not c.stays.empty:
        charts.append(
            (
                "length-of-stay",
                _band_chart(c.stays, "quantile", "length of stay (days)", "quantile"),
            )
        )
    return charts


def write_comparison(c: Comparison, folder: Path, source: str) -> list[Path]:
    """``folder``/model-vs-observed.html and the CSV tables beside it; returns the files."""
    m = c.measures
    inside = m["inside"].dropna()
    parts = [
        f"<h1>Model against observed: {html.escape(source)}</h1>",
        f"<p>{c.replications} replications of the calibrated scenario over the log's own dates. "
        "For each measure: the observed value, the model's mean, and a 95% prediction interval "
        "(what one real period could show if the model were right). "
        f"Observed inside the interval for {int(inside.sum())} of {len(inside)} measures.</p>",
        table(
            [
                "measure",
                "group",
                "unit",
                "observed",
                "model mean",
                "95% PI low",
                "95% PI high",
                "inside",
            ],
            [[_fmt(v) for v in r] for r in m.itertuples(index=False)],
        ),
        f"<p>{html.escape(NOT_SHOWN)}</p>",
    ]
    charts = comparison_charts(c)
    parts += [chart_placeholder(i, stem) for i, (stem, _) in enumerate(charts)]
    page = render("Model against observed", parts, [spec for _, spec in charts])
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {
        "measures.csv": c.measures,
        "arrivals_by_hour_of_week.csv": c.arrivals_by_hour,
        "time_in_department.csv": c.time_in_department,
        "occupancy_by_hour_of_week.csv": c.occupancy_by_hour,
        "length_of_stay.csv": c.stays,
    }
    for name, df in tables.items():
        target = folder / name
        write_atomic(target, _csv_writer(df))
        written.append(target)
    written += write_page(folder / "model-vs-observed.html", page)
    return written
