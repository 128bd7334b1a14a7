"""A capacity search's answer in words, its table of values tried, and its results folder.

The folder is written all or nothing, as a run's results folder is (:mod:`flowsim.output`):
every file goes into a hidden folder beside the target, which is renamed into place once all are
complete. It holds ``values.csv`` (every value tried: estimates, CIs, bounds, replications,
decision), ``answer.json`` and ``answer.txt``, ``search.html`` (the chart, offline) and
``search.png``, ``scenario.yaml`` (the scenario searched) and ``manifest.json``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..loader import scenario_hash, scenario_yaml
from ..output import RESULTS_MARK, check_out_folder, remove_leftovers, write_folder
from ..scenario import Scenario
from .core import LineAnswer, Point, SearchResult

PROCEDURE = (
    "sequential one-sided t bounds with Bonferroni-split error over looks and targets "
    "(repeated confidence intervals, Jennison & Turnbull 1989), bisection along the lever"
)


def value_table(result: SearchResult) -> pd.DataFrame:
    """One row per value (or combination) tried, in lever order."""
    rows = []
    for p in sorted(result.points.values(), key=lambda p: p.setting[::-1]):
        row: dict[str, Any] = {lv.path: v for lv, v in zip(result.levers, p.setting, strict=True)}
        row["replications"] = p.replications
        row["decision"] = p.decision
        for t in result.targets:
            e = p.estimates[str(t)]
            side = "lower" if t.op == ">=" else "upper"
            row |= {
                f"{t.kpi}.mean": e.mean,
                f"{t.kpi}.ci_low": e.ci_low,
                f"{t.kpi}.ci_high": e.ci_high,
                f"{t.kpi}.{side}_bound": e.bound,
            }
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(p: Point | None, result: SearchResult) -> str:
    if p is None:
        return ""
    parts = []
    for t in result.targets:
        e = p.estimates[str(t)]
        parts.append(f"{t.kpi} {e.mean:.4g} (CI {e.ci_low:.4g} to {e.ci_high:.4g})")
    return f"{p.setting[0]:g}: {'; '.join(parts)}, {p.replications} replications, {p.decision}"


def line_sentences(line: LineAnswer, result: SearchResult) -> list[str]:
    """The answer along one line, in plain English."""
    lever = result.levers[0].path
    targets = " and ".join(map(str, result.targets))
    conf = f"{result.confidence:.0%}"
    held = f" with {result.levers[1].path} = {line.fixed[0]:g}" if len(result.levers) == 2 else ""
    values = result.levers[0].values
    pts = result.points
    if line.status == "found":
        out = [
            f"The smallest {lever}{held} that meets {targets} is {line.value:g} "
            f"(every target met with {conf} confidence)."
        ]
        if line.below is None:
            out.append(
                f"It is the lowest value searched ({values[0]:g}): a lower value may meet the "
                "targets too; search a lower range to find out."
            )
        else:
            out.append(f"Below it, {_fmt(pts[line.below], result)}.")
        if line.at is not None:
            out.append(f"At it, {_fmt(pts[line.at], result)}.")
        if line.above is not None:
            out.append(f"Above it, {_fmt(pts[line.above], result)}.")
        return out
    if line.status == "none" and line.below is not None:
        # The highest value tried: the range's top, or the answer of the line before (two levers).
        highest = pts[line.below].setting[0]
        return [
            f"No value of {lever}{held} from {values[0]:g} to {highest:g} meets {targets}: "
            f"even the highest fails with {conf} confidence ({_fmt(pts[line.below], result)})."
        ]
    high = (
        f"{line.high:g}" if line.high is not None else f"above {values[-1]:g} (outside the range)"
    )
    top = line.high if line.high is not None else math.inf
    close = sorted(
        p.setting[0]
        for p in pts.values()
        if p.decision == "unsure"
        and p.setting[1:] == line.fixed
        and line.low is not None
        and line.low <= p.setting[0] < top
    )
    said = ", ".join(f"{v:g}" for v in close)
    return [
        f"Not yet certain at {result.looks[-1]} replications: the smallest {lever}{held} that "
        f"meets {targets} is from {line.low:g} to {high}. "
        + (f"At {said} the estimates are too close to the target to decide. " if said else "")
        + "Raise --max-replications to decide, or take the higher value to be safe."
    ]


def answer_text(result: SearchResult) -> str:
    """Every line's answer, the frontier, the runs used and any warnings, as plain text."""
    out: list[str] = []
    for line in result.lines:
        out += line_sentences(line, result)
    if len(result.levers) == 2:
        a, b = (lv.path for lv in result.levers)
        if result.frontier:
            combos = "; ".join(f"{a} = {x:g} with {b} = {y:g}" for x, y in result.frontier)
            out.append(f"Cheapest combinations meeting the targets (the frontier): {combos}.")
        else:
            out.append("No combination searched meets the targets with certainty.")
    out.append(
        f"Runs used: {result.runs} replications over {len(result.points)} of {result.grid_size} "
        f"values; a full grid at {result.looks[0]} replications each would take "
        f"{result.grid_size * result.looks[0]}."
    )
    out += [f"Warning: {w}." for w in result.warnings]
    return "\n".join(out) + "\n"


def _point_json(p: Point | None, result: SearchResult) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "setting": dict(zip([lv.path for lv in result.levers], p.setting, strict=True)),
        "replications": p.replications,
        "decision": p.decision,
        "estimates": {
            k: {"mean": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "bound": e.bound}
            for k, e in p.estimates.items()
        },
    }


def answer_json(result: SearchResult) -> dict[str, Any]:
    """The answer as plain data (what answer.json holds)."""
    pts = result.points

    def pt(i: int | None) -> dict[str, Any] | None:
        return _point_json(pts[i] if i is not None else None, result)

    return {
        "levers": {lv.path: [lv.values[0], lv.values[-1], len(lv.values)] for lv in result.levers},
        "targets": [str(t) for t in result.targets],
        "confidence": result.confidence,
        "procedure": PROCEDURE,
        "looks": result.looks,
        "lines": [
            {
                "status": line.status,
                "fixed": list(line.fixed),
                "answer": line.value,
                "between": [line.low, line.high] if line.status == "unsure" else None,
                "below": pt(line.below),
                "at": pt(line.at),
                "above": pt(line.above),
            }
            for line in result.lines
        ],
        "frontier": [list(f) for f in result.frontier] if len(result.levers) == 2 else None,
        "runs": result.runs,
        "values_tried": len(result.points),
        "grid_values": result.grid_size,
        "full_grid_runs": result.grid_size * result.looks[0],
        "warnings": result.warnings,
    }


def write_search(
    result: SearchResult,
    scenario: Scenario,
    out: Path,
    seed: int,
    overwrite: bool = False,
    extra: dict[str, object] | None = None,
    png: bool = True,
) -> list[str]:
    """Write the search's folder ``out`` all or nothing; return the file names written."""
    from .. import __version__
    from ..report.page import chart_placeholder, render, table, write_page
    from .charts import search_chart

    check_out_folder(out, (), overwrite)
    remove_leftovers(out)
    frame = value_table(result)
    spec = search_chart(result, frame)
    text = answer_text(result)

    def fill(staging: Path) -> list[str]:
        frame.to_csv(staging / "values.csv", index=False)
        (staging / "answer.json").write_text(json.dumps(answer_json(result), indent=2) + "\n")
        (staging / "answer.txt").write_text(text)
        (staging / "scenario.yaml").write_text(scenario_yaml(scenario))
        page = render(
            "Capacity search",
            [
                "<h1>How much capacity?</h1>",
                *(f"<p>{_escape(line)}</p>" for line in text.splitlines()),
                chart_placeholder(0, "search chart"),
                table(list(frame.columns), frame.astype(str).values.tolist()),
            ],
            [spec],
        )
        written = [
            p.name
            for p in write_page(
                staging / "search.html", page, [("search", spec)], staging if png else None
            )
        ]
        files = ["values.csv", "answer.json", "answer.txt", "scenario.yaml", *written]
        info = {
            "flowsim_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": "search",
            "seed": seed,
            "scenario": {"name": scenario.name, "hash": scenario_hash(scenario)},
            "files": sorted(files) + [RESULTS_MARK],
            **(extra or {}),
        }
        (staging / RESULTS_MARK).write_text(json.dumps(info, indent=2) + "\n")
        return sorted(files) + [RESULTS_MARK]

    return write_folder(out, fill, "the search")


def _escape(text: str) -> str:
    import html

    return html.escape(text)
