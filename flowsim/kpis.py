"""Key performance indicators and hourly time series from one replication's records.

Every measure covers the measurement window, from the end of the warm-up to the end of the run.
ED measures follow the NHS convention of counting attendances when they leave the department, so
a patient who arrived during the warm-up and left in the window counts, and one still in the
department at the end does not (they are reported in ``in_department_at_end``).
Names, units, labels, definitions, better directions and the headline set are listed once, in
the registry :data:`KPIS` (read by the CLI, the browser page, batch checks and ``docs/kpis.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .engine import Records

if TYPE_CHECKING:
    from .scenario import Scenario

FOUR_HOURS = 240.0
TWELVE_HOURS = 720.0

Better = Literal["higher", "lower", "neither"]
Per = Literal["place", "staff", "stage", "class", "stage_class", "stream"]
"""What a KPI is reported for: each place, staff group, stage, patient class, stage and class
together (``wait_mean.<stage>.<class>``), or arrival stream that does not start in the ED."""


@dataclass(frozen=True)
class Kpi:
    """One KPI as the registry lists it. A KPI reported for each place, staff group, stage,
    class or stream (``per``) is named ``<name>.<place>`` in results, e.g.
    ``occupancy_mean_pct.wards``; one per stage and class is ``<name>.<stage>.<class>``. A plain
    KPI and a per-something one may share a name (``four_hour_pct``, ``four_hour_pct.<class>``):
    the number of dots tells them apart, since names of places, stages and classes have none."""

    name: str
    unit: str
    label: str  # the name people read in the app
    definition: str
    better: Better  # neither: volumes, occupancy and staff use, where it depends
    headline: bool = False
    per: Per | None = None
    needs_capacity: bool = False  # per place, and only for places with a capacity limit
    needs_lost: bool = False  # per stage, and only for stages with ``when_full: lost``

    @property
    def pattern(self) -> str:
        """The name as listed: ``four_hour_pct``, ``occupancy_mean.<place>`` or
        ``wait_mean.<stage>.<class>``."""
        if self.per is None:
            return self.name
        if self.per == "stage_class":
            return f"{self.name}.<stage>.<class>"
        return f"{self.name}.<{self.per}>"

    @property
    def parts(self) -> int:
        """How many names follow the KPI's own in a result's name (0, 1, or 2 for stage and
        class)."""
        return 0 if self.per is None else 2 if self.per == "stage_class" else 1


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "attendances",
        "count",
        "ED attendances",
        "ED attendances leaving the department in the window",
        "neither",
    ),
    Kpi(
        "attendances_per_day",
        "per day",
        "ED attendances a day",
        "ED attendances leaving the department, per day",
        "neither",
        headline=True,
    ),
    Kpi(
        "four_hour_pct",
        "%",
        "Within 4 hours",
        "share of ED attendances leaving within 4 hours of arrival",
        "higher",
        headline=True,
    ),
    Kpi(
        "twelve_hour_pct",
        "%",
        "Over 12 hours in the ED",
        "share of ED attendances in the department over 12 hours from arrival",
        "lower",
        headline=True,
    ),
    Kpi(
        "time_in_department_mean",
        "minutes",
        "Time in the ED, mean",
        "mean time from arrival to leaving the ED",
        "lower",
        headline=True,
    ),
    Kpi(
        "time_in_department_median",
        "minutes",
        "Time in the ED, median",
        "median time from arrival to leaving the ED",
        "lower",
    ),
    Kpi(
        "time_in_department_p95",
        "minutes",
        "Time in the ED, 95th percentile",
        "95th percentile of time from arrival to leaving the ED",
        "lower",
        headline=True,
    ),
    Kpi(
        "time_to_triage_mean",
        "minutes",
        "Time to triage, mean",
        "mean time from arrival to the start of triage",
        "lower",
    ),
    Kpi(
        "time_to_clinician_mean",
        "minutes",
        "Time to see a clinician, mean",
        "mean time from arrival to first clinician assessment",
        "lower",
        headline=True,
    ),
    Kpi(
        "left_without_being_seen_pct",
        "%",
        "Left without being seen",
        "share of ED attendances that left before being seen",
        "lower",
        headline=True,
    ),
    Kpi(
        "admission_pct",
        "%",
        "Admitted",
        "share of ED attendances admitted (to an assessment unit or ward)",
        "neither",
        headline=True,
    ),
    Kpi(
        "dta_wait_mean",
        "minutes",
        "Decision to admit to leaving the ED, mean",
        "mean time from decision to admit to leaving the ED, admitted patients",
        "lower",
        headline=True,
    ),
    Kpi(
        "dta_over_4h_count",
        "count",
        "Waits over 4 h from decision to admit",
        "admitted patients waiting over 4 hours from decision to admit to leaving the ED",
        "lower",
        headline=True,
    ),
    Kpi(
        "dta_over_12h_count",
        "count",
        "Trolley waits (over 12 h from decision to admit)",
        "admitted patients waiting over 12 hours from decision to admit to leaving the ED "
        "(trolley waits)",
        "lower",
        headline=True,
    ),
    Kpi(
        "handovers", "count", "Ambulance handovers", "ambulance handovers in the window", "neither"
    ),
    Kpi(
        "handover_mean",
        "minutes",
        "Ambulance handover, mean",
        "mean time from ambulance arrival to handover",
        "lower",
        headline=True,
    ),
    Kpi(
        "handover_over_30_pct",
        "%",
        "Ambulance handovers over 30 min",
        "share of ambulance handovers taking over 30 minutes",
        "lower",
        headline=True,
    ),
    Kpi(
        "handover_over_60_pct",
        "%",
        "Ambulance handovers over 60 min",
        "share of ambulance handovers taking over 60 minutes",
        "lower",
        headline=True,
    ),
    Kpi("arrivals", "count", "Arrivals", "patients arriving in the window, all streams", "neither"),
    Kpi(
        "in_system_at_end",
        "count",
        "Still in the system at the end",
        "patients still anywhere in the modelled system at the end",
        "neither",
    ),
    Kpi(
        "in_department_at_end",
        "count",
        "Still in the ED at the end",
        "patients still in the ED at the end",
        "lower",
    ),
    Kpi(
        "delayed_discharge_bed_days",
        "bed days",
        "Bed days of delayed discharges",
        "bed days used by medically fit patients waiting to leave",
        "lower",
        headline=True,
    ),
    Kpi(
        "occupancy_mean",
        "patients",
        "Patients in",
        "time-average number of patients in the place",
        "neither",
        per="place",
    ),
    Kpi(
        "occupancy_mean_pct",
        "%",
        "Occupied",
        "time-average occupancy as a share of time-average capacity",
        "neither",
        headline=True,
        per="place",
        needs_capacity=True,
    ),
    Kpi(
        "occupancy_ge_92_pct_time",
        "% of time",
        "Time at or above 92% full",
        "share of open time at or above 92% occupancy",
        "lower",
        per="place",
        needs_capacity=True,
    ),
    Kpi(
        "occupancy_ge_95_pct_time",
        "% of time",
        "Time at or above 95% full",
        "share of open time at or above 95% occupancy",
        "lower",
        headline=True,
        per="place",
        needs_capacity=True,
    ),
    Kpi(
        "occupancy_ge_100_pct_time",
        "% of time",
        "Time full",
        "share of open time full (at or above capacity)",
        "lower",
        per="place",
        needs_capacity=True,
    ),
    Kpi(
        "queue_mean",
        "patients",
        "Waiting for",
        "time-average number waiting for the place",
        "lower",
        per="place",
    ),
    Kpi(
        "busy_mean_pct",
        "%",
        "Staff busy",
        "time-average staff in use as a share of staff on duty",
        "neither",
        per="staff",
    ),
    Kpi(
        "wait_mean",
        "minutes",
        "Wait to start",
        "mean wait to start the stage (place and staff), visits starting in the window",
        "lower",
        per="stage",
    ),
    Kpi(
        "lost",
        "count",
        "Turned away",
        "patients turned away (lost or diverted) because the stage's place was full, arriving "
        "in the window",
        "lower",
        per="stage",
        needs_lost=True,
    ),
    Kpi(
        "lost_pct",
        "%",
        "Turned away",
        "share of patients arriving at the stage in the window who were turned away because its "
        "place was full",
        "lower",
        per="stage",
        needs_lost=True,
    ),
    Kpi(
        "time_in_system_mean",
        "minutes",
        "Time in the system, mean",
        "mean time from arrival to leaving the modelled system, patients leaving in the window",
        "lower",
    ),
    Kpi(
        "p_wait",
        "share",
        "Share who waited",
        "share of visits starting in the window that waited at all (for place or staff) "
        "before the stage started",
        "lower",
        per="stage",
    ),
    Kpi(
        "p_delay",
        "share",
        "Share finding it full",
        "share of requests for the place in the window that found it full and had to queue "
        "(the probability of delay); a patient sent straight to an overflow place does not "
        "ask for the full one and is not counted",
        "lower",
        per="place",
        needs_capacity=True,
    ),
    Kpi(
        "wait_mean",
        "minutes",
        "Wait to start",
        "mean wait to start the stage (place and staff), visits of the class starting in the "
        "window",
        "lower",
        per="stage_class",
    ),
    Kpi(
        "time_in_system_mean",
        "minutes",
        "Time in the system, mean",
        "mean time from arrival to leaving the modelled system, patients of the class leaving "
        "in the window",
        "lower",
        per="class",
    ),
    Kpi(
        "four_hour_pct",
        "%",
        "Within 4 hours",
        "share of the class's ED attendances leaving within 4 hours of arrival",
        "higher",
        per="class",
    ),
    Kpi(
        "direct_time_in_system_mean",
        "minutes",
        "Time in the system (not via the ED), mean",
        "mean time from arrival to leaving the modelled system, patients of an arrival stream "
        "that does not start in the ED (GP referrals, direct admissions) leaving in the window",
        "lower",
        per="stream",
    ),
)
"""Every KPI :func:`compute_kpis` reports, in the order tables list them: the one source of
names, units, labels, definitions, better directions and the headline set."""

_BY_NAME: dict[tuple[str, int], Kpi] = {(k.name, k.parts): k for k in KPIS}

HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS if k.headline and k.per is None)
"""The headline KPIs a manager reads first (the per-place headline ones follow them)."""

KPI_DEFINITIONS: dict[str, tuple[str, str]] = {k.pattern: (k.unit, k.definition) for k in KPIS}
"""``(unit, definition)`` by listed name (``occupancy_mean.<place>`` for per-place KPIs)."""


def kpi_info(kpi: str) -> Kpi | None:
    """The registry entry of a KPI name as results carry it (``occupancy_mean_pct.wards``
    resolves to ``occupancy_mean_pct``), or None for a name the registry does not list."""
    head, *rest = kpi.split(".")
    if not all(rest):
        return None
    return _BY_NAME.get((head, len(rest)))


def shown_decimals(values: Iterable[float], least: int = 1, most: int = 6) -> int:
    """Decimals enough to show ``values`` as they are: none that is not zero shows as zero (so a
    confidence interval that excludes zero never reads "0.0 to 0.1" beside a verdict), and no
    two that differ show alike; at least ``least``, at most ``most``. NaN and infinities are
    left out of the reckoning."""
    finite = [v for v in values if math.isfinite(v)]
    for d in range(least, most + 1):
        shown = [round(v, d) for v in finite]
        if all(v == 0 or s != 0 for v, s in zip(finite, shown, strict=True)) and len(
            set(shown)
        ) == len(set(finite)):
            return d
    return most


def kpi_definition(kpi: str) -> tuple[str, str]:
    """``(unit, definition)`` of a KPI name, including per-place / per-stage names."""
    info = kpi_info(kpi)
    return (info.unit, info.definition) if info is not None else ("", "")


def label(kpi: str) -> str:
    """A KPI's name for people (``occupancy_mean_pct.wards`` -> ``Occupied: wards``,
    ``wait_mean.triage.urgent`` -> ``Wait to start: triage, urgent``)."""
    info = kpi_info(kpi)
    _, *who = kpi.split(".")
    text = info.label if info is not None else kpi.replace("_", " ")
    return f"{text}: {', '.join(who)}" if info is not None and info.per is not None else text


def is_headline(kpi: str) -> bool:
    """Whether a KPI name (per-place names included) is one of the headline measures."""
    info = kpi_info(kpi)
    return info is not None and info.headline


def headline_kpis(names: Iterable[str]) -> list[str]:
    """The headline names among ``names``, in registry order (per-place ones in the order
    given, after their KPI's plain ones)."""
    given = list(dict.fromkeys(names))
    order: dict[str, int] = {}
    for i, k in enumerate(KPIS):
        order.setdefault(k.name, i)
    chosen = [n for n in given if is_headline(n)]
    return sorted(chosen, key=lambda n: order[n.partition(".")[0]])


def kpi_names(scenario: Scenario) -> set[str]:
    """Every KPI name a run of ``scenario`` reports, per-place, per-staff, per-stage,
    per-class and per-stream names spelt out."""
    out: set[str] = set()
    for k in KPIS:
        if k.per is None:
            out.add(k.name)
        elif k.per == "place":
            out |= {
                f"{k.name}.{p}"
                for p, spec in scenario.places.items()
                if not (k.needs_capacity and spec.unlimited)
            }
        elif k.per == "staff":
            out |= {f"{k.name}.{s}" for s in scenario.staff}
        elif k.per == "stage":
            out |= {
                f"{k.name}.{s}"
                for s, spec in scenario.stages.items()
                if not (k.needs_lost and spec.when_full == "wait")
            }
        elif k.per == "class":
            out |= {f"{k.name}.{c}" for c in scenario.classes}
        elif k.per == "stage_class":
            out |= {f"{k.name}.{s}.{c}" for s in scenario.stages for c in scenario.classes}
        else:
            out |= {f"{k.name}.{a}" for a in scenario.arrivals if not arrives_in_ed(scenario, a)}
    return out


def arrives_in_ed(scenario: Scenario, stream: str) -> bool:
    """Whether patients of arrival stream ``stream`` attend the ED: brought by ambulance (a
    handover) or starting at a stage whose place is in the ED, as the engine counts them."""
    arr = scenario.arrivals[stream]
    place = scenario.stages[arr.first_stage].place
    return arr.handover or (place is not None and scenario.places[place].area == "ed")


def better_direction(kpi: str) -> int:
    """+1 if a higher value is better for patients, -1 if lower is better, 0 if neither (volumes,
    occupancy and staff use, where the right level depends on the question)."""
    info = kpi_info(kpi)
    if info is None or info.better == "lower":
        return -1
    return 1 if info.better == "higher" else 0


def verdict(kpi: str, ci_low: float, ci_high: float) -> str:
    """'better', 'worse' or 'no clear difference' (the 95% CI of the change crosses zero); for
    KPIs with no better direction, 'higher' or 'lower'. Empty when there is no interval."""
    if ci_low != ci_low or ci_high != ci_high:
        return ""
    if ci_low <= 0 <= ci_high:
        return "no clear difference"
    up = ci_low > 0
    direction = better_direction(kpi)
    if direction == 0:
        return "higher" if up else "lower"
    return "better" if up == (direction > 0) else "worse"


def kpi_markdown() -> str:
    """The KPI reference page (``docs/kpis.md``), written from the registry by
    ``flowsim kpis --markdown``."""
    lines = [
        "# KPIs",
        "",
        "<!-- Generated by `flowsim kpis --markdown > docs/kpis.md` from `flowsim/kpis.py`; "
        "edit the registry there, not this file. -->",
        "",
        "Every measure covers the measurement window, from the end of the warm-up to the end "
        "of the run. ED measures count attendances when they leave the department. A name "
        "ending in `.<place>`, `.<staff>`, `.<stage>` or `.<class>` is reported once for each "
        "place, staff group, stage or patient class of the scenario "
        "(`occupancy_mean_pct.wards`), one ending in `.<stage>.<class>` once for each stage "
        "and class (`wait_mean.triage.urgent`), and one ending in `.<stream>` once for each "
        "arrival stream that does not start in the ED (`direct_time_in_system_mean.gp_referral`); "
        "per-place measures against capacity are left out for places with unlimited capacity. "
        "A measure with nothing to count in the window (no visits of that class to that "
        "stage) is left blank (NaN).",
        "",
        "The share of time each place spends at each occupancy level is not a KPI but a table "
        "of its own, `occupancy_distribution.csv` (see [results.md](results.md)).",
        "",
        "**Headline** measures are the ones `flowsim run`, `flowsim compare` and the browser "
        "page show first; every measure is in the downloaded tables. **Better when** is the "
        "direction a comparison calls better; for volumes, occupancy and staff use it depends "
        "on the question, and a comparison says higher or lower.",
        "",
        "| KPI | Label | Unit | Better when | Headline | Definition |",
        "|---|---|---|---|---|---|",
    ]
    for k in KPIS:
        better = "(depends)" if k.better == "neither" else k.better
        lines.append(
            f"| `{k.pattern}` | {k.label} | {k.unit} | {better} | "
            f"{'yes' if k.headline else ''} | {k.definition} |"
        )
    return "\n".join(lines) + "\n"


def step_area(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral from 0 to each of ``at`` of the step function that takes ``values[i]`` from
    ``times[i]`` (non-decreasing, starting at 0) until the next change."""
    widths = np.diff(times)
    cum = np.concatenate(([0.0], np.cumsum(values[:-1] * widths)))
    i = np.searchsorted(times, at, side="right") - 1
    area: np.ndarray = cum[i] + values[i] * (at - times[i])
    return area


def _value_at(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    return values[np.searchsorted(times, at, side="right") - 1]


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _pct(x: np.ndarray) -> float:
    return float(100.0 * x.mean()) if len(x) else float("nan")


def compute_kpis(rec: Records) -> dict[str, float]:
    """All KPIs of one replication, by name."""
    s = rec.scenario
    w0, w1 = s.run.warmup, rec.horizon
    days = (w1 - w0) / 1440.0
    out: dict[str, float] = {}

    dep = rec.ed_departure
    with np.errstate(invalid="ignore"):
        ed = rec.ed_attendance & (dep >= w0) & (dep < w1)
    tid = dep[ed] - rec.arrival[ed]
    out["attendances"] = float(ed.sum())
    out["attendances_per_day"] = float(ed.sum()) / days
    out["four_hour_pct"] = _pct(tid <= FOUR_HOURS)
    out["twelve_hour_pct"] = _pct(tid > TWELVE_HOURS)
    out["time_in_department_mean"] = _mean(tid)
    out["time_in_department_median"] = float(np.median(tid)) if len(tid) else float("nan")
    out["time_in_department_p95"] = float(np.percentile(tid, 95)) if len(tid) else float("nan")
    tri = rec.triage[ed] - rec.arrival[ed]
    out["time_to_triage_mean"] = _mean(tri[~np.isnan(tri)])
    cli = rec.clinician[ed] - rec.arrival[ed]
    out["time_to_clinician_mean"] = _mean(cli[~np.isnan(cli)])
    out["left_without_being_seen_pct"] = _pct(rec.left_without_being_seen[ed])
    dta = rec.decision_to_admit[ed]
    admitted = ~np.isnan(dta)
    out["admission_pct"] = _pct(admitted)
    dta_wait = dep[ed][admitted] - dta[admitted]
    out["dta_wait_mean"] = _mean(dta_wait)
    out["dta_over_4h_count"] = float((dta_wait > FOUR_HOURS).sum())
    out["dta_over_12h_count"] = float((dta_wait > TWELVE_HOURS).sum())

    with np.errstate(invalid="ignore"):
        hmask = (rec.handover >= w0) & (rec.handover < w1)
    hd = rec.handover[hmask] - rec.arrival[hmask]
    out["handovers"] = float(hmask.sum())
    out["handover_mean"] = _mean(hd)
    out["handover_over_30_pct"] = _pct(hd > 30.0)
    out["handover_over_60_pct"] = _pct(hd > 60.0)

    out["arrivals"] = float(((rec.arrival >= w0) & (rec.arrival < w1)).sum())
    out["in_system_at_end"] = float(np.isnan(rec.left).sum())
    out["in_department_at_end"] = float((rec.ed_attendance & np.isnan(dep)).sum())
    out["delayed_discharge_bed_days"] = rec.delayed_minutes / 1440.0

    edges = np.array([w0, w1])
    for name, log in rec.pools.items():
        t, n, q = log["time"], log["in_use"].astype(float), log["waiting"].astype(float)
        ct, cv = log["cap_time"], log["cap_value"]
        span = w1 - w0
        occ = float(np.diff(step_area(t, n, edges))[0]) / span
        if str(log["kind"]) == "staff":
            on_duty = float(np.diff(step_area(ct, cv, edges))[0]) / span
            out[f"busy_mean_pct.{name}"] = 100.0 * occ / on_duty if on_duty > 0 else float("nan")
            continue
        out[f"occupancy_mean.{name}"] = occ
        out[f"queue_mean.{name}"] = float(np.diff(step_area(t, q, edges))[0]) / span
        if np.isinf(cv).any():
            continue
        cap_mean = float(np.diff(step_area(ct, cv, edges))[0]) / span
        out[f"occupancy_mean_pct.{name}"] = 100.0 * occ / cap_mean if cap_mean > 0 else float("nan")
        # Merge the occupancy and capacity step functions on the union of their change times.
        tt = np.union1d(np.union1d(t, ct), edges)
        tt = tt[(tt >= 0)]
        occ_t = _value_at(t, n, tt)
        cap_t = _value_at(ct, cv, tt)
        open_ = cap_t > 0
        open_time = float(np.diff(step_area(tt, open_.astype(float), edges))[0])
        for level in (92, 95, 100):
            hit = (open_ & (occ_t >= cap_t * (level / 100.0) - 1e-9)).astype(float)
            share = float(np.diff(step_area(tt, hit, edges))[0])
            out[f"occupancy_ge_{level}_pct_time.{name}"] = (
                100.0 * share / open_time if open_time > 0 else float("nan")
            )

    names = list(s.stages)
    for i, name in enumerate(names):
        c = rec.stage_wait_count[i]
        out[f"wait_mean.{name}"] = float(rec.stage_wait_sum[i] / c) if c else float("nan")
    out.update(_lost_kpis(rec))
    out.update(_measures_by_class_and_stream(rec))
    out.update(_waits_and_delays(rec))
    return out


def _lost_kpis(rec: Records) -> dict[str, float]:
    """``lost`` and ``lost_pct`` of each stage with ``when_full: lost``. A turned-away patient
    never starts the stage, so those arriving at it are the lost plus the visits started."""
    out: dict[str, float] = {}
    if rec.stage_lost is None:
        return out
    for i, (name, spec) in enumerate(rec.scenario.stages.items()):
        if spec.when_full == "wait":
            continue
        lost = float(rec.stage_lost[i])
        came = lost + float(rec.stage_wait_count[i])
        out[f"lost.{name}"] = lost
        out[f"lost_pct.{name}"] = 100.0 * lost / came if came else float("nan")
    return out


def _measures_by_class_and_stream(rec: Records) -> dict[str, float]:
    """Time in system overall, by class and (for streams that do not start in the ED) by
    stream, and the 4-hour share by class."""
    s = rec.scenario
    w0, w1 = s.run.warmup, rec.horizon
    out: dict[str, float] = {}
    with np.errstate(invalid="ignore"):
        gone = (rec.left >= w0) & (rec.left < w1)
        dep = rec.ed_departure
        ed = rec.ed_attendance & (dep >= w0) & (dep < w1)
    tis = rec.left - rec.arrival
    out["time_in_system_mean"] = _mean(tis[gone])
    for k, cls in enumerate(s.classes):
        mine = rec.patient_class == k
        out[f"time_in_system_mean.{cls}"] = _mean(tis[gone & mine])
        out[f"four_hour_pct.{cls}"] = _pct((dep - rec.arrival)[ed & mine] <= FOUR_HOURS)
    for k, name in enumerate(s.arrivals):
        if not arrives_in_ed(s, name):
            out[f"direct_time_in_system_mean.{name}"] = _mean(tis[gone & (rec.stream == k)])
    return out


def _waits_and_delays(rec: Records) -> dict[str, float]:
    """The share of visits that waited at each stage, waits by stage and class, and the share
    of requests that found each place with a capacity limit full."""
    s = rec.scenario
    out: dict[str, float] = {}
    count = rec.class_wait_count
    waited = rec.class_waited.sum(axis=0)
    visits = count.sum(axis=0)
    for i, stage in enumerate(s.stages):
        out[f"p_wait.{stage}"] = float(waited[i] / visits[i]) if visits[i] else float("nan")
        for k, cls in enumerate(s.classes):
            c = count[k, i]
            out[f"wait_mean.{stage}.{cls}"] = (
                float(rec.class_wait_sum[k, i] / c) if c else float("nan")
            )
    for name, log in rec.pools.items():
        if str(log["kind"]) != "place" or np.isinf(log["cap_value"]).any():
            continue
        asked, full = requests(log, s.run.warmup, rec.horizon)
        out[f"p_delay.{name}"] = full / asked if asked else float("nan")
    return out


def requests(log: dict[str, np.ndarray], start: float, end: float) -> tuple[int, int]:
    """Requests made for a pool between ``start`` and ``end``, and how many of them found it
    full, read from its change log: a request granted at once is the one kind of change that
    adds a unit in use with nobody waiting before or after, and a request that has to queue
    the one kind that adds a waiting request (a grant from the queue or a withdrawal takes one
    away)."""
    t, n, q = log["time"], log["in_use"], log["waiting"]
    dn, dq = np.diff(n), np.diff(q)
    inside = (t[1:] >= start) & (t[1:] < end)
    at_once = (dn == 1) & (dq == 0) & (q[1:] == 0)
    queued = dq == 1
    full = int((queued & inside).sum())
    return int((at_once & inside).sum()) + full, full


@dataclass
class OccupancyLevels:
    """The share of the measurement window each place spent at each occupancy level (patients
    in it), as parallel arrays: one row per place and level from 0 to the place's highest
    capacity, or to the highest level reached for a place without a limit."""

    place: np.ndarray
    level: np.ndarray
    share: np.ndarray


def occupancy_levels(rec: Records) -> OccupancyLevels:
    """The occupancy distribution of each place over the measurement window (each place's
    shares sum to 1): capacity planning by the probability of delay reads from it, e.g. the
    share of time at or above 14 patients is the chance an arrival would find 14 beds full."""
    w0, w1 = rec.scenario.run.warmup, rec.horizon
    places, levels, shares = [], [], []
    for name, log in rec.pools.items():
        if str(log["kind"]) != "place":
            continue
        t, n = log["time"], log["in_use"].astype(np.int64)
        ends = np.append(t[1:], w1)
        width = np.clip(np.minimum(ends, w1) - np.maximum(t, w0), 0.0, None)
        cap = log["cap_value"]
        top = int(cap.max()) if np.isfinite(cap).all() else 0
        top = max(top, int(n[width > 0].max()) if (width > 0).any() else 0)
        share = np.bincount(n, weights=width, minlength=top + 1)[: top + 1] / (w1 - w0)
        places.append(np.full(top + 1, name, dtype=object))
        levels.append(np.arange(top + 1, dtype=np.int32))
        shares.append(share)
    if not places:
        return OccupancyLevels(np.empty(0, object), np.empty(0, np.int32), np.empty(0))
    return OccupancyLevels(np.concatenate(places), np.concatenate(levels), np.concatenate(shares))


@dataclass
class HourlySeries:
    """Hourly means per place over the measurement window, as parallel arrays."""

    hour: np.ndarray  # hours since the start of the run (warm-up included)
    place: np.ndarray  # place name per row
    occupancy: np.ndarray
    queue: np.ndarray
    capacity: np.ndarray


def hourly_series(rec: Records) -> HourlySeries:
    """Mean occupancy, queue and capacity of each place in each whole hour of the window."""
    s = rec.scenario
    h0 = int(np.ceil(s.run.warmup / 60.0))
    h1 = int(np.floor(rec.horizon / 60.0))
    hours = np.arange(h0, h1)
    edges = np.arange(h0, h1 + 1) * 60.0
    parts: list[tuple[np.ndarray, ...]] = []
    for name, log in rec.pools.items():
        if str(log["kind"]) != "place":
            continue
        t = log["time"]
        occ = np.diff(step_area(t, log["in_use"].astype(float), edges)) / 60.0
        que = np.diff(step_area(t, log["waiting"].astype(float), edges)) / 60.0
        cap = (
            np.diff(step_area(log["cap_time"], log["cap_value"], edges)) / 60.0
            if not np.isinf(log["cap_value"]).any()
            else np.full(len(hours), np.inf)
        )
        parts.append((hours, np.full(len(hours), name, dtype=object), occ, que, cap))
    if not parts:
        empty = np.empty(0)
        return HourlySeries(empty, empty.astype(object), empty, empty, empty)
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return HourlySeries(*cols)


@dataclass
class EDSeries:
    """Hourly means over the measurement window of the ED's two pressure gauges."""

    hour: np.ndarray  # hours since the start of the run (warm-up included)
    boarders: np.ndarray  # admitted patients still in the ED (exit block)
    ambulance_queue: np.ndarray  # ambulance patients waiting to be handed over


def _hourly_count(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean number of intervals ``[start, end)`` open in each hour between ``edges``; an
    interval with no end (NaN) is open to the end of the run."""
    if len(start) == 0:
        return np.zeros(len(edges) - 1)
    end = np.where(np.isnan(end), np.inf, end)
    times = np.concatenate(([0.0], start, end[np.isfinite(end)]))
    steps = np.concatenate(([0.0], np.ones(len(start)), -np.ones(np.isfinite(end).sum())))
    order = np.argsort(times, kind="stable")
    times, counts = times[order], np.cumsum(steps[order])
    # Several changes at one time: the count after the last of them holds from then on.
    last = np.r_[times[1:] != times[:-1], True]
    return np.diff(step_area(times[last], counts[last], edges)) / np.diff(edges)


def ed_series(rec: Records) -> EDSeries:
    """Boarders in the ED (admitted patients between their decision to admit and leaving the
    department) and the ambulance queue (ambulance patients between arrival and handover), as
    hourly means over each whole hour of the measurement window."""
    h0 = int(np.ceil(rec.scenario.run.warmup / 60.0))
    h1 = int(np.floor(rec.horizon / 60.0))
    edges = np.arange(h0, h1 + 1) * 60.0
    dta = rec.decision_to_admit
    admitted = rec.ed_attendance & ~np.isnan(dta)
    ambulance_streams = np.array([a.handover for a in rec.scenario.arrivals.values()], bool)
    by_ambulance = ambulance_streams[rec.stream] if len(rec.stream) else np.zeros(0, bool)
    return EDSeries(
        hour=np.arange(h0, h1),
        boarders=_hourly_count(dta[admitted], rec.ed_departure[admitted], edges),
        ambulance_queue=_hourly_count(rec.arrival[by_ambulance], rec.handover[by_ambulance], edges),
    )


TIME_IN_DEPARTMENT_STEP = 1.0
"""Minutes between the points of the time-in-department distribution (see below): one, so
that any whole number of minutes ("% within 15 minutes") reads straight from it."""


def time_in_department_cdf(rec: Records, until: float = 24 * 60.0) -> np.ndarray:
    """Share of ED attendances leaving in the window within ``m`` minutes of arrival, for
    ``m = 0, 1, 2, ... until``: the cumulative distribution of time in department, exact at
    each point (the 4-hour figure is the value at 240)."""
    dep = rec.ed_departure
    with np.errstate(invalid="ignore"):
        ed = rec.ed_attendance & (dep >= rec.scenario.run.warmup) & (dep < rec.horizon)
    tid = np.sort(dep[ed] - rec.arrival[ed])
    points = np.arange(0.0, until + TIME_IN_DEPARTMENT_STEP / 2, TIME_IN_DEPARTMENT_STEP)
    if len(tid) == 0:
        return np.full(len(points), np.nan)
    return np.searchsorted(tid, points, side="right") / len(tid)
