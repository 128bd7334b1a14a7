"""Observed weeks of the PDSA measures, read from a CSV file with every problem named by line.

The file has the columns ``week_start, kpi, value`` and, for proportions, ``denominator`` (for
example the week's attendances). ``kpi`` is a measure's name as ``flowsim kpis`` lists it
(``four_hour_pct``) or its label (``Within 4 hours``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import FlowsimError

COLUMNS = ("week_start", "kpi", "value")
OPTIONAL = ("denominator",)
MAX_PROBLEMS = 20


class ObservedError(FlowsimError):
    """The observed weekly file is not valid; every problem found is listed with its line."""


@dataclass(frozen=True)
class ObservedWeeks:
    """One measure's observed weeks, in date order."""

    kpi: str
    weeks: tuple[dt.date, ...]
    values: np.ndarray
    denominators: np.ndarray | None  # None when any week has no denominator


def parse_date(text: str, what: str) -> dt.date:
    """A date written YYYY-MM-DD, or a :class:`FlowsimError` naming ``what``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as e:
        raise FlowsimError(f"{what}: '{text}' is not a date written YYYY-MM-DD") from e


def read_observed(
    text: str, name: str, known: dict[str, str], units: dict[str, str]
) -> dict[str, ObservedWeeks]:
    """The weeks in ``text`` (the file ``name``), by measure. ``known`` maps every accepted
    spelling (lower case) of a measure to its name; ``units`` gives each name's unit, so that a
    percentage outside 0 to 100 is caught."""
    problems: list[str] = []

    def bad(line: int, field: str, message: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"{name}:{line}: {field}: {message}")

    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None)
    if header is None:
        raise ObservedError(f"{name}: the file is empty; expected the columns {', '.join(COLUMNS)}")
    cols = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in cols]
    extra = [c for c in cols if c not in COLUMNS + OPTIONAL]
    if missing or extra:
        said = []
        if missing:
            said.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            said.append(f"unknown column(s) {', '.join(repr(c) for c in extra)}")
        raise ObservedError(
            f"{name}:1: header: {'; '.join(said)} (expected week_start, kpi, value and, for "
            "proportions, denominator)"
        )
    at = {c: cols.index(c) for c in cols}
    found: dict[str, dict[dt.date, tuple[float, float | None, int]]] = {}
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(cols):
            bad(line, "row", f"{len(row)} fields, expected {len(cols)}")
            continue
        raw_kpi = row[at["kpi"]].strip()
        kpi = known.get(raw_kpi.lower())
        if kpi is None:
            choices = ", ".join(sorted(set(known.values())))
            bad(line, "kpi", f"'{raw_kpi}' is not a measure of the prediction (one of {choices})")
            continue
        try:
            week = dt.date.fromisoformat(row[at["week_start"]].strip())
        except ValueError:
            bad(line, "week_start", f"'{row[at['week_start']]}' is not a date written YYYY-MM-DD")
            continue
        value = _number(row[at["value"]])
        if value is None:
            bad(line, "value", f"'{row[at['value']]}' is not a number")
            continue
        if value < 0 or (units.get(kpi) == "%" and value > 100):
            top = " or above 100" if units.get(kpi) == "%" else ""
            bad(line, "value", f"{value:g} cannot be below 0{top} for {kpi}")
            continue
        den: float | None = None
        if "denominator" in at and row[at["denominator"]].strip():
            den = _number(row[at["denominator"]])
            if den is None or den <= 0 or den != int(den):
                bad(
                    line, "denominator", f"'{row[at['denominator']]}' is not a whole number above 0"
                )
                continue
        weeks = found.setdefault(kpi, {})
        if week in weeks:
            bad(
                line,
                "week_start",
                f"{kpi} for the week of {week} is given again (first on line {weeks[week][2]})",
            )
            continue
        weeks[week] = (value, den, line)
    if problems:
        raise ObservedError("\n".join(problems))
    if not found:
        raise ObservedError(f"{name}: no weeks in the file")
    out = {}
    for kpi, weeks in found.items():
        days = sorted(weeks)
        dens = [weeks[d][1] for d in days]
        out[kpi] = ObservedWeeks(
            kpi,
            tuple(days),
            np.array([weeks[d][0] for d in days]),
            None if any(d is None for d in dens) else np.array(dens, dtype=float),
        )
    return out


def _number(text: str) -> float | None:
    try:
        x = float(text.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def spellings(kpis: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Accepted spellings (lower case) of each ``(name, label)``: the name and the label."""
    out: dict[str, str] = {}
    for kpi, text in kpis:
        out[kpi.lower()] = kpi
        out[text.lower()] = kpi
    return out
