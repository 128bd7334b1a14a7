"""Build one offline HTML report, and optionally one PNG per chart, from a results folder.

The report reads only the files ``flowsim run`` / ``flowsim compare`` wrote. Vega, Vega-Lite and
vega-embed are inlined once (from vl-convert), so the file loads nothing from any network. Lines
are told apart by dash pattern and points by shape as well as colour, so it prints in black and
white. Files are written under a temporary name and renamed, so no half-written report is left.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from .. import charts
from ..errors import FlowsimError
from ..kpis import headline_kpis, label
from . import page

FOREST_KPI = "four_hour_pct"
DASHES = [[1, 0], [8, 4], [2, 3], [8, 3, 2, 3], [12, 6], [4, 4, 1, 4]]


class ReportError(FlowsimError):
    """The results folder cannot be made into a report; nothing was written."""


@dataclass
class Folder:
    """What a results folder holds, as read for the report."""

    path: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    comparison: pd.DataFrame | None
    hour_of_week: pd.DataFrame | None
    time_in_department: pd.DataFrame | None

    @property
    def scenarios(self) -> list[str]:
        return [str(s["name"]) for s in self.manifest.get("scenarios", [])]


def read_folder(path: Path) -> Folder:
    """Read a results folder, or raise :class:`ReportError` saying plainly what is wrong."""
    if not path.exists():
        raise ReportError(f"{path}: no such folder")
    if not path.is_dir():
        raise ReportError(f"{path}: is not a folder; give the results folder of a run")
    mark = path / "manifest.json"
    if not mark.is_file():
        raise ReportError(
            f"{path}: is not a flowsim results folder (it has no manifest.json); give the "
            "folder that `flowsim run` or `flowsim compare` wrote with --out"
        )
    try:
        manifest = json.loads(mark.read_text())
    except (OSError, ValueError) as e:
        raise ReportError(f"{mark}: cannot be read ({e})") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("scenarios"), list):
        raise ReportError(f"{mark}: is not a flowsim manifest (it lists no scenarios)")
    listed = manifest.get("files", [])
    missing = [f for f in listed if isinstance(f, str) and not (path / f).is_file()]
    if "summary.csv" not in listed and not (path / "summary.csv").is_file():
        missing.append("summary.csv")
    if missing:
        raise ReportError(
            f"{path}: files are missing from this results folder: {', '.join(missing)}"
        )

    def csv(name: str) -> pd.DataFrame | None:
        f = path / name
        if not f.is_file():
            return None
        try:
            return pd.read_csv(f)
        except (OSError, ValueError) as e:
            raise ReportError(f"{f}: cannot be read ({e})") from e

    summary = csv("summary.csv")
    assert summary is not None
    return Folder(
        path,
        manifest,
        summary,
        csv("comparison.csv"),
        csv("hour_of_week.csv"),
        csv("time_in_department.csv"),
    )


# -- charts ----------------------------------------------------------------------------------
def _dash(scenarios: Sequence[str]) -> alt.StrokeDash:
    return alt.StrokeDash(
        "scenario:N",
        scale=alt.Scale(
            domain=list(scenarios), range=[DASHES[i % len(DASHES)] for i in range(len(scenarios))]
        ),
        title="Scenario",
    )


def forest_chart(comparison: pd.DataFrame, kpi: str = FOREST_KPI) -> Any:
    """Each change's paired difference from the baseline in ``kpi`` with its 95% CI and a zero
    line, sorted by effect; the verdict is shown by shape and colour."""
    d = comparison[comparison["kpi"] == kpi].copy()
    if d.empty:
        return None
    d = d.sort_values("difference", ascending=False)
    unit = str(d["unit"].iloc[0]) if "unit" in d else ""
    title = f"{label(kpi)}: change from the baseline ({_unit_words(unit)}), with 95% CI"
    order = d["scenario"].astype(str).tolist()
    y = alt.Y("scenario:N", sort=order, title=None, axis=alt.Axis(labelLimit=400))
    verdicts = ["better", "worse", "no clear difference", "higher", "lower"]
    x_title = f"Difference from the baseline ({_unit_words(unit)})"
    bars = (
        alt.Chart(d)
        .mark_rule(strokeWidth=3, color="#333333")
        .encode(y=y, x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q")
    )
    dots = (
        alt.Chart(d)
        .mark_point(size=160, filled=True, opacity=1)
        .encode(
            y=y,
            x="difference:Q",
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(
                    domain=verdicts, range=[charts.VERDICT_COLOURS[v] for v in verdicts]
                ),
                title="Verdict",
            ),
            shape=alt.Shape(
                "verdict:N",
                scale=alt.Scale(
                    domain=verdicts,
                    range=["triangle-up", "triangle-down", "circle", "square", "diamond"],
                ),
                title="Verdict",
            ),
            tooltip=["scenario", "difference", "ci_low", "ci_high", "verdict"],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return charts._style(
        alt.layer(zero, bars, dots).properties(title=title, width=600),
        height=max(80, 40 * len(d)),
    )


def occupancy_chart(band: pd.DataFrame, place: str, scenarios: Sequence[str]) -> Any:
    """Occupancy of ``place`` by hour of the week, a dash pattern per scenario, 92/95/100% lines."""
    x = alt.X(
        "hour_of_week:Q",
        title="Hour of the week (Monday 00:00 = 0)",
        scale=alt.Scale(domain=[0, 168], nice=False),
        axis=alt.Axis(values=list(range(0, 169, 24))),
    )
    y = alt.Y("mean:Q", title="Occupied (% of beds open)", scale=alt.Scale(zero=False))
    colour = alt.Color("scenario:N", scale=charts.scenario_scale(scenarios), title="Scenario")
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=colour, strokeDash=_dash(scenarios))
    )
    refs = pd.DataFrame({"level": list(charts.OCCUPANCY_LINES)})
    refs["text"] = refs["level"].astype(str) + "%"
    rule = alt.Chart(refs).mark_rule(strokeDash=[2, 2], color="#333333").encode(y="level:Q")
    text = (
        alt.Chart(refs)
        .mark_text(align="left", dx=4, color="#333333")
        .encode(x=alt.datum(168), y="level:Q", text="text:N")
    )
    return charts._style(
        alt.layer(line, rule, text).properties(
            title=f"{place}: occupancy by hour of the week (mean of replications)", width=600
        ),
        height=300,
    )


def time_in_department_chart(band: pd.DataFrame, scenarios: Sequence[str]) -> Any:
    """Cumulative % of ED attendances gone by each hour, 0 to 12 hours, with the 4-hour line."""
    band = band[band["hours"] <= 12]
    x = alt.X(
        "hours:Q",
        title="Hours from arrival to leaving the ED",
        scale=alt.Scale(domain=[0, 12], nice=False),
        axis=alt.Axis(values=list(range(0, 13, 2)), format="d"),
    )
    y = alt.Y("mean:Q", title="% of attendances gone", scale=alt.Scale(domain=[0, 100]))
    colour = alt.Color("scenario:N", scale=charts.scenario_scale(scenarios), title="Scenario")
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=colour, strokeDash=_dash(scenarios))
    )
    four = alt.Chart(pd.DataFrame({"hours": [4.0], "text": ["4 hours"]}))
    rule = four.mark_rule(strokeDash=[2, 2], color="#333333").encode(x="hours:Q")
    text = four.mark_text(align="left", dx=3, y=8, color="#333333").encode(
        x="hours:Q", text="text:N"
    )
    return charts._style(
        alt.layer(line, rule, text).properties(
            title="Time in department (cumulative, mean of replications)", width=600
        )
    )


# -- text ------------------------------------------------------------------------------------
def _unit_words(unit: str) -> str:
    return {"%": "percentage points", "min": "minutes", "h": "hours"}.get(unit, unit)


def _num(x: object, signed: bool = False) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if v != v:
        return "n/a"
    digits = 1 if abs(v) >= 10 else 2
    return f"{v:+,.{digits}f}" if signed else f"{v:,.{digits}f}"


def verdict_rows(comparison: pd.DataFrame) -> list[list[object]]:
    """One row per change and headline KPI: the numbers of the verdict table."""
    kpis = headline_kpis(comparison["kpi"].astype(str))
    order = {k: i for i, k in enumerate(kpis)}
    d = comparison[comparison["kpi"].isin(order)].copy()
    d["_o"] = d["kpi"].map(order)
    rows: list[list[object]] = []
    for r in d.sort_values(["scenario", "_o"], kind="stable").itertuples(index=False):
        rows.append(
            [
                str(r.scenario),
                label(str(r.kpi)),
                str(getattr(r, "unit", "")),
                _num(r.baseline_mean),
                _num(r.scenario_mean),
                f"{_num(r.difference, True)} ({_num(r.ci_low, True)} to {_num(r.ci_high, True)})",
                str(r.verdict) if isinstance(r.verdict, str) else "",
            ]
        )
    return rows


def render_html(folder: Folder, figures: list[tuple[str, dict[str, Any]]]) -> str:
    """The report as one HTML page: text, tables, and the charts drawn by the inlined Vega."""
    m = folder.manifest
    names = folder.scenarios
    parts: list[str] = ["<h1>flowsim report</h1>", "<h2>The question</h2>"]
    if names:
        changes = names[1:]
        parts.append(
            f"<p>Baseline: <b>{html.escape(names[0])}</b>. "
            + (
                "Changes compared with it: "
                + ", ".join(f"<b>{html.escape(c)}</b>" for c in changes)
                + "."
                if changes
                else "No changes were compared."
            )
            + "</p>"
        )
    if folder.comparison is not None and len(folder.comparison):
        parts.append("<h2>Headline results</h2>")
        parts.append(
            "<p>Means across replications. The difference is the change minus the baseline, "
            "paired by replication, with its 95% confidence interval; 'no clear difference' "
            "means the interval includes zero.</p>"
        )
        parts.append(
            page.table(
                [
                    "Change",
                    "Measure",
                    "Unit",
                    "Baseline",
                    "Change",
                    "Difference (95% CI)",
                    "Verdict",
                ],
                verdict_rows(folder.comparison),
            )
        )
    else:
        parts.append("<p>This folder has no comparison (it was written by `flowsim run`).</p>")
    parts.append("<h2>Charts</h2>")
    for i, (title, _spec) in enumerate(figures):
        parts.append(page.chart_placeholder(i, title))
    parts.append("<h2>Run settings</h2>")
    scen = m.get("scenarios", [])
    parts.append(
        page.table(
            ["Scenario", "Start date", "Warm-up (days)", "Measured (days)", "Scenario hash"],
            [
                [
                    s.get("name", ""),
                    s.get("start", ""),
                    _num(s.get("warmup_days")),
                    _num(s.get("length_days")),
                    s.get("hash", ""),
                ]
                for s in scen
                if isinstance(s, dict)
            ],
        )
    )
    settings = [
        ["Replications per scenario", m.get("replications", "")],
        ["Random seed", m.get("seed", "")],
        ["Failed replications", len(m.get("failed_replications", []) or [])],
        ["Command", m.get("command", "")],
        ["Results written", m.get("created", "")],
    ]
    parts.append(page.table(["Setting", "Value"], settings))
    parts.append("<h2>Versions</h2>")
    versions = [
        [k, m[k]] for k in ("flowsim_version", "python", "numpy", "simpy", "pandas") if k in m
    ]
    parts.append(page.table(["Software", "Version"], versions))
    return page.render("flowsim report", parts, [spec for _title, spec in figures])


def chart_specs(folder: Folder) -> list[tuple[str, Any]]:
    """The report's charts, in order, as ``(file stem, chart)``."""
    names = folder.scenarios
    out: list[tuple[str, Any]] = []
    if folder.comparison is not None:
        forest = forest_chart(folder.comparison)
        if forest is not None:
            out.append(("forest_four_hour", forest))
    if folder.hour_of_week is not None:
        hw = folder.hour_of_week
        for place in dict.fromkeys(hw["place"].astype(str)):
            band = charts.occupancy_by_hour(hw, place)
            if len(band):
                out.append((f"occupancy_{place}", occupancy_chart(band, place, names)))
    if folder.time_in_department is not None and len(folder.time_in_department):
        band = charts.time_in_department_band(folder.time_in_department)
        out.append(("time_in_department", time_in_department_chart(band, names)))
    return out


def build_report(results: Path, out: Path, png: Path | None = None) -> list[Path]:
    """Write the report of results folder ``results`` to ``out`` (and one PNG per chart into
    ``png``); return the files written."""
    folder = read_folder(results)
    specs = [(stem, chart.to_dict()) for stem, chart in chart_specs(folder)]
    try:
        return page.write_page(out, render_html(folder, specs), specs, png)
    except page.PageError as e:
        raise ReportError(str(e)) from e
