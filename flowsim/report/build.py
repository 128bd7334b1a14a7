"""Build one offline HTML report, and optionally one PNG per chart, from a results folder.

The report reads only the files ``flowsim run`` / ``flowsim compare`` wrote. Vega, Vega-Lite and
vega-embed are inlined once (from vl-convert), so the file loads nothing from any network. Lines
are told apart by dash pattern and points by shape as well as colour, so it prints in black and
white. Files are written under a temporary name and renamed, so no half-written report is left.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from .. import charts
from ..alterations import alterations, duration_words
from ..errors import FlowsimError
from ..kpis import headline_kpis, label
from ..scenario import Scenario
from ..stability import summary_note
from ..stability import warnings as stability_warnings
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
    ed_timeseries: pd.DataFrame | None = None
    stability: pd.DataFrame | None = None
    resolved: dict[str, Scenario] = field(default_factory=dict)

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
    ed = None
    if (path / "ed_timeseries.parquet").is_file():
        try:
            ed = pd.read_parquet(path / "ed_timeseries.parquet")
        except (OSError, ValueError) as e:
            raise ReportError(f"{path / 'ed_timeseries.parquet'}: cannot be read ({e})") from e
    return Folder(
        path,
        manifest,
        summary,
        csv("comparison.csv"),
        csv("hour_of_week.csv"),
        csv("time_in_department.csv"),
        ed,
        csv("stability.csv"),
        _resolved_scenarios(path, manifest),
    )


def _resolved_scenarios(path: Path, manifest: dict[str, Any]) -> dict[str, Scenario]:
    """The scenarios as run, read back from the folder's ``scenarios/`` copies (resolved, so each
    stands alone); one that cannot be read is left out, and the report says less about it."""
    from ..errors import ScenarioError
    from ..loader import load_scenario

    out: dict[str, Scenario] = {}
    for s in manifest.get("scenarios", []):
        name = str(s.get("name", "")) if isinstance(s, dict) else ""
        f = path / "scenarios" / f"{name}.yaml"
        if name and f.is_file():
            try:
                out[name] = load_scenario(f)
            except (ScenarioError, OSError):
                continue
    return out


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


def ed_by_day(ed: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the ED time series as a daily mean per replication, then the mean across
    replications, by day of the measured period (so scenarios with different start dates are
    drawn over one another). Columns ``scenario, day, mean``."""
    d = ed[["scenario", "replication", "time", column]].copy()
    d["scenario"] = d["scenario"].astype(str)
    t = pd.to_datetime(d["time"])
    first = t.groupby([d["scenario"], d["replication"]]).transform("min")
    d["day"] = ((t - first) // pd.Timedelta(days=1)).astype(int) + 1
    per_rep = d.groupby(["scenario", "replication", "day"], sort=False)[column].mean()
    band = per_rep.groupby(["scenario", "day"], sort=False).mean().rename("mean").reset_index()
    return band


def ed_chart(band: pd.DataFrame, title: str, scenarios: Sequence[str]) -> Any:
    """A daily series over the measured period, a dash pattern and colour per scenario."""
    colour = alt.Color("scenario:N", scale=charts.scenario_scale(scenarios), title="Scenario")
    line = (
        alt.Chart(band)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("day:Q", title="Day of the measured period", axis=alt.Axis(format="d")),
            y=alt.Y("mean:Q", title="Patients waiting (daily mean, mean of replications)"),
            color=colour,
            strokeDash=_dash(scenarios),
            tooltip=["scenario", "day", alt.Tooltip("mean:Q", format=".1f")],
        )
    )
    return charts._style(line.properties(title=title, width=600), height=260)


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


def _value(x: object, unit: str, signed: bool = False) -> str:
    """A number for the tables; minutes over 120 as hours and minutes."""
    text = _num(x, signed)
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return text
    if unit in ("min", "minutes") and v == v and abs(v) > 120:
        sign = ("+" if v > 0 else "-") if signed else ("-" if v < 0 else "")
        return f"{sign}{duration_words(abs(v))}"
    return text


def verdict_rows(comparison: pd.DataFrame) -> list[list[object]]:
    """One row per change and headline KPI: the numbers of the verdict table."""
    kpis = headline_kpis(comparison["kpi"].astype(str))
    order = {k: i for i, k in enumerate(kpis)}
    d = comparison[comparison["kpi"].isin(order)].copy()
    d["_o"] = d["kpi"].map(order)
    rows: list[list[object]] = []
    for r in d.sort_values(["scenario", "_o"], kind="stable").itertuples(index=False):
        unit = str(getattr(r, "unit", ""))
        unit = "" if unit == "nan" else unit
        rows.append(
            [
                str(r.scenario),
                label(str(r.kpi)),
                _unit_words(unit) if unit in ("min", "h") else unit,
                _value(r.baseline_mean, unit),
                _value(r.scenario_mean, unit),
                f"{_value(r.difference, unit, True)} "
                f"({_value(r.ci_low, unit, True)} to {_value(r.ci_high, unit, True)})",
                str(r.verdict) if isinstance(r.verdict, str) else "",
            ]
        )
    return rows


def render_html(
    folder: Folder, figures: list[tuple[str, dict[str, Any]]], validation: Path | None = None
) -> str:
    """The report as one HTML page: text, tables, and the charts drawn by the inlined Vega."""
    m = folder.manifest
    names = folder.scenarios
    parts: list[str] = ["<h1>flowsim report</h1>", "<h2>The question</h2>"]
    if names:
        changes = names[1:]
        parts.append(
            f"<p>Baseline: <b>{html.escape(names[0])}</b>. "
            + (
                "Changes compared with it, and what each alters in the baseline:"
                if changes
                else "No changes were compared."
            )
            + "</p>"
        )
        if changes:
            parts.append(_alterations_html(folder, names[0], changes))
    warned = stability_warnings(folder.stability) if folder.stability is not None else []
    for w in warned:
        parts.append(f'<p class="warning"><b>{html.escape(w)}</b></p>')
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
    parts.append("<h2>Stability check</h2>")
    parts.append(_stability_html(folder))
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
    software = {
        "flowsim_version": "flowsim",
        "python": "Python",
        "numpy": "NumPy",
        "simpy": "SimPy",
        "pandas": "pandas",
    }
    versions = [[name, m[k]] for k, name in software.items() if k in m]
    parts.append(page.table(["Software", "Version"], versions))
    parts.append("<h2>How the model is checked</h2>")
    parts.append(_validation_html(validation))
    return page.render("flowsim report", parts, [spec for _title, spec in figures], css=CSS)


CSS = (
    page.CSS
    + """
.warning { border: 3px solid #000; padding: 0.5rem; }
ul.alters { margin-top: 0.2rem; }
"""
)

VALIDATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
"""The validation report in the repository this flowsim was installed from (if it was)."""


def _alterations_html(folder: Folder, baseline: str, changes: Sequence[str]) -> str:
    items = []
    base = folder.resolved.get(baseline)
    for c in changes:
        change = folder.resolved.get(c)
        if base is None or change is None:
            what = ["(not known: the folder has no copy of the scenario as run)"]
        else:
            what = alterations(change, base) or ["nothing: it runs as the baseline does"]
        inner = "".join(f"<li>{html.escape(w)}</li>" for w in what)
        items.append(f'<li><b>{html.escape(c)}</b><ul class="alters">{inner}</ul></li>')
    return f"<ul>{''.join(items)}</ul>"


def _stability_html(folder: Folder) -> str:
    st = folder.stability
    if st is None or not len(st):
        return "<p>This results folder has no stability check (an older flowsim wrote it).</p>"
    intro = (
        "<p>A replication is <b>steady</b> when the number of patients waiting (for any bed, "
        "cubicle or chair, and in waiting rooms) settles during the measured period. When it "
        "keeps rising, the figures depend on how long the run was and are not a forecast. "
        "Drift is the rise of a straight line fitted to the daily numbers waiting (see "
        "docs/results.md).</p>"
    )
    rows = []
    for name, g in st.groupby("scenario", sort=False):
        rows.append(
            [
                str(name),
                summary_note(st, str(name)),
                _num(g["waiting_mean"].mean()),
                _num(g["drift_per_day"].median(), True),
                _num(g["growth"].median(), True),
            ]
        )
    header = [
        "Scenario",
        "Stability",
        "Patients waiting (mean)",
        "Drift (patients a day, median)",
        "Rise over the period (patients, median)",
    ]
    return intro + page.table(header, rows)


def _validation_html(validation: Path | None) -> str:
    text = (
        "The simulation is checked against queueing theory (Erlang C, Jackson networks, "
        "Little's law) and against the Ciw library; the results of those checks are in the "
        "validation report"
    )
    if validation is None:
        return f"<p>{text}, docs/validation.md in the flowsim repository.</p>"
    href = html.escape(validation.as_posix(), quote=True)
    return f'<p>{text}: <a href="{href}">docs/validation.md</a>.</p>'


def validation_link(out: Path) -> Path | None:
    """The validation report relative to the report's folder, if this flowsim has it."""
    if not VALIDATION_DOC.is_file():
        return None
    try:
        return Path(os.path.relpath(VALIDATION_DOC, out.resolve().parent))
    except ValueError:  # another drive on Windows
        return VALIDATION_DOC


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
    if folder.ed_timeseries is not None and len(folder.ed_timeseries):
        for stem, column, title in (
            ("exit_block", "boarders", "Exit block: admitted patients waiting in the ED for a bed"),
            (
                "ambulance_queue",
                "ambulance_queue",
                "Ambulance queue: patients waiting to be handed over to the ED",
            ),
        ):
            out.append((stem, ed_chart(ed_by_day(folder.ed_timeseries, column), title, names)))
    return out


def build_report(results: Path, out: Path, png: Path | None = None) -> list[Path]:
    """Write the report of results folder ``results`` to ``out`` (and one PNG per chart into
    ``png``); return the files written."""
    folder = read_folder(results)
    specs = [(stem, chart.to_dict()) for stem, chart in chart_specs(folder)]
    try:
        return page.write_page(out, render_html(folder, specs, validation_link(out)), specs, png)
    except page.PageError as e:
        raise ReportError(str(e)) from e
