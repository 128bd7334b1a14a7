"""The stability check: whether a replication's queues settled, or kept growing through the
measured period, so that its figures describe a hospital that never reached a steady state.

What is watched is the number of patients waiting: everyone queueing for a place (ED boarders
waiting for a bed and ambulance patients waiting for a cubicle are in these queues) plus
everyone in an unlimited place such as a waiting room, where a queue for staff builds up. Its
daily means over the measured period are grouped into :data:`BATCHES` equal batches, and a
straight line is fitted to the batch means. A replication is **not steady** when both hold:

* the line rises by more than chance allows: its slope is above zero by more than the
  one-sided :data:`ALPHA` critical value of Student's t on ``BATCHES - 2`` degrees of freedom
  (batch means of a stable queue are close to independent, so a steady queue crosses this in
  about 1 replication in 200);
* the rise matters: the line climbs over the period by more than :data:`MIN_GROWTH` patients
  and by more than :data:`RELATIVE_GROWTH` times the period's mean number waiting. A queue
  that grows without limit from the start of the run rises over the period by about the
  period's length divided by (warm-up + half the period) times its mean: once or more for the
  shipped runs, well above one half. A stable queue drifting by chance, or a dated surge
  in a stable hospital, rarely moves its mean that far.

The thresholds are tested in ``tests/test_stability.py`` on queues known to be unstable and
stable, with the false-alarm rate measured over many seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

BATCHES = 10
"""Batches the measured period's days are grouped into for the trend test."""
ALPHA = 0.005
"""One-sided false-alarm probability of the trend test for one replication."""
MIN_GROWTH = 1.0
"""The fewest extra patients waiting, over the period, that can count as growth."""
RELATIVE_GROWTH = 0.5
"""How much the number waiting must grow over the period, as a share of its mean there."""
MIN_DAYS = 4
"""Fewer whole days than this are too few to judge a trend; such a replication is not judged."""

COLUMNS = [
    "scenario",
    "replication",
    "days",
    "waiting_mean",
    "waiting_first_batch",
    "waiting_last_batch",
    "drift_per_day",
    "growth",
    "t_statistic",
    "steady",
    "grows_most",
    "note",
]


@dataclass(frozen=True)
class Verdict:
    """One replication's stability check; see the module's docstring for the rule."""

    days: int
    mean: float
    first: float
    last: float
    drift_per_day: float
    growth: float
    t: float
    steady: bool


def check(daily: np.ndarray) -> Verdict:
    """Judge one replication from its daily mean number of patients waiting."""
    daily = np.asarray(daily, float)
    days = len(daily)
    mean = float(np.mean(daily)) if days else math.nan
    if days < MIN_DAYS:
        return Verdict(days, mean, math.nan, math.nan, math.nan, math.nan, math.nan, True)
    batches = min(BATCHES, days)
    index = np.array_split(np.arange(days), batches)
    y = np.array([float(np.mean(daily[i])) for i in index])
    x = np.array([float(np.mean(i)) for i in index])  # each batch's middle day
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    sxx = float(np.sum((x - x.mean()) ** 2))
    s2 = float(np.sum(resid**2)) / (batches - 2)
    se = math.sqrt(s2 / sxx) if sxx > 0 else math.nan
    # A perfectly straight line (no scatter at all) counts as rising if it rises at all.
    t = float(slope / se) if se > 0 else math.copysign(math.inf, slope) if slope else 0.0
    growth = float(slope * days)
    rising = t > float(sps.t.ppf(1 - ALPHA, batches - 2))
    matters = growth > max(MIN_GROWTH, RELATIVE_GROWTH * mean)
    return Verdict(
        days, mean, float(y[0]), float(y[-1]), float(slope), growth, t, not (rising and matters)
    )


def waiting_by_day(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Daily mean patients waiting per scenario, replication and place: the place's queue, plus
    its occupancy if it is unlimited (a waiting room). Columns ``scenario, replication, place,
    day, waiting``, days counted from the start of the measured period; a last day that is only
    part of one is left out."""
    ts = timeseries
    unlimited = ~np.isfinite(ts["capacity"].to_numpy(float))
    waiting = ts["queue"].to_numpy(float) + np.where(unlimited, ts["occupancy"].to_numpy(float), 0)
    # Plain integer codes and one bincount, not a groupby on strings: a big run's series has
    # tens of millions of hours.
    scenario = pd.Categorical(ts["scenario"])
    place = pd.Categorical(ts["place"])
    rep = ts["replication"].to_numpy(np.int64)
    hour = ts["time"].to_numpy("datetime64[h]").astype(np.int64)
    run_code, runs = pd.factorize(scenario.codes.astype(np.int64) * (int(rep.max()) + 1) + rep)
    first = np.full(len(runs), np.iinfo(np.int64).max)
    np.minimum.at(first, run_code, hour)
    day = (hour - first[run_code]) // 24
    days, places = int(day.max()) + 1, len(place.categories)
    key = (run_code * places + place.codes) * days + day
    # Only the keys that occur: a dense table of every run, place and day could be huge.
    keys, at = np.unique(key, return_inverse=True)
    hours = np.bincount(at)
    total = np.bincount(at, weights=waiting)
    whole = np.flatnonzero(hours == 24)
    run_of, rest = np.divmod(keys[whole], places * days)
    place_of, day_of = np.divmod(rest, days)
    scenario_code = runs[run_of] // (int(rep.max()) + 1)
    return pd.DataFrame(
        {
            "scenario": np.asarray(scenario.categories)[scenario_code].astype(str),
            "replication": runs[run_of] % (int(rep.max()) + 1),
            "place": np.asarray(place.categories)[place_of].astype(str),
            "day": day_of,
            "waiting": total[whole] / 24.0,
        }
    )


def stability_table(
    timeseries: pd.DataFrame,
    place_labels: Mapping[str, str] | None = None,
    order: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per scenario and replication: the measures of drift, the flag ``steady`` and a
    plain note (columns :data:`COLUMNS`). ``place_labels`` names the places for people; the
    scenarios come in ``order`` (those not in it after, by name)."""
    labels = dict(place_labels or {})
    if timeseries is None or not len(timeseries):
        return pd.DataFrame(columns=COLUMNS)
    by_place = waiting_by_day(timeseries)
    rows = []
    for (scenario, rep), g in by_place.groupby(["scenario", "replication"], sort=False):
        total = g.groupby("day")["waiting"].sum().sort_index()
        v = check(total.to_numpy())
        grows = ""
        if not v.steady:
            growth = {
                place: _place_growth(p.sort_values("day")["waiting"].to_numpy())
                for place, p in g.groupby("place")
            }
            grows = labels.get(top := max(growth, key=lambda k: growth[k]), top)
        rows.append(
            [
                scenario,
                int(rep),
                v.days,
                v.mean,
                v.first,
                v.last,
                v.drift_per_day,
                v.growth,
                v.t,
                v.steady,
                grows,
                note(v, grows),
            ]
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    rank = {name: i for i, name in enumerate(order)}
    table["_o"] = [rank.get(name, len(rank)) for name in table["scenario"]]
    table = table.sort_values(["_o", "scenario", "replication"], kind="stable")
    return table.drop(columns="_o").reset_index(drop=True)


def _place_growth(daily: np.ndarray) -> float:
    if len(daily) < 2:
        return 0.0
    return float(np.polyfit(np.arange(len(daily)), daily, 1)[0]) * len(daily)


def note(v: Verdict, grows: str = "") -> str:
    """The verdict in plain words."""
    if v.days < MIN_DAYS:
        return f"not judged: {v.days} whole days measured; at least {MIN_DAYS} are needed"
    if v.steady:
        return f"steady: about {v.mean:,.1f} patients waiting on average, with no lasting rise"
    where = f"; the largest rise was in patients waiting for {grows}" if grows else ""
    return (
        f"NOT STEADY: patients waiting rose from {v.first:,.1f} to {v.last:,.1f} over "
        f"{v.days} days ({v.drift_per_day:+,.2f} a day){where}. The queues did not settle, so "
        "this replication's figures depend on how long the run was, and are not a forecast"
    )


def warnings(table: pd.DataFrame) -> list[str]:
    """One plain warning per scenario with any replication that is not steady."""
    out: list[str] = []
    if table is None or not len(table):
        return out
    for scenario, g in table.groupby("scenario", sort=False):
        bad = g[~g["steady"].astype(bool)]
        if not len(bad):
            continue
        grows = ", ".join(dict.fromkeys(x for x in bad["grows_most"] if isinstance(x, str) and x))
        first, last = bad["waiting_first_batch"].median(), bad["waiting_last_batch"].median()
        out.append(
            f"Warning: {scenario} is not in a steady state in {len(bad)} of {len(g)} "
            f"replications: patients waiting rose from about {first:,.0f} to {last:,.0f} over "
            f"the measured period"
            + (f" (the largest rise: patients waiting for {grows})" if grows else "")
            + ". Its queues keep growing, so its figures depend on the run's length and are not "
            "a forecast."
        )
    return out


def summary_note(table: pd.DataFrame, scenario: str) -> str:
    """A scenario's stability in a few words, for the summary table."""
    g = table[table["scenario"].astype(str) == scenario] if len(table) else table
    if not len(g):
        return ""
    bad = int((~g["steady"].astype(bool)).sum())
    judged = int((g["days"] >= MIN_DAYS).sum())
    if judged == 0:
        return f"not judged: fewer than {MIN_DAYS} whole days were measured"
    if bad == 0:
        return f"steady in {judged} of {judged} replications judged"
    return f"NOT STEADY in {bad} of {len(g)} replications (queues keep growing)"
