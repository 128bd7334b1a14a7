"""The headline of a comparison: for each change, one plain sentence per headline measure
saying how far it moved from the baseline, how sure that is, and whether that is better.

The sentences are built by pure functions (:func:`sentence`, :func:`value_text`,
:func:`duration_text`), tested on their own; :func:`show_headline` lays them out, one column
per change, each line coloured by its verdict and saying the verdict in words too.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from flowsim import charts
from flowsim.kpis import kpi_info, label, shown_decimals

from .safe_text import plain

HEADLINE_KPIS: tuple[str, ...] = (
    "four_hour_pct",
    "twelve_hour_pct",
    "time_in_department_mean",
    "handover_mean",
    "dta_over_12h_count",
)
"""The measures a manager reads first, in the order the headline shows them."""

MINUS = "\u2212"
UNIT_WORDS = {"%": "points", "count": "patients", "minutes": "min"}


def _signed(text: str, value: float, signed: bool) -> str:
    if not signed:
        return f"{MINUS}{text}" if value < 0 else text
    return f"{MINUS if value < 0 else '+'}{text}"


def duration_text(minutes: float, signed: bool = False) -> str:
    """A number of minutes as people say it: ``45 min``; above 120 minutes, hours and minutes
    (``2 h 15 min``, ``3 h``). With ``signed``, a ``+`` or minus sign in front."""
    size = abs(minutes)
    if size <= 120:
        text = _number(size, [minutes])
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        text += " min"
    else:
        hours, mins = divmod(round(size), 60)
        text = f"{hours} h {mins} min" if mins else f"{hours} h"
    return _signed(text, minutes, signed)


def _number(size: float, together: Sequence[float]) -> str:
    return f"{size:,.{shown_decimals(together, most=3)}f}"


def value_text(
    value: float, unit: str, signed: bool = False, together: Sequence[float] = ()
) -> str:
    """A value (or a change, with ``signed``) with its unit in words: ``+2.7 points`` for a
    percentage, ``2 h 15 min`` for minutes above 120, ``+1.5 patients`` for a count. The
    decimals suit ``together`` (the other numbers shown with it) as well as ``value``."""
    if unit == "minutes":
        return duration_text(value, signed)
    text = _number(abs(value), [value, *together])
    word = UNIT_WORDS.get(unit, unit)
    return _signed(f"{text} {word}".rstrip(), value, signed)


def _interval(lo: float, hi: float, unit: str) -> str:
    if unit == "minutes":
        return f"{duration_text(lo)} to {duration_text(hi)}"
    word = UNIT_WORDS.get(unit, unit)
    d = shown_decimals([lo, hi], most=3)
    lo_text = f"{MINUS if lo < 0 else ''}{abs(lo):,.{d}f}"
    hi_text = f"{MINUS if hi < 0 else ''}{abs(hi):,.{d}f}"
    return f"{lo_text} to {hi_text} {word}".rstrip()


def sentence(row: Mapping[str, Any]) -> str:
    """One headline line from a row of :meth:`flowsim.experiment.Results.compare`:
    ``Within 4 hours: +2.7 points (95% CI 1.9 to 3.5 points) — better``. Without a confidence
    interval (one replication) it says so, and gives no verdict."""
    kpi = str(row["kpi"])
    info = kpi_info(kpi)
    unit = str(row.get("unit") or (info.unit if info is not None else ""))
    diff, lo, hi = (float(row[c]) for c in ("difference", "ci_low", "ci_high"))
    head = f"{label(kpi)}: "
    if not math.isfinite(diff):
        return head + "no result"
    change = value_text(diff, unit, signed=True, together=[lo, hi])
    verdict = str(row.get("verdict") or "")
    if not (math.isfinite(lo) and math.isfinite(hi)) or not verdict:
        return f"{head}{change} (no confidence interval: run more replications)"
    return f"{head}{change} (95% CI {_interval(lo, hi, unit)}) \u2014 {verdict}"


def headline_rows(comparison: pd.DataFrame, scenario: str) -> list[dict[str, Any]]:
    """The rows of ``comparison`` for ``scenario`` and the headline measures, in order."""
    rows = comparison[comparison["scenario"].astype(str) == scenario]
    by_kpi = {str(r["kpi"]): r for r in rows.to_dict("records")}
    return [by_kpi[k] for k in HEADLINE_KPIS if k in by_kpi]


def _card(row: Mapping[str, Any]) -> str:
    """A headline line as HTML: the sentence (escaped) with a bar in its verdict's colour."""
    colour = charts.VERDICT_COLOURS.get(str(row.get("verdict") or ""), "#999999")
    return (
        f'<div style="border-left: 6px solid {colour}; background: {colour}1f; '
        f'padding: 0.35rem 0.6rem; margin-bottom: 0.35rem; border-radius: 3px;">'
        f"{html.escape(sentence(row))}</div>"
    )


def show_headline(comparison: pd.DataFrame, baseline: str, changes: Sequence[str]) -> None:
    """The headline: one column per change (side by side), one coloured line per measure."""
    st.subheader("The answer at a glance")
    st.caption(
        f"Each change against {plain(baseline)}: the change in each headline measure, its 95% "
        "confidence interval, and whether that is better, worse or no clear difference "
        "(the interval crosses zero). Percentages change by percentage points."
    )
    shown = list(changes)
    for start in range(0, len(shown), 3):  # at most three columns a row, so each stays readable
        group = shown[start : start + 3]
        for column, name in zip(st.columns(len(group)), group, strict=True):
            with column:
                st.markdown(f"**{plain(name)}**")
                rows = headline_rows(comparison, name)
                if not rows:
                    st.caption("No results for this change.")
                for row in rows:
                    st.markdown(_card(row), unsafe_allow_html=True)
