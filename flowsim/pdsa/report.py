"""The study's outputs: one offline HTML page, a PNG per chart, and a CSV of every point.

Everything is built in memory first and each file is written under a temporary name and
renamed (:mod:`flowsim.report.page`), so a failed study leaves no half-written file.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from pathlib import Path
from typing import Any

from ..report import page
from .charts import spc_chart
from .spc import MDC_RULES, MR_TO_LIMITS, MR_UPPER, Rules
from .study import KpiStudy, points_table

HTML_NAME = "study.html"
CSV_NAME = "points.csv"
PNG_FOLDER = "charts"


def points_csv(studies: list[KpiStudy]) -> str:
    """The CSV of points, limits, predicted band and signals."""
    rows = points_table(studies)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def study_html(
    studies: list[KpiStudy],
    prediction: dict[str, Any],
    change_date: dt.date,
    rules: Rules,
    rephase: bool,
    anchor: str,
    notes: list[str] | None = None,
) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The page and its charts (file stem, Vega-Lite spec); ``notes`` say which measures (or
    weeks) could not be counted and why."""
    sc = prediction.get("scenarios", {})
    base = sc.get("baseline", {}).get("name", "baseline")
    change = sc.get("change", {}).get("name", "change")
    e = html.escape
    parts = [
        "<h1>Study: observed weeks against the prediction</h1>",
        f"<p>Change <b>{e(str(change))}</b> against <b>{e(str(base))}</b>, predicted by flowsim "
        f"{e(str(prediction.get('flowsim_version', '')))} (seed {e(str(prediction.get('seed')))}, "
        f"{e(str(prediction.get('replications')))} replications of "
        f"{e(str(prediction.get('weeks')))} weeks). Change date: {change_date.isoformat()}.</p>",
        "<p>Centre lines and limits come from the weeks before the change"
        + (", and are set again from the weeks after it" if rephase else "")
        + ". Signals (Making Data Count): a point outside the limits; a shift of "
        f"{rules.shift} points on one side of the centre; a trend of {rules.trend} points rising "
        "or falling; two of three points beyond two sigma on the same side. The verdicts read "
        "the signals against the limits from before the change. The shaded band is the "
        "predicted range (95%) of a single week after the change"
        + (
            ", moved by the gap between the observed and the modelled baseline"
            if anchor == "observed"
            else ""
        )
        + ".</p>",
        "<h2>Verdicts</h2>",
        "<ul>" + "".join(f"<li>{e(s.verdict)}</li>" for s in studies) + "</ul>",
    ]
    if notes:
        parts.append("<h2>Not counted</h2>")
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    charts = []
    for i, s in enumerate(studies):
        spec = spc_chart(s)
        charts.append((s.kpi.replace(".", "_"), spec))
        parts.append(f"<h2>{e(s.label)}</h2>")
        parts.append(page.chart_placeholder(i, s.label))
        parts.append(f"<p>{e(s.verdict)}</p>")
        if s.chart == "xmr":
            parts.append(
                f"<p>XmR: mean moving range {s.limits.mr_bar:.3g}; limits at the centre ± "
                f"{MR_TO_LIMITS} × that; moving-range upper limit {MR_UPPER} × that = "
                f"{s.limits.mr_upper:.3g}.</p>"
            )
        else:
            parts.append(
                "<p>p-chart: limits three binomial standard errors from the centre, "
                "by each week's denominator.</p>"
            )
        if s.note:
            parts.append(f"<p><i>{e(s.note)}</i></p>")
    parts.append(f"<p>Every point, limit and signal is in {CSV_NAME}.</p>")
    return page.render("flowsim study", parts, [spec for _, spec in charts]), charts


def write_study(
    out: Path,
    studies: list[KpiStudy],
    prediction: dict[str, Any],
    change_date: dt.date,
    rules: Rules = MDC_RULES,
    rephase: bool = False,
    anchor: str = "model",
    png: bool = True,
    notes: list[str] | None = None,
) -> list[Path]:
    """Write ``study.html``, ``points.csv`` and (``png``) ``charts/<kpi>.png`` in ``out``."""
    text, charts = study_html(studies, prediction, change_date, rules, rephase, anchor, notes)
    table = points_csv(studies)
    out.mkdir(parents=True, exist_ok=True)
    target = out / CSV_NAME
    page.write_atomic(target, lambda p: p.write_text(table, encoding="utf-8"))
    written = [target]
    written += page.write_page(out / HTML_NAME, text, charts, out / PNG_FOLDER if png else None)
    return written
