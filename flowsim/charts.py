"""Charts of results for people: Altair charts that read well in a screenshot for a board paper.

Every chart colours scenarios from one colour-blind-safe palette (Okabe & Ito, 2008, "Color
Universal Design"), in the order the scenarios were run, so the baseline has the same colour
everywhere. Bands are 95% confidence intervals of the mean across replications (Student t).
The data each chart needs is prepared by a plain pandas function, tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from .kpis import better_direction, kpi_info, label
from .stats import CONFIDENCE

# Okabe & Ito (2008): blue, orange, bluish green, reddish purple, vermilion, sky blue, yellow,
# black. Told apart with any common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
VERDICT_COLOURS = {
    "better": "#009E73",
    "worse": "#D55E00",
    "no clear difference": "#999999",
    "higher": "#56B4E9",
    "lower": "#56B4E9",
    "": "#999999",
}
VERDICT_SHAPES = {
    "better": "triangle-up",
    "worse": "triangle-down",
    "no clear difference": "circle",
    "higher": "diamond",
    "lower": "diamond",
    "": "circle",
}
"""Marker shapes by verdict, so that a chart printed in black and white still tells them apart."""
OCCUPANCY_LINES = (92, 95, 100)
TIME_IN_DEPARTMENT_HOURS = 12
"""The time-in-department chart shows its first 12 hours: the 4-hour standard and the 12-hour
wait are decided there, and the long tail beyond flattens the part that matters."""
FONT = 13


def scenario_scale(names: Sequence[str]) -> alt.Scale:
    """The scenario colour scale: the baseline first, in palette order."""
    names = list(names)
    return alt.Scale(domain=names, range=[PALETTE[i % len(PALETTE)] for i in range(len(names))])


def _style(chart: Any, height: int = 300) -> Any:
    return (
        chart.properties(height=height)
        .configure_axis(labelFontSize=FONT, titleFontSize=FONT + 1)
        .configure_legend(labelFontSize=FONT, titleFontSize=FONT, orient="bottom")
        .configure_title(fontSize=FONT + 2, anchor="start", offset=12)
        .properties(padding={"left": 5, "right": 40, "top": 20, "bottom": 5})
    )


def mean_band(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean of ``value`` across replications for each ``keys`` group, with a 95% CI (``low``,
    ``high``; equal to the mean where there is one replication). NaNs are left out."""
    g = df.groupby(keys, observed=True, sort=False)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy(float)
    t = np.where(n > 1, stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)), 0.0)
    half = t * np.nan_to_num(out["std"].to_numpy(float)) / np.sqrt(np.maximum(n, 1))
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out.drop(columns=["std", "count"])


def kpi_spread(kpis: pd.DataFrame, kpi: str, title: str, scenarios: Sequence[str]) -> alt.Chart:
    """One KPI across replications, per scenario: a box (quartiles, whiskers to the extremes)
    with each replication as a dot."""
    data = kpis.loc[kpis["kpi"] == kpi, ["scenario", "replication", "value"]].copy()
    data["scenario"] = data["scenario"].astype(str)
    colour = alt.Color("scenario:N", scale=scenario_scale(scenarios), legend=None)
    # Long change names are tilted rather than cut off.
    tilt = 0 if max((len(n) for n in scenarios), default=0) * len(scenarios) < 110 else -25
    x = alt.X(
        "scenario:N",
        title=None,
        sort=list(scenarios),
        axis=alt.Axis(labelAngle=tilt, labelLimit=0, labelAlign="right" if tilt else "center"),
    )
    y = alt.Y("value:Q", title=title, scale=alt.Scale(zero=False))
    box = (
        alt.Chart(data)
        .mark_boxplot(extent="min-max", size=40, opacity=0.5)
        .encode(x=x, y=y, color=colour)
    )
    dots = (
        alt.Chart(data)
        .mark_circle(size=50, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=colour,
            tooltip=["scenario", "replication", alt.Tooltip("value", format=".2f")],
        )
    )
    return _style(alt.layer(box, dots).properties(title=title))


def occupancy_by_hour(hour_of_week: pd.DataFrame, place: str) -> pd.DataFrame:
    """Occupancy of ``place`` as a % of its capacity by hour of the week, mean and 95% CI across
    replications, per scenario (hours when the place is closed are left out)."""
    d = hour_of_week[hour_of_week["place"].astype(str) == place].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        d["pct"] = np.where(d["capacity"] > 0, 100.0 * d["occupancy"] / d["capacity"], np.nan)
    d = d[np.isfinite(d["pct"])]
    d["scenario"] = d["scenario"].astype(str)
    return mean_band(d, ["scenario", "hour_of_week"], "pct")


_DAYS = "['Mon','Tue','Wed','Thu','Fri','Sat','Sun'][floor(datum.value / 24)]"


def occupancy_chart(band: pd.DataFrame, label: str, scenarios: Sequence[str]) -> alt.LayerChart:
    """Occupancy by hour of the week with its CI band and 92%, 95% and 100% reference lines."""
    colour = alt.Color("scenario:N", scale=scenario_scale(scenarios), title="Scenario")
    x = alt.X(
        "hour_of_week:Q",
        title="Hour of the week",
        scale=alt.Scale(domain=[0, 168], nice=False),
        axis=alt.Axis(values=list(range(0, 169, 24)), labelExpr=_DAYS),
    )
    lo = float(min(band["low"].min(), 85.0)) if len(band) else 0.0
    y_scale = alt.Scale(
        domain=[max(0.0, lo - 2), max(102.0, float(band["high"].max()) + 1) if len(band) else 102.0]
    )
    area = (
        alt.Chart(band)
        .mark_area(opacity=0.25)
        .encode(
            x=x,
            y=alt.Y("low:Q", scale=y_scale, title="Occupied (% of beds open)"),
            y2="high:Q",
            color=colour,
        )
    )
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("mean:Q", scale=y_scale),
            color=colour,
            tooltip=[
                "scenario",
                "hour_of_week",
                alt.Tooltip("mean", format=".1f", title="mean %"),
                alt.Tooltip("low", format=".1f"),
                alt.Tooltip("high", format=".1f"),
            ],
        )
    )
    refs = pd.DataFrame(
        {"level": list(OCCUPANCY_LINES), "text": [f"{v}%" for v in OCCUPANCY_LINES]}
    )
    rule = alt.Chart(refs).mark_rule(strokeDash=[4, 3], color="#333333").encode(y="level:Q")
    # Labels just outside the right edge, where they hide no data.
    text = (
        alt.Chart(refs)
        .mark_text(align="left", dx=4, color="#333333", fontSize=FONT - 2)
        .encode(x=alt.datum(168), y="level:Q", text="text:N")
    )
    return _style(
        alt.layer(area, line, rule, text).properties(
            title=f"{label}: occupancy by hour of the week"
        ),
        height=340,
    )


def time_in_department_band(cdf: pd.DataFrame) -> pd.DataFrame:
    """The cumulative share of ED attendances leaving within each time (in hours), mean and 95%
    CI across replications, per scenario."""
    # Every tenth minute is plenty for a line over 24 hours, and keeps the chart (inlined in
    # reports) a tenth of the size of the one-minute table.
    d = cdf[cdf["minutes"] % 10 == 0].copy()
    d["scenario"] = d["scenario"].astype(str)
    d["hours"] = d["minutes"] / 60.0
    d["pct"] = 100.0 * d["share_within"]
    return mean_band(d, ["scenario", "hours"], "pct")


def time_in_department_chart(band: pd.DataFrame, scenarios: Sequence[str]) -> alt.LayerChart:
    """The distribution of time in department (cumulative) over its first
    :data:`TIME_IN_DEPARTMENT_HOURS` hours, where the standard is decided, with the 4-hour
    line."""
    band = band[band["hours"] <= TIME_IN_DEPARTMENT_HOURS]
    colour = alt.Color("scenario:N", scale=scenario_scale(scenarios), title="Scenario")
    x = alt.X(
        "hours:Q",
        title="Hours from arrival to leaving the ED",
        scale=alt.Scale(domain=[0, TIME_IN_DEPARTMENT_HOURS], nice=False),
        axis=alt.Axis(values=list(range(0, TIME_IN_DEPARTMENT_HOURS + 1, 2))),
    )
    y = alt.Y("mean:Q", title="% of attendances gone", scale=alt.Scale(domain=[0, 100]))
    area = alt.Chart(band).mark_area(opacity=0.25).encode(x=x, y="low:Q", y2="high:Q", color=colour)
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=colour,
            tooltip=[
                "scenario",
                alt.Tooltip("hours", format=".2f"),
                alt.Tooltip("mean", format=".1f", title="% gone"),
            ],
        )
    )
    four = pd.DataFrame({"hours": [4.0], "text": ["4 hours"]})
    rule = alt.Chart(four).mark_rule(strokeDash=[4, 3], color="#333333").encode(x="hours:Q")
    text = (
        alt.Chart(four)
        .mark_text(align="left", dx=3, y=8, color="#333333", fontSize=FONT - 1)
        .encode(x="hours:Q", text="text:N")
    )
    return _style(
        alt.layer(area, line, rule, text).properties(title="Time in department (cumulative)")
    )


def ed_band(ed: pd.DataFrame, column: str, freq: str = "D") -> pd.DataFrame:
    """``column`` of the ED time series averaged over each period ``freq`` (``"D"`` days,
    ``"h"`` hours) within each replication, then mean and 95% CI across replications."""
    d = ed[["scenario", "replication", "time", column]].copy()
    d["scenario"] = d["scenario"].astype(str)
    d["time"] = d["time"].dt.floor(freq)
    per_rep = (
        d.groupby(["scenario", "replication", "time"], observed=True, sort=False)[column]
        .mean()
        .reset_index()
    )
    band = mean_band(per_rep, ["scenario", "time"], column)
    band["low"] = band["low"].clip(lower=0.0)  # a count cannot be below zero
    return band


def ed_band_by_day(
    ed: pd.DataFrame, column: str, starts: Mapping[str, pd.Timestamp], freq: str = "D"
) -> pd.DataFrame:
    """:func:`ed_band` with each scenario's ``day`` of its own measured period (day 1 begins at
    1.0; an hour at noon of day 1 is 1.5), from ``starts``, the moment each scenario's
    measuring begins. Scenarios that start on different dates are compared day for day, and
    each keeps its own calendar ``time`` (for the tooltip)."""
    band = ed_band(ed, column, freq)
    start = pd.to_datetime(band["scenario"].map(lambda name: pd.Timestamp(starts[name])))
    band["day"] = (band["time"] - start) / pd.Timedelta(days=1) + 1.0
    return band


def measured_dates(
    starts: Mapping[str, pd.Timestamp],
    days: Mapping[str, float],
    shown: Callable[[str], str] = str,
) -> str:
    """Each scenario's own measured dates, for a caption (``Measured 14 Oct 2024 to 08 Dec
    2024`` when they share them, else ``Measured: baseline 14 Oct 2024 to ...; winter ...``);
    ``shown`` makes a scenario's name safe to show (the page's ``plain``)."""
    ranges = {
        name: f"{pd.Timestamp(t):%d %b %Y} to "
        f"{pd.Timestamp(t) + pd.Timedelta(days=days[name]) - pd.Timedelta(days=1):%d %b %Y}"
        for name, t in starts.items()
    }
    if len(set(ranges.values())) == 1:
        return "Measured " + next(iter(ranges.values()))
    return "Measured: " + "; ".join(f"{shown(name)} {r}" for name, r in ranges.items())


def over_time_chart(
    band: pd.DataFrame, title: str, y_title: str, scenarios: Sequence[str]
) -> alt.LayerChart:
    """A series over the measured period, mean across replications with its CI band. With a
    ``day`` column (:func:`ed_band_by_day`), scenarios are drawn by day of their own measured
    period and the tooltip gives each one's own date; without, on the calendar."""
    colour = alt.Color("scenario:N", scale=scenario_scale(scenarios), title="Scenario")
    if "day" in band.columns:
        x = alt.X(
            "day:Q",
            title="Day of the measured period",
            scale=alt.Scale(nice=False, zero=False),
            axis=alt.Axis(format="d", tickMinStep=1),
        )
    else:
        x = alt.X("time:T", title=None, axis=alt.Axis(format="%d %b"))
    area = alt.Chart(band).mark_area(opacity=0.2).encode(x=x, y="low:Q", y2="high:Q", color=colour)
    tooltip = [
        alt.Tooltip("scenario:N", title="Scenario"),
        alt.Tooltip("time:T", format="%a %d %b %Y %H:%M", title="Date"),
        alt.Tooltip("mean:Q", format=".1f", title=y_title),
    ]
    if "day" in band.columns:
        tooltip.insert(1, alt.Tooltip("day:Q", format=".0f", title="Day"))
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=1.5)
        .encode(x=x, y=alt.Y("mean:Q", title=y_title), color=colour, tooltip=tooltip)
    )
    return _style(alt.layer(area, line).properties(title=title), height=260)


def forest_data(comparison: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """The rows of a comparison for one KPI, the changes sorted by effect: the best change
    first (the largest rise when higher is better, the largest fall when lower is better)."""
    d = comparison.loc[
        comparison["kpi"].astype(str) == kpi,
        ["scenario", "difference", "ci_low", "ci_high", "verdict"],
    ].copy()
    d["scenario"] = d["scenario"].astype(str)
    d["verdict"] = d["verdict"].fillna("").astype(str)
    direction = better_direction(kpi) or 1
    d["_effect"] = direction * d["difference"]
    return (
        d.sort_values("_effect", ascending=False, kind="stable", na_position="last")
        .drop(columns="_effect")
        .reset_index(drop=True)
    )


def forest_plot(comparison: pd.DataFrame, kpi: str = "four_hour_pct") -> alt.LayerChart:
    """Each change's paired difference from the baseline in ``kpi``, with its 95% CI, against a
    zero line: one row per change, sorted by effect (best first), coloured by verdict (and the
    verdict also shown by the marker's shape and in the tooltip and legend, so that colour is
    never the only cue)."""
    data = forest_data(comparison, kpi)
    info = kpi_info(kpi)
    unit = info.unit if info is not None else ""
    unit_text = "percentage points" if unit == "%" else unit
    title = f"{label(kpi)}: change from the baseline" + (f" ({unit_text})" if unit_text else "")
    present = [v for v in VERDICT_COLOURS if v and v in set(data["verdict"])]
    colour = alt.Color(
        "verdict:N",
        title="Verdict",
        scale=alt.Scale(domain=present, range=[VERDICT_COLOURS[v] for v in present]),
    )
    shape = alt.Shape(
        "verdict:N",
        title="Verdict",
        scale=alt.Scale(domain=present, range=[VERDICT_SHAPES[v] for v in present]),
    )
    y = alt.Y("scenario:N", title=None, sort=list(data["scenario"]), axis=alt.Axis(labelLimit=400))
    tooltip = [
        alt.Tooltip("scenario:N", title="Change"),
        alt.Tooltip("difference:Q", format="+.2f", title="Difference"),
        alt.Tooltip("ci_low:Q", format="+.2f", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format="+.2f", title="95% CI high"),
        alt.Tooltip("verdict:N", title="Verdict"),
    ]
    ci = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3)
        .encode(
            x=alt.X("ci_low:Q", title=title, scale=alt.Scale(zero=True)),
            x2="ci_high:Q",
            y=y,
            color=colour,
            tooltip=tooltip,
        )
    )
    point = (
        alt.Chart(data)
        .mark_point(filled=True, size=110)
        .encode(x="difference:Q", y=y, color=colour, shape=shape, tooltip=tooltip)
    )
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color="#333333", strokeDash=[4, 3])
        .encode(x="zero:Q")
    )
    height = max(90, 40 * len(data))
    return _style(
        alt.layer(zero, ci, point).properties(title="Difference from the baseline, with 95% CI"),
        height=height,
    )
