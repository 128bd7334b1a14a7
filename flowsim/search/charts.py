"""Charts of a capacity search: each target's KPI against the lever, and the two-lever frontier.

Altair is imported here only, when a chart is drawn, so that the search runs without it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..kpis import label
from .core import SearchResult

DECISIONS = ["meets", "fails", "unsure"]
COLOURS = ["#1b7837", "#b2182b", "#e08214"]
"""Green, red and orange, told apart by shape too (colour-blind readers, grey print)."""


def search_chart(result: SearchResult, table: pd.DataFrame) -> dict[str, Any]:
    """The chart of a search as a Vega-Lite spec: KPI against lever with CIs and the target
    line (one panel per target), or for two levers every combination tried and the frontier."""
    if len(result.levers) == 2:
        return _frontier_chart(result, table)
    import altair as alt

    lever = result.levers[0].path
    panels = []
    for t in result.targets:
        # Vega-Lite reads a dot in a field name as a nested field: the columns are renamed.
        data = pd.DataFrame(
            {
                "value": table[lever],
                "decision": table["decision"],
                "replications": table["replications"],
                "mean": table[f"{t.kpi}.mean"],
                "ci_low": table[f"{t.kpi}.ci_low"],
                "ci_high": table[f"{t.kpi}.ci_high"],
            }
        )
        base = alt.Chart(data).encode(
            x=alt.X("value:Q", title=lever, scale=alt.Scale(zero=False), axis=_axis(result, 0))
        )
        bars = base.mark_errorbar().encode(
            y=alt.Y("ci_low:Q", title=f"{label(t.kpi)} ({t.kpi})", scale=alt.Scale(zero=False)),
            y2="ci_high:Q",
        )
        dots = base.mark_point(filled=True, size=70).encode(
            y="mean:Q",
            color=alt.Color(
                "decision:N",
                scale=alt.Scale(domain=DECISIONS, range=COLOURS),
                title="Targets",
            ),
            shape=alt.Shape("decision:N", scale=alt.Scale(domain=DECISIONS), title="Targets"),
            tooltip=["value", "mean", "ci_low", "ci_high", "replications", "decision"],
        )
        rule = (
            alt.Chart(pd.DataFrame({"target": [t.value]}))
            .mark_rule(strokeDash=[6, 4], color="black")
            .encode(y="target:Q")
        )
        panels.append(
            alt.layer(bars, dots, rule).properties(
                title=f"{t} (dashed line)", width=560, height=260
            )
        )
    chart = alt.vconcat(*panels).properties(
        title=f"{', '.join(map(str, result.targets))}: means with {result.confidence:.0%} CIs"
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _frontier_chart(result: SearchResult, table: pd.DataFrame) -> dict[str, Any]:
    import altair as alt

    a, b = (lv.path for lv in result.levers)
    # Vega-Lite reads a dot in a field name as a nested field: the columns are renamed.
    data = pd.DataFrame(
        {
            "first": table[a],
            "second": table[b],
            "decision": table["decision"],
            "replications": table["replications"],
        }
    )
    tried = (
        alt.Chart(data)
        .mark_point(filled=True, size=80)
        .encode(
            x=alt.X("first:Q", title=a, scale=alt.Scale(zero=False), axis=_axis(result, 0)),
            y=alt.Y("second:Q", title=b, scale=alt.Scale(zero=False), axis=_axis(result, 1)),
            color=alt.Color(
                "decision:N",
                scale=alt.Scale(domain=DECISIONS, range=COLOURS),
                title="Targets",
            ),
            shape=alt.Shape("decision:N", scale=alt.Scale(domain=DECISIONS), title="Targets"),
            tooltip=["first", "second", "decision", "replications"],
        )
    )
    frontier = pd.DataFrame(result.frontier, columns=["first", "second"])
    line = (
        alt.Chart(frontier)
        .mark_line(point=True, color="black")
        .encode(x="first:Q", y="second:Q", order="second:Q")
    )
    chart = alt.layer(tried, line).properties(
        title=f"Cheapest combinations meeting {', '.join(map(str, result.targets))} (line)",
        width=560,
        height=360,
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _axis(result: SearchResult, lever: int) -> Any:
    """Ticks at whole numbers only for a lever of whole numbers (no 2.4 doctors)."""
    import altair as alt

    values = result.levers[lever].values
    if all(isinstance(v, int) for v in values) and len(values) <= 30:
        return alt.Axis(values=list(values), format="d")
    return alt.Axis(tickMinStep=1) if all(isinstance(v, int) for v in values) else alt.Axis()
