"""Fitting a scenario's parameters to a checked event log: rates, profiles, mixes, routing,
durations, stays, discharge timing, delays and beds, each with the count and method behind it.

Which intervals are inputs and which are outputs: the model must *reproduce* waits, so only
intervals that are mostly service are fitted as durations.

- ED treatment, first clinician to decision to admit (admitted) or to departure (others):
  service. Without ``first_seen`` the whole time in the department is used, and it contains
  the wait (said in the comment).
- Arrival to first clinician: a wait. The part a queue for cubicles cannot make (the wait of
  patients who arrived while a cubicle was free: triage, a clinician to be free) is fitted as a
  delay before treatment; the model adds the wait for a cubicle.
- Decision to admit to departure: the part a queue for beds cannot make (the time of patients
  whose unit had a free bed at the decision: a bed to be found, cleaned, a porter) is fitted as
  a handover time in the cubicle; the model adds the wait for a bed (exit block).
- Left before treatment: arrival to departure, the time such a patient stays.
- Inpatient stay: admission to medically fit where ``medically_fit`` is given (service), and the
  delay after it; otherwise admission to discharge, which also holds the wait for a discharge
  hour or for the next unit's bed (said in the comment).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import logsumexp

from ..distributions import MAX_SHAPE, MIN_SHAPE
from .eventlog import EventLog

MIN_FIT = 20
"""Fewer values than this are summarised by their mean alone (an exponential), not chosen among."""
MAX_KS_PARAMETRIC = 0.05
"""A best parametric fit whose Kolmogorov-Smirnov distance is larger than this is replaced by an
empirical distribution: with thousands of values even a good family is rejected by a p-value,
so the distance itself is the judge (0.05: the fitted and observed cumulative shares never
differ by more than 5 points)."""
EMPIRICAL_POINTS = 100
"""An empirical distribution is written as this many quantiles (no patient's own time)."""
RESOLUTION_MIN = 0.5
"""Times are recorded to the minute, so a zero interval is taken as half a minute."""
DELAY_THRESHOLD_MIN = 24 * 60.0
"""A patient who left more than a day after medically fit, weekend days not counted, was a
delayed discharge: a shorter gap is the usual wait for a discharge hour (and Saturdays and
Sundays are the discharge window's day shares, not delays)."""
CAPACITY_PERCENTILE = 99.0
"""Beds inferred from the log: this percentile of hourly occupancy."""
SMOOTHING = (0.1, 0.8, 0.1)
"""Weights of the (circular) smoothing of the hourly profile: previous, this, next hour."""
MIN_ROUTING = 20
"""A class needs this many patients of a mode for routing of its own; fewer share the mode's."""
MIN_BY_DESTINATION = 30
"""A destination needs this many spells of a unit for a stay of its own (``duration_by_next``);
the stays of rarer destinations are drawn from the unit's pooled stay. At 30 the fitted mean's
standard error is about a fifth of the standard deviation for stays as spread as the shipped
log's (coefficient of variation near 1)."""
"""A class needs this many patients of a mode for routing of its own; fewer share the mode's."""


@dataclass(frozen=True)
class FittedDuration:
    """A duration distribution as written in a scenario, and how it was chosen."""

    dist: dict[str, Any]
    n: int
    method: str
    mean_min: float
    ks: float | None = None

    @property
    def note(self) -> str:
        return f"n={self.n:,}; {self.method}"


@dataclass(frozen=True)
class Stream:
    """One arrival stream's fitted parameters."""

    n: int
    per_day: float
    hourly_counts: list[int]
    hourly_profile: list[float]
    weekday_counts: list[int]
    weekday_factors: list[float]
    class_counts: dict[str, int]


@dataclass(frozen=True)
class Routing:
    shares: dict[str, float]
    n: int


@dataclass
class Unit:
    """One inpatient unit's fitted stay, routing on, discharge timing and beds."""

    name: str
    area: str
    n: int
    stay: FittedDuration
    stay_to_fit: bool
    onward: Routing
    beds: int
    beds_note: str
    beds_assumed: bool
    delayed_share: float | None = None
    delayed_n: int = 0
    delay: FittedDuration | None = None
    discharge_hours: list[float] | None = None
    discharge_days: dict[str, float] | None = None
    discharge_n: int = 0
    stay_by_next: dict[str, FittedDuration] = field(default_factory=dict)
    """The stay by where the patient goes next (a unit, or ``exit``), for destinations with at
    least :data:`MIN_BY_DESTINATION` spells; empty when the unit has one destination."""
    stay_pooled_for: dict[str, int] = field(default_factory=dict)
    """Destinations with too few spells for a stay of their own, and their counts."""


@dataclass
class Calibration:
    """Everything fitted from one log."""

    log: EventLog
    classes: dict[str, str]
    streams: dict[str, Stream]
    lwbs: dict[str, Routing]
    routing: dict[str, dict[str, Routing]]
    routing_pooled: dict[str, Routing]
    treatment: dict[str, dict[str, FittedDuration]]
    treatment_pooled: dict[str, FittedDuration]
    treatment_has_wait: bool
    lwbs_time: FittedDuration | None
    units: dict[str, Unit]
    direct: Stream | None
    direct_routing: Routing | None
    ed_beds: int
    observed: dict[str, float] = field(default_factory=dict)
    first_wait: dict[str, dict[str, FittedDuration]] = field(default_factory=dict)
    """Arrival to first clinician of those who arrived while a cubicle was free, by mode and
    class: the wait a queue for cubicles does not make."""
    first_wait_pooled: dict[str, FittedDuration] = field(default_factory=dict)
    handover: dict[str, FittedDuration] = field(default_factory=dict)
    """Decision to admit to departure of those whose unit had a free bed at the decision, by
    unit: the time to leave the ED that a queue for beds does not make."""


# -- distributions ----------------------------------------------------------------------------
def _minutes_text(x: float) -> str:
    """A duration as the scenario file writes it, to 4 significant figures and never in
    exponent form (``1.472e+04min`` is not a duration the loader reads)."""

    def plain(v: float) -> str:
        return np.format_float_positional(v, precision=4, unique=False, fractional=False, trim="-")

    return f"{plain(x)}min" if x < 1e5 else f"{plain(x / 1440)}d"


def _weibull_shape(logs: np.ndarray) -> float | None:
    """The maximum-likelihood Weibull shape for values with these logarithms (origin at zero),
    or None when it lies outside what the engine accepts.

    The shape k solves sum(x^k ln x) / sum(x^k) - 1/k - mean(ln x) = 0, whose left side rises
    with k; it is solved on logs centred on their mean (so x^k cannot overflow)."""
    z = logs - logs.mean()

    def gap(k: float) -> float:
        w = k * z
        w = np.exp(w - w.max())
        return float((w * z).sum() / w.sum()) - 1.0 / k

    lo, hi = MIN_SHAPE, MAX_SHAPE
    if gap(lo) > 0 or gap(hi) < 0:
        return None
    return float(optimize.brentq(gap, lo, hi, xtol=1e-10, rtol=1e-12))


def _sig(x: float) -> float:
    """A shape parameter to 4 significant figures, as the other fitted figures are written."""
    return float(f"{x:.4g}")


def fit_duration(values: np.ndarray) -> FittedDuration:
    """The best of exponential, lognormal, gamma, Weibull and log-logistic by AIC (maximum
    likelihood, origin at zero), with its Kolmogorov-Smirnov distance; an empirical distribution
    of quantiles when no family comes within :data:`MAX_KS_PARAMETRIC`.

    Weibull and log-logistic are written in the engine's own terms (``shape``, ``scale``); a
    log-logistic with shape 1 or below (an infinite mean) and shapes outside the engine's range
    are not candidates."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        raise ValueError("no values to fit")
    x = np.maximum(x, RESOLUTION_MIN)
    mean = float(x.mean())
    if n < MIN_FIT:
        return FittedDuration(
            {"dist": "exponential", "mean": _minutes_text(mean)},
            n,
            f"mean only (fewer than {MIN_FIT} values)",
            mean,
        )
    if float(x.std()) <= 1e-9 * mean:
        return FittedDuration(
            {"dist": "fixed", "value": _minutes_text(mean)}, n, "all values equal", mean
        )
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    shape, _, scale = stats.gamma.fit(x, floc=0)
    candidates: dict[str, tuple[float, Any, dict[str, Any], float]] = {}
    expon = stats.expon(scale=mean)
    candidates["exponential"] = (
        2 * 1 - 2 * float(expon.logpdf(x).sum()),
        expon,
        {"dist": "exponential", "mean": _minutes_text(mean)},
        mean,
    )
    if sigma > 0:
        ln = stats.lognorm(s=sigma, scale=math.exp(mu))
        ln_mean = math.exp(mu + sigma**2 / 2)
        ln_sd = ln_mean * math.sqrt(math.expm1(sigma**2))
        candidates["lognormal"] = (
            2 * 2 - 2 * float(ln.logpdf(x).sum()),
            ln,
            {"dist": "lognormal", "mean": _minutes_text(ln_mean), "sd": _minutes_text(ln_sd)},
            ln_mean,
        )
    ga = stats.gamma(shape, scale=scale)
    ga_mean = shape * scale
    candidates["gamma"] = (
        2 * 2 - 2 * float(ga.logpdf(x).sum()),
        ga,
        {
            "dist": "gamma",
            "mean": _minutes_text(ga_mean),
            "sd": _minutes_text(math.sqrt(shape) * scale),
        },
        ga_mean,
    )
    k = _weibull_shape(logs) if sigma > 0 else None
    if k is not None:
        k = _sig(k)
        # Given the shape, the likelihood's scale is the k-th root of the mean of x^k.
        lam = float(np.exp(logsumexp(k * logs) / k)) / n ** (1 / k)
        wb = stats.weibull_min(k, scale=lam)
        wb_mean = lam * math.gamma(1 + 1 / k)
        candidates["weibull"] = (
            2 * 2 - 2 * float(wb.logpdf(x).sum()),
            wb,
            {"dist": "weibull", "shape": k, "scale": _minutes_text(lam)},
            wb_mean,
        )
    if sigma > 0:
        # Log-logistic: the logarithms are logistic (location ln scale, scale 1 / shape).
        loc, s_log = stats.logistic.fit(logs)
        b = _sig(1.0 / float(s_log))
        if 1.0 < b <= MAX_SHAPE:
            med = math.exp(float(loc))
            ll = stats.fisk(b, scale=med)
            t = math.pi / b
            candidates["loglogistic"] = (
                2 * 2 - 2 * float(ll.logpdf(x).sum()),
                ll,
                {"dist": "loglogistic", "shape": b, "scale": _minutes_text(med)},
                med * t / math.sin(t),
            )
    ranked = sorted(candidates, key=lambda k: candidates[k][0])
    best = ranked[0]
    aic, frozen, spec, fitted_mean = candidates[best]
    ks = float(stats.kstest(x, frozen.cdf).statistic)
    aics = ", ".join(f"{k} {candidates[k][0]:,.0f}" for k in ranked)
    if ks <= MAX_KS_PARAMETRIC:
        return FittedDuration(
            spec, n, f"{best} by AIC ({aics}); KS distance {ks:.3f}", float(fitted_mean), ks
        )
    q = np.quantile(x, (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS)
    return FittedDuration(
        {"dist": "empirical", "values": [_minutes_text(float(v)) for v in q]},
        n,
        f"empirical ({EMPIRICAL_POINTS} quantiles): the best family, {best}, has KS distance "
        f"{ks:.3f} > {MAX_KS_PARAMETRIC} (AIC {aics})",
        float(q.mean()),
        ks,
    )


# -- helpers ----------------------------------------------------------------------------------
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")


def name_of(label: str, prefix: str) -> str:
    """A scenario name (letters, digits, _) for a label from the log: ``3`` -> ``P3``."""
    text = _NOT_NAME.sub("_", str(label).strip()).strip("_")
    if re.fullmatch(r"\d+", text):
        return f"P{text}"
    if not text or not re.match(r"[A-Za-z_]", text):
        text = f"{prefix}_{text}"
    return text[:48]


def _minutes(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return np.asarray((later - earlier) / pd.Timedelta(minutes=1), dtype=float)


def shares(counts: pd.Series) -> dict[str, float]:
    """Shares that add up to exactly 1 in the file: rounded to 4 places, the rest on the largest."""
    total = float(counts.sum())
    out = {str(k): round(float(v) / total, 4) for k, v in counts.items() if v > 0}
    biggest = max(out, key=lambda k: out[k])
    out[biggest] = round(out[biggest] + 1.0 - math.fsum(out.values()), 4)
    return out


def _stream(
    local: pd.Series, classes: pd.Series | None, days: int, first_day: pd.Timestamp
) -> Stream:
    hours = np.bincount(local.dt.hour.to_numpy(), minlength=24)
    smooth = np.zeros(24)
    for shift, w in zip((1, 0, -1), SMOOTHING, strict=True):
        smooth += w * np.roll(hours, shift)
    weekday = np.bincount(local.dt.day_of_week.to_numpy(), minlength=7)
    # Each weekday's mean per day: a period of 20 weeks and 3 days has one more of some days.
    day_counts = np.bincount(
        pd.date_range(first_day, periods=days, freq="D").day_of_week.to_numpy(), minlength=7
    )
    per_weekday = np.where(day_counts > 0, weekday / np.maximum(day_counts, 1), 0.0)
    factors = per_weekday / per_weekday[day_counts > 0].mean()
    class_counts = (
        {} if classes is None else {str(k): int(v) for k, v in classes.value_counts().items()}
    )
    return Stream(
        n=len(local),
        per_day=len(local) / days,
        hourly_counts=[int(h) for h in hours],
        hourly_profile=[round(float(v / smooth.mean()), 3) for v in smooth],
        weekday_counts=[int(w) for w in weekday],
        weekday_factors=[round(float(f), 3) for f in factors],
        class_counts=class_counts,
    )


def _hourly_occupancy(
    start: pd.Series, end: pd.Series, t0: pd.Timestamp, t1: pd.Timestamp
) -> np.ndarray:
    """How many were present at the start of each hour from ``t0`` to ``t1``."""
    g = pd.date_range(t0, t1, freq="h").as_unit("ns").asi8
    s = np.sort(pd.DatetimeIndex(start).as_unit("ns").asi8)
    e = np.sort(pd.DatetimeIndex(end).as_unit("ns").asi8)
    present: np.ndarray = np.searchsorted(s, g, side="right") - np.searchsorted(e, g, side="right")
    return present


# -- the whole calibration --------------------------------------------------------------------
def calibrate(log: EventLog) -> Calibration:
    """Fit every parameter the scenario needs from ``log``."""
    a = log.attendances
    days = log.days
    first_day = pd.Timestamp(log.first_day)
    labels = sorted(
        a["acuity"].unique(),
        key=lambda v: (not str(v).isdigit(), int(v) if str(v).isdigit() else 0, str(v)),
    )
    classes = {str(lab): name_of(lab, "acuity") for lab in labels}
    cls = a["acuity"].map(classes)

    streams = {
        mode: _stream(
            a.loc[a["mode"] == mode, "arrival_local"], cls[a["mode"] == mode], days, first_day
        )
        for mode in ("ambulance", "walk_in")
        if (a["mode"] == mode).any()
    }

    spells = log.spells
    first_unit = _first_unit(a, spells)
    target = pd.Series("exit", index=a.index)
    target[a["disposal"] == "sdec"] = "sdec"
    admitted = a["disposal"] == "admitted"
    target[admitted] = first_unit[admitted].map(lambda u: f"unit:{u}" if u else "unit:")
    unit_names = sorted(
        {u for u in first_unit[admitted] if u}
        | (set(spells["unit"]) if spells is not None else set())
    )
    if (target == "unit:").any():
        # Admitted with no unit named anywhere: the most common unit receives them.
        common = first_unit[admitted & (first_unit != "")].mode()
        fallback = str(common.iloc[0]) if len(common) else "inpatient"
        unit_names = sorted(set(unit_names) | {fallback})
        target[target == "unit:"] = f"unit:{fallback}"

    seen = a["disposal"] != "left_before_treatment"
    lwbs: dict[str, Routing] = {}
    routing: dict[str, dict[str, Routing]] = {}
    routing_pooled: dict[str, Routing] = {}
    for mode in streams:
        in_mode = a["mode"] == mode
        counts = (~seen[in_mode]).groupby(cls[in_mode]).agg(["sum", "count"])
        lwbs[mode] = Routing(
            {c: round(float(r["sum"] / r["count"]), 4) for c, r in counts.iterrows()},
            int(in_mode.sum()),
        )
        treated = in_mode & seen
        routing_pooled[mode] = Routing(shares(target[treated].value_counts()), int(treated.sum()))
        routing[mode] = {}
        for c, grp in target[treated].groupby(cls[treated]):
            if len(grp) >= MIN_ROUTING:
                routing[mode][str(c)] = Routing(shares(grp.value_counts()), len(grp))

    has_seen = a["first_seen"].notna()
    treatment_has_wait = not bool((has_seen & seen).any())
    begin = a["first_seen"].where(has_seen, a["arrival"])
    finish = a["decision_to_admit"].where(admitted & a["decision_to_admit"].notna(), a["departure"])
    treat_min = pd.Series(_minutes(finish, begin), index=a.index)
    use = seen & (has_seen | treatment_has_wait)
    treatment: dict[str, dict[str, FittedDuration]] = {}
    treatment_pooled: dict[str, FittedDuration] = {}
    for mode in streams:
        sel = use & (a["mode"] == mode)
        treatment_pooled[mode] = fit_duration(treat_min[sel].to_numpy())
        treatment[mode] = {
            str(c): fit_duration(v.to_numpy())
            for c, v in treat_min[sel].groupby(cls[sel])
            if len(v) >= MIN_FIT
        }
    lw = ~seen
    lwbs_time = (
        fit_duration(_minutes(a.loc[lw, "departure"], a.loc[lw, "arrival"])) if lw.any() else None
    )

    units = _units(log, unit_names)
    direct, direct_routing = _direct(log, days, first_day, unit_names)

    in_ed = seen
    t0 = a["arrival"].min() + pd.Timedelta(days=min(7, days // 4))
    occ = _hourly_occupancy(begin[in_ed], a.loc[in_ed, "departure"], t0, a["arrival"].max())
    ed_beds = max(1, int(math.ceil(np.percentile(occ, CAPACITY_PERCENTILE)))) if occ.size else 1
    first_wait, first_wait_pooled = _first_waits(
        a, cls, streams, seen & has_seen, begin, in_ed, t0, ed_beds
    )
    handover = _handovers(a, first_unit, admitted, units, log.spells)

    tid = _minutes(a["departure"], a["arrival"])
    observed = {
        "attendances": float(len(a)),
        "four_hour_performance": float(np.mean(tid <= 240)),
        "mean_time_in_department_min": float(np.mean(tid)),
        "admitted_share": float(admitted.mean()),
    }
    if has_seen.any():
        observed["mean_wait_first_clinician_min"] = float(
            np.nanmean(_minutes(a["first_seen"], a["arrival"]))
        )
    dta = admitted & a["decision_to_admit"].notna()
    if dta.any():
        observed["mean_decision_to_departure_min"] = float(
            np.mean(_minutes(a.loc[dta, "departure"], a.loc[dta, "decision_to_admit"]))
        )

    return Calibration(
        log=log,
        classes=classes,
        streams=streams,
        lwbs=lwbs,
        routing=routing,
        routing_pooled=routing_pooled,
        treatment=treatment,
        treatment_pooled=treatment_pooled,
        treatment_has_wait=treatment_has_wait,
        lwbs_time=lwbs_time,
        units=units,
        direct=direct,
        direct_routing=direct_routing,
        ed_beds=ed_beds,
        observed=observed,
        first_wait=first_wait,
        first_wait_pooled=first_wait_pooled,
        handover=handover,
    )


def _free_at(
    when: pd.Series, start: pd.Series, end: pd.Series, places: int, t0: pd.Timestamp
) -> np.ndarray:
    """Whether fewer than ``places`` were present (``start`` to ``end``) at the last whole hour
    before each time in ``when``; times before ``t0`` (occupancy not yet settled) count as free."""
    t1 = when.max()
    if pd.isna(t1) or t1 < t0:
        return np.ones(len(when), dtype=bool)
    occ = _hourly_occupancy(start, end, t0, t1)
    hour = np.floor((_minutes(when, pd.Series(t0, index=when.index))) / 60.0)
    free = np.ones(len(when), dtype=bool)
    ok = np.isfinite(hour) & (hour >= 0) & (hour < occ.size)
    free[ok] = occ[hour[ok].astype(int)] < places
    return free


def _first_waits(
    a: pd.DataFrame,
    cls: pd.Series,
    streams: dict[str, Stream],
    waited: pd.Series,
    begin: pd.Series,
    in_ed: pd.Series,
    t0: pd.Timestamp,
    ed_beds: int,
) -> tuple[dict[str, dict[str, FittedDuration]], dict[str, FittedDuration]]:
    """Arrival to first clinician, fitted from patients who arrived while a cubicle was free.

    A queue for cubicles makes waits only while the cubicles are full; what patients waited
    while one was free (triage, a clinician to become free, a rota the log does not show) the
    model cannot make, so it is a delay before treatment. Waits while all were full are left
    out: the model makes those itself."""
    if not waited.any():
        return {}, {}
    free = pd.Series(
        _free_at(a["arrival"], begin[in_ed], a.loc[in_ed, "departure"], ed_beds, t0),
        index=a.index,
    )
    wait = pd.Series(_minutes(a["first_seen"], a["arrival"]), index=a.index)
    use = waited & free & (wait >= 0)
    per_class: dict[str, dict[str, FittedDuration]] = {}
    pooled: dict[str, FittedDuration] = {}
    left_out = int((waited & ~free).sum())
    how = (
        f"arrival to first clinician of those who arrived while a cubicle was free "
        f"({left_out:,} of all modes who arrived with all full left out: the model makes their "
        "wait)"
    )
    for mode in streams:
        sel = use & (a["mode"] == mode)
        if not sel.any():
            continue
        pooled[mode] = _described(fit_duration(wait[sel].to_numpy()), how)
        per_class[mode] = {
            str(c): _described(fit_duration(v.to_numpy()), how)
            for c, v in wait[sel].groupby(cls[sel])
            if len(v) >= MIN_FIT
        }
    return per_class, pooled


def _handovers(
    a: pd.DataFrame,
    first_unit: pd.Series,
    admitted: pd.Series,
    units: dict[str, Unit],
    spells: pd.DataFrame | None,
) -> dict[str, FittedDuration]:
    """Decision to admit to departure, by unit, fitted from patients whose unit had a free bed
    at the decision: the time to find, clean and reach a bed, which a queue for beds does not
    make. Times when the unit was full are left out: the model makes that exit block itself."""
    dta = admitted & a["decision_to_admit"].notna()
    if not dta.any():
        return {}
    out: dict[str, FittedDuration] = {}
    wait = pd.Series(_minutes(a["departure"], a["decision_to_admit"]), index=a.index)
    for unit, u in units.items():
        sel = dta & (first_unit == unit) & (wait >= 0)
        if not sel.any():
            continue
        free = np.ones(int(sel.sum()), dtype=bool)
        if spells is not None:
            mine = spells[spells["unit"] == unit]
            if len(mine):
                stays = _minutes(mine["discharged"], mine["admitted"])
                # Occupancy is undercounted until those admitted before the log have left.
                settle = pd.Timedelta(minutes=float(np.percentile(stays, 95)))
                free = _free_at(
                    a.loc[sel, "decision_to_admit"],
                    mine["admitted"],
                    mine["discharged"],
                    u.beds,
                    mine["admitted"].min() + settle,
                )
        left_out = int((~free).sum())
        how = (
            f"decision to admit to departure of those admitted while {unit} had a free bed "
            f"({left_out:,} admitted with it full left out: the model makes their exit block)"
        )
        out[unit] = _described(fit_duration(wait[sel][free].to_numpy()), how)
    return out


def _described(f: FittedDuration, how: str) -> FittedDuration:
    return FittedDuration(f.dist, f.n, f"{how}; {f.method}", f.mean_min, f.ks)


def _first_unit(a: pd.DataFrame, spells: pd.DataFrame | None) -> pd.Series:
    """Each attendance's first unit: ``admitted_to``, else its earliest spell's unit."""
    unit = a["admitted_to"].astype(str)
    if spells is not None and (unit == "").any():
        linked = spells[spells["attendance_id"] != ""].sort_values("admitted")
        first = linked.drop_duplicates("attendance_id").set_index("attendance_id")["unit"]
        fill = a["attendance_id"].map(first).fillna("")
        unit = unit.where(unit != "", fill)
    return unit


def _next_unit(spells: pd.DataFrame, units: set[str]) -> pd.Series:
    """The unit each spell moves on to: its ``destination`` if that names a unit, else the next
    spell of the same attendance, else ``exit``."""
    s = spells.sort_values(["attendance_id", "admitted"])
    same = (s["attendance_id"] == s["attendance_id"].shift(-1)) & (s["attendance_id"] != "")
    chained = s["unit"].shift(-1).where(same, "exit")
    dest = s["destination"].where(s["destination"].isin(units), chained)
    return dest.reindex(spells.index)


def _units(log: EventLog, names: list[str]) -> dict[str, Unit]:
    s = log.spells
    out: dict[str, Unit] = {}
    beds_file = log.capacity
    if s is None:
        s = pd.DataFrame(
            columns=[
                "unit",
                "area",
                "admitted",
                "discharged",
                "medically_fit",
                "destination",
                "attendance_id",
                "discharged_local",
            ]
        )
    onward = _next_unit(s, set(names)) if len(s) else pd.Series(dtype=str)
    last = s["discharged"].max() if len(s) else None
    for unit in names:
        u = s[s["unit"] == unit]
        if u.empty:
            # Named as a destination in the attendances but no spells: a stay must be assumed.
            stay = FittedDuration(
                {"dist": "lognormal", "mean": "5d", "sd": "5d"},
                0,
                "ASSUMPTION: no spells for this unit in the log",
                7200.0,
            )
            out[unit] = Unit(
                unit,
                "ward",
                0,
                stay,
                False,
                Routing({"exit": 1.0}, 0),
                *_beds(beds_file, unit, None, None, None),
            )
            continue
        area = str(u["area"].mode().iloc[0])
        nxt = onward[u.index]
        with_fit = u["medically_fit"].notna()
        leaving = nxt == "exit"
        if with_fit.any():
            stay = fit_duration(
                _minutes(u.loc[with_fit, "medically_fit"], u.loc[with_fit, "admitted"])
            )
            stay = FittedDuration(
                stay.dist,
                stay.n,
                "admission to medically fit; " + stay.method,
                stay.mean_min,
                stay.ks,
            )
        else:
            stay = fit_duration(_minutes(u["discharged"], u["admitted"]))
            stay = FittedDuration(
                stay.dist,
                stay.n,
                "admission to discharge (holds any wait for a discharge hour or the next bed); "
                + stay.method,
                stay.mean_min,
                stay.ks,
            )
        unit_fit = Unit(
            unit,
            area,
            len(u),
            stay,
            bool(with_fit.any()),
            Routing(shares(nxt.value_counts()), len(u)),
            *_beds(beds_file, unit, u, log.attendances["arrival"].min(), last),
        )
        _stays_by_next(unit_fit, u, nxt, with_fit)
        fit_and_leave = with_fit & leaving
        if fit_and_leave.any():
            gap = _minutes(
                u.loc[fit_and_leave, "discharged"], u.loc[fit_and_leave, "medically_fit"]
            )
            fit_day = u.loc[fit_and_leave, "medically_fit_local"].dt.floor("D")
            out_day = u.loc[fit_and_leave, "discharged_local"].dt.floor("D")
            start_d = fit_day.to_numpy().astype("datetime64[D]")
            end_d = out_day.to_numpy().astype("datetime64[D]")
            # Weekend days are taken out of the gap: the model holds weekend discharges itself
            # (the discharge window's day shares), so they are not part of a delay.
            weekend_days = (end_d - start_d).astype(int) - np.busday_count(start_d, end_d)
            gap = gap - 1440.0 * weekend_days
            late = gap > DELAY_THRESHOLD_MIN
            unit_fit.delayed_share = round(float(late.mean()), 4)
            unit_fit.delayed_n = int(fit_and_leave.sum())
            if late.sum() > 0:
                d = fit_duration(gap[late])
                unit_fit.delay = FittedDuration(
                    d.dist,
                    d.n,
                    "medically fit to discharge, when delayed; " + d.method,
                    d.mean_min,
                    d.ks,
                )
            out_local = u.loc[fit_and_leave, "discharged_local"]
            hours = np.bincount(out_local.dt.hour.to_numpy(), minlength=24)
            unit_fit.discharge_hours = [round(float(h / hours.mean()), 3) for h in hours]
            wd = np.bincount(out_local.dt.day_of_week.to_numpy(), minlength=7).astype(float)
            weekday_level = float(np.median(wd[:5])) or 1.0
            names7 = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
            unit_fit.discharge_days = {
                names7[i]: round(min(1.0, float(wd[i] / weekday_level)), 3)
                for i in range(7)
                if wd[i] < weekday_level
            }
            unit_fit.discharge_n = int(fit_and_leave.sum())
        out[unit] = unit_fit
    return out


def _stays_by_next(unit: Unit, u: pd.DataFrame, nxt: pd.Series, with_fit: pd.Series) -> None:
    """Fit ``unit``'s stay separately for each place its patients go next, as the model routes
    them: another unit, or ``exit`` (home, a care home, died: every destination that is not a
    unit). Leaving destinations are not split further because the engine holds delayed
    discharges and the discharge window only for patients who leave (``exit``); a stage of
    their own would lose both."""
    rows = with_fit if with_fit.any() else pd.Series(True, index=u.index)
    counts = nxt[rows].value_counts()
    if len(counts) < 2:
        return
    end = u["medically_fit"] if with_fit.any() else u["discharged"]
    stay = pd.Series(_minutes(end, u["admitted"]), index=u.index)
    what = "admission to medically fit" if with_fit.any() else "admission to discharge"
    for dest, count in counts.items():
        if count >= MIN_BY_DESTINATION:
            f = fit_duration(stay[rows & (nxt == dest)].to_numpy())
            where = "leaving (exit)" if dest == "exit" else f"going to {dest}"
            unit.stay_by_next[str(dest)] = _described(f, f"{what}, those {where}")
        else:
            unit.stay_pooled_for[str(dest)] = int(count)


def _beds(
    capacity: pd.DataFrame | None,
    unit: str,
    spells: pd.DataFrame | None,
    t0: pd.Timestamp | None,
    t1: pd.Timestamp | None,
) -> tuple[int, str, bool]:
    if capacity is not None:
        rows = capacity[(capacity["unit"] == unit) & capacity["from"].isna()]
        if len(rows):
            return (
                int(rows["beds"].iloc[0]),
                f"from the capacity file, line {int(rows['_line'].iloc[0])}",
                False,
            )
    if spells is None or t0 is None or t1 is None or spells.empty:
        return 1, "ASSUMPTION: no capacity given and no spells to infer it from", True
    stays = _minutes(spells["discharged"], spells["admitted"])
    # Occupancy is undercounted until patients admitted before the log began have left.
    settle = pd.Timedelta(minutes=float(np.percentile(stays, 95)))
    occ = _hourly_occupancy(spells["admitted"], spells["discharged"], t0 + settle, t1)
    if occ.size == 0:
        occ = _hourly_occupancy(spells["admitted"], spells["discharged"], t0, t1)
    beds = max(1, int(math.ceil(np.percentile(occ, CAPACITY_PERCENTILE))))
    return (
        beds,
        f"ASSUMPTION: inferred as the {CAPACITY_PERCENTILE:g}th percentile of hourly occupancy "
        f"(n={occ.size:,} hours); give a capacity file for the real number",
        True,
    )


def _direct(
    log: EventLog, days: int, first_day: pd.Timestamp, names: list[str]
) -> tuple[Stream | None, Routing | None]:
    s = log.spells
    if s is None:
        return None, None
    # Every spell without an attendance is taken as a direct admission (an onward spell of a
    # direct admission must carry a shared id in attendance_id to be linked as such).
    unlinked = s[s["attendance_id"] == ""]
    if unlinked.empty:
        return None, None
    stream = _stream(unlinked["admitted_local"], None, days, first_day)
    return stream, Routing(shares(unlinked["unit"].value_counts()), len(unlinked))
