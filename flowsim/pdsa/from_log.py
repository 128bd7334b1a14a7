"""Observed weeks of the PDSA measures counted from a trust's event log, as the model counts them.

Each week's figure is defined as :func:`flowsim.kpis.compute_kpis` defines the KPI over a
window, the window being one week of local dates:

- four-hour %, time in the ED (mean), left without being seen % and trolley waits (over 12 h
  from decision to admit) take the attendances that *left the ED* in the week (by the local
  date of ``departure``), as the model takes those departing in its window; the denominator of
  a proportion is that count of attendances;
- ward occupancy % is the time-average number of ward spells in progress over the week divided
  by the time-average beds of those wards (from the capacity file).

Intervals are measured between UTC instants, so a week that spans a clock change is as long as
it really was (167 or 169 hours) and a stay across the change is not an hour out. Weeks begin on
the weekday of the change date, so the change falls on a week boundary; only whole weeks inside
the log are kept, beginning at least :data:`~flowsim.calibration.eventlog.MAX_ED_HOURS` after
its first day (so that everyone leaving in a week arrived within the log). Measures the log
cannot give are left out with a note saying why.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibration.eventlog import (
    MAX_ED_HOURS,
    EventLog,
    EventLogError,
    read_event_log,
    read_map,
)
from ..kpis import FOUR_HOURS, TWELVE_HOURS
from .observed import ObservedWeeks
from .weekly import DENOMINATOR

OBSERVED_NAME = "observed_weeks.csv"
"""The weekly figures counted from a log, written beside the study as ``--observed`` reads them."""
WARD_AREA = "ward"
"""The spells' ``area`` whose units make the model's ``wards``."""


@dataclass
class LogWeeks:
    """The weekly figures counted from a log, with what was left out and what was read."""

    observed: dict[str, ObservedWeeks]
    notes: list[str] = field(default_factory=list)  # measures (or weeks) left out, and why
    summary: list[str] = field(default_factory=list)  # rows read, dropped, clock changes


def _local(times: pd.Series, tz: str) -> pd.Series:
    return times.dt.tz_convert(tz).dt.tz_localize(None)


def _midnight_utc(day: dt.date, tz: str) -> pd.Timestamp:
    """The instant a local date begins (midnight is never in a UK clock change's hour)."""
    return pd.Timestamp(day).tz_localize(tz).tz_convert("UTC")


def week_starts(first_day: dt.date, last_day: dt.date, weekday: int) -> list[dt.date]:
    """The whole weeks from ``first_day`` to ``last_day`` (both included) beginning on
    ``weekday`` (Monday 0)."""
    start = first_day + dt.timedelta(days=(weekday - first_day.weekday()) % 7)
    out = []
    while start + dt.timedelta(days=6) <= last_day:
        out.append(start)
        start += dt.timedelta(days=7)
    return out


def _attendance_weeks(
    log: EventLog, kpis: list[str], starts: list[dt.date], tz: str, notes: list[str]
) -> dict[str, ObservedWeeks]:
    a = log.attendances
    day = _local(a["departure"], tz).dt.normalize()
    first = pd.Timestamp(starts[0])
    index = ((day - first).dt.days // 7).to_numpy()
    keep = (index >= 0) & (index < len(starts))
    week = index[keep]
    tid = ((a["departure"] - a["arrival"]) / pd.Timedelta(minutes=1)).to_numpy()[keep]
    lwbs = (a["disposal"] == "left_before_treatment").to_numpy()[keep]
    dta = a["decision_to_admit"]
    has_dta = bool(dta.notna().any())
    dta_wait = ((a["departure"] - dta) / pd.Timedelta(minutes=1)).to_numpy()[keep]
    n = np.bincount(week, minlength=len(starts)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "four_hour_pct": 100.0
            * np.bincount(week, weights=(tid <= FOUR_HOURS), minlength=len(starts))
            / n,
            "time_in_department_mean": np.bincount(week, weights=tid, minlength=len(starts)) / n,
            "left_without_being_seen_pct": 100.0
            * np.bincount(week, weights=lwbs, minlength=len(starts))
            / n,
            "dta_over_12h_count": np.bincount(
                week, weights=np.nan_to_num(dta_wait, nan=0.0) > TWELVE_HOURS, minlength=len(starts)
            ).astype(float),
        }
    if not (n > 0).all():
        empty = [str(w) for w, k in zip(starts, n, strict=True) if k == 0]
        notes.append(
            f"{len(empty)} week(s) with nobody leaving the ED are left out (first the week of "
            f"{empty[0]})"
        )
    out: dict[str, ObservedWeeks] = {}
    for kpi in kpis:
        if kpi not in values:
            continue
        if kpi == "dta_over_12h_count" and not has_dta:
            notes.append(
                f"{kpi}: left out: the attendances have no decision_to_admit times, so trolley "
                "waits (over 12 h from decision to admit to leaving the ED) cannot be counted"
            )
            continue
        v = values[kpi]
        ok = n > 0
        if not ok.any():
            continue
        out[kpi] = ObservedWeeks(
            kpi,
            tuple(s for s, k in zip(starts, ok, strict=True) if k),
            v[ok],
            n[ok] if kpi in DENOMINATOR else None,
        )
    return out


def _beds(capacity: pd.DataFrame, units: list[str], day: dt.date) -> float | None:
    """Beds of ``units`` on ``day``: a dated row covering the day, else the undated one."""
    when = pd.Timestamp(day)
    starts = pd.to_datetime(capacity["from"])
    ends = pd.to_datetime(capacity["to"])
    total = 0.0
    for unit in units:
        mine = capacity["unit"] == unit
        dated = capacity[mine & starts.notna() & (starts <= when) & (ends >= when)]
        undated = capacity[mine & starts.isna()]
        if len(dated):
            total += float(dated["beds"].iloc[-1])
        elif len(undated):
            total += float(undated["beds"].iloc[0])
        else:
            return None
    return total


def _occupancy_weeks(
    log: EventLog, kpi: str, starts: list[dt.date], tz: str, notes: list[str]
) -> ObservedWeeks | None:
    place = kpi.partition(".")[2]
    s = log.spells
    if s is None:
        notes.append(
            f"{kpi}: left out: occupancy needs the spells file (--spells) and the capacity "
            "file (--capacity)"
        )
        return None
    if log.capacity is None:
        notes.append(
            f"{kpi}: left out: occupancy needs the beds, from a capacity file (--capacity)"
        )
        return None
    if place == "wards":
        mine = s[s["area"] == WARD_AREA]
        what = f"spells with area '{WARD_AREA}'"
    else:
        mine = s[s["unit"].str.lower() == place.lower()]
        what = f"spells of unit '{place}'"
    if mine.empty:
        notes.append(f"{kpi}: left out: the spells file has no {what}")
        return None
    units = sorted(str(u) for u in mine["unit"].unique())
    adm = mine["admitted"].to_numpy(dtype="datetime64[ns]").astype("int64")
    dis = mine["discharged"].to_numpy(dtype="datetime64[ns]").astype("int64")
    stays = (dis - adm) / 6e10
    # Patients already in before the log starts, or still in at the extract, are not in the
    # spells; weeks that close to either end would read too low, so they are left out.
    settle = int(np.percentile(stays, 95) * 6e10)
    lo, hi = int(adm.min()) + settle, int(dis.max()) - settle
    weeks, values, skipped, no_beds = [], [], 0, []
    for start in starts:
        days = [start + dt.timedelta(days=i) for i in range(8)]
        edges = [_midnight_utc(d, tz).value for d in days]
        w0, w1 = edges[0], edges[-1]
        if w0 < lo or w1 > hi:
            skipped += 1
            continue
        occupied = np.clip(np.minimum(dis, w1) - np.maximum(adm, w0), 0, None).sum()
        bed_time = 0.0
        for d, e0, e1 in zip(days[:7], edges[:-1], edges[1:], strict=True):
            beds = _beds(log.capacity, units, d)
            if beds is None:
                break
            bed_time += beds * (e1 - e0)
        else:
            if bed_time > 0:
                weeks.append(start)
                values.append(100.0 * float(occupied) / bed_time)
            continue
        no_beds.append(start)
    if no_beds:
        notes.append(
            f"{kpi}: the capacity file gives no beds for some of {', '.join(units)} in "
            f"{len(no_beds)} week(s) (first the week of {no_beds[0]}); those weeks are left out"
        )
    if skipped:
        notes.append(
            f"{kpi}: {skipped} week(s) within {settle / 6e10 / 1440:.0f} days (the 95th "
            "percentile stay) of the start or end of the spells are left out: patients in "
            "hospital before the log starts or after the extract are not in it"
        )
    if not weeks:
        notes.append(f"{kpi}: left out: no week of the log could be measured")
        return None
    return ObservedWeeks(kpi, tuple(weeks), np.array(values), None)


def log_weeks(log: EventLog, kpis: Iterable[str], weekday: int, tz: str) -> LogWeeks:
    """The weekly figures of the measures ``kpis`` (names as in a prediction) from ``log``,
    in weeks beginning on ``weekday`` (Monday 0) of the local clock of zone ``tz``."""
    wanted = list(kpis)
    notes: list[str] = []
    # A week's figures take everyone who left the ED in it, so a week must begin late enough
    # that nobody leaving in it can have arrived before the log begins: the reader keeps no
    # time in the department longer than MAX_ED_HOURS.
    begins = _midnight_utc(log.first_day, tz) + pd.Timedelta(hours=MAX_ED_HOURS)
    all_starts = week_starts(log.first_day, log.last_day, weekday)
    starts = [w for w in all_starts if _midnight_utc(w, tz) >= begins]
    if not starts:
        raise EventLogError(
            f"{log.files['attendances']}: the attendances cover {log.days} day(s), "
            f"{log.first_day} to {log.last_day}: not one whole week beginning on a "
            f"{calendar.day_name[weekday]} at least {MAX_ED_HOURS:g} hours after the first day"
        )
    if len(starts) < len(all_starts):
        notes.append(
            f"the week of {all_starts[0]} is left out: it begins within {MAX_ED_HOURS:g} hours "
            "of the log's first day, so some who left the ED in it arrived before the log begins"
        )
    observed = _attendance_weeks(log, wanted, starts, tz, notes)
    for kpi in wanted:
        if kpi in observed:
            continue
        if kpi.startswith("occupancy_mean_pct."):
            occ = _occupancy_weeks(log, kpi, starts, tz, notes)
            if occ is not None:
                observed[kpi] = occ
        elif kpi.startswith("handover"):
            notes.append(
                f"{kpi}: left out: the event log has no ambulance handover times, so handovers "
                "cannot be measured from it (give them in a weekly file with --observed)"
            )
        elif not any(n.startswith(f"{kpi}:") for n in notes):
            notes.append(f"{kpi}: left out: this measure is not counted from an event log")
    summary = [
        f"{log.files['attendances']}: {len(log.attendances):,} attendances, {log.first_day} to "
        f"{log.last_day}; {len(starts)} whole week(s) from {starts[0]}"
    ]
    summary += [str(d) for d in log.dropped]
    if log.clock.get("repeated_hour_second") or log.clock.get("missing_hour_shifted"):
        summary.append(
            "clock changes: "
            f"{log.clock.get('repeated_hour_first', 0):,} times in October's repeated hour read "
            f"as the first, {log.clock.get('repeated_hour_second', 0):,} as the second; "
            f"{log.clock.get('missing_hour_shifted', 0):,} in March's missing hour read as GMT"
        )
    return LogWeeks({k: observed[k] for k in wanted if k in observed}, notes, summary)


def read_log_weeks(
    attendances: Path,
    kpis: Iterable[str],
    change_date: dt.date,
    spells: Path | None = None,
    capacity: Path | None = None,
    mapping: Path | None = None,
) -> LogWeeks:
    """Read the log with the calibration reader and count its weeks, weeks beginning on the
    change date's weekday."""
    m = read_map(mapping) if mapping is not None else None
    log = read_event_log(attendances, spells, capacity, m)
    tz = m.attendances.timezone if m is not None else "Europe/London"
    return log_weeks(log, kpis, change_date.weekday(), tz)


def observed_csv(observed: dict[str, ObservedWeeks]) -> str:
    """The weeks as a file ``flowsim study --observed`` reads (figures only, nothing
    patient-level)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["week_start", "kpi", "value", "denominator"])
    rows: list[tuple[dt.date, str, str, str]] = []
    for kpi, o in observed.items():
        for i, week in enumerate(o.weeks):
            den = "" if o.denominators is None else f"{int(o.denominators[i])}"
            x = float(o.values[i])
            # repr keeps every digit, so the file reads back to the very same points.
            rows.append((week, kpi, repr(x) if math.isfinite(x) else "", den))
    for week, kpi, text, den in sorted(rows):
        w.writerow([week.isoformat(), kpi, text, den])
    return buf.getvalue()
