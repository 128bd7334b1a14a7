"""SPC charts of a study as Vega-Lite specifications, coloured as Making Data Count colours them.

Improvement is blue, concern orange, a change in a measure with no better direction purple, and
common-cause points grey; the shape of each point says the same, so a chart printed in black and
white still tells them apart. The predicted band for the weeks after the change is shaded.
"""

from __future__ import annotations

from typing import Any

from .spc import meaning
from .study import KpiStudy

COLOURS = {
    "common cause": "#a6a6a6",
    "improvement": "#289de0",
    "concern": "#fab428",
    "higher": "#361475",
    "lower": "#361475",
}
SHAPES = {
    "common cause": "circle",
    "improvement": "diamond",
    "concern": "square",
    "higher": "triangle-up",
    "lower": "triangle-down",
}


def spc_chart(s: KpiStudy) -> dict[str, Any]:
    """The chart of one measure: weeks, centre line, limits, the predicted band after the change
    and each week's signal."""
    rows = []
    for i, week in enumerate(s.weeks):
        band = s.band if s.after[i] and s.band is not None else None
        rows.append(
            {
                "week": week.isoformat(),
                "value": float(s.values[i]),
                "centre": float(s.limits.centre[i]),
                "lower": float(s.limits.lower[i]),
                "upper": float(s.limits.upper[i]),
                "phase": "after" if s.after[i] else "before",
                "signal": meaning(int(s.signals[i]), s.better),
                **(
                    {"band_low": band[0], "band_mid": band[1], "band_high": band[2]} if band else {}
                ),
            }
        )
    x = {"field": "week", "type": "temporal", "title": "Week starting"}
    y_title = f"{s.label} ({s.unit})" if s.unit else s.label
    line_step = "step" if s.chart == "p" else "linear"
    kinds = list(COLOURS)
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "area", "opacity": 0.18, "color": "#289de0"},
            "transform": [{"filter": "isValid(datum.band_low)"}],
            "encoding": {
                "x": x,
                "y": {"field": "band_low", "type": "quantitative"},
                "y2": {"field": "band_high"},
                "tooltip": [
                    {"field": "band_low", "title": "predicted low", "format": ".1f"},
                    {"field": "band_high", "title": "predicted high", "format": ".1f"},
                ],
            },
        },
        {
            "mark": {"type": "line", "strokeDash": [2, 3], "color": "#1f5f8b"},
            "transform": [{"filter": "isValid(datum.band_mid)"}],
            "encoding": {"x": x, "y": {"field": "band_mid", "type": "quantitative"}},
        },
    ]
    for field, dash in (("centre", [1, 0]), ("lower", [8, 4]), ("upper", [8, 4])):
        layers.append(
            {
                "mark": {
                    "type": "line",
                    "interpolate": line_step,
                    "color": "#444",
                    "strokeDash": dash,
                    "strokeWidth": 1,
                },
                "encoding": {
                    "x": x,
                    "y": {"field": field, "type": "quantitative"},
                    "detail": {"field": "phase"},
                },
            }
        )
    layers.append(
        {
            "mark": {"type": "line", "color": "#7f7f7f"},
            "encoding": {
                "x": x,
                "y": {
                    "field": "value",
                    "type": "quantitative",
                    "title": y_title,
                    "scale": {"zero": False},
                },
            },
        }
    )
    layers.append(
        {
            "mark": {"type": "point", "filled": True, "size": 70},
            "encoding": {
                "x": x,
                "y": {"field": "value", "type": "quantitative"},
                "color": {
                    "field": "signal",
                    "type": "nominal",
                    "title": "Signal",
                    "scale": {"domain": kinds, "range": [COLOURS[k] for k in kinds]},
                },
                "shape": {
                    "field": "signal",
                    "type": "nominal",
                    "title": "Signal",
                    "scale": {"domain": kinds, "range": [SHAPES[k] for k in kinds]},
                },
                "tooltip": [
                    {"field": "week", "type": "temporal", "title": "week starting"},
                    {"field": "value", "format": ".2f"},
                    {"field": "signal"},
                    {"field": "lower", "format": ".2f", "title": "lower limit"},
                    {"field": "upper", "format": ".2f", "title": "upper limit"},
                ],
            },
        }
    )
    change = next((w for w, a in zip(s.weeks, s.after, strict=True) if a), None)
    if change is not None:
        layers.append(
            {
                "data": {"values": [{"week": change.isoformat()}]},
                "mark": {"type": "rule", "color": "#000", "strokeDash": [4, 2]},
                "encoding": {"x": x},
            }
        )
    kind = "p-chart" if s.chart == "p" else "XmR chart"
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {
            "text": f"{s.label}: {kind}",
            "subtitle": "dashed vertical line: the change; "
            "shaded: predicted range of a single week",
        },
        "width": 760,
        "height": 300,
        "data": {"values": rows},
        "layer": layers,
    }
