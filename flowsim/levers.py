"""Levers: a change idea built from a few settings, written as a scenario overlay file.

A manager who has never written YAML sets levers (more or less demand, a surge, beds per place,
closures or escalation beds, staff per shift, an extra shift, length of stay, delayed discharges,
discharge timing) against a baseline scenario. :func:`build_overlay` turns them into the same kind
of overlay a flow coach would write by hand: ``extends`` the baseline file, and only the fields
that change. :func:`overlay_yaml` writes it as a file that ``flowsim validate`` and ``flowsim run``
accept unchanged once saved in ``scenarios/`` beside the baseline.

Lever values that make no sense (a negative bed count, a share above 1, a closure before it
opens) are refused by :class:`Levers` itself, so the page cannot build an impossible scenario.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .distributions import Empirical
from .loader import dump_yaml
from .scenario import ADMITTED_AREAS, Scenario

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
LEVER_PREFIX = "app_"
"""Names the levers give to surges, capacity changes and shifts they add (``app_surge``)."""

DEMAND_RANGE = (0.5, 2.0)
FACTOR_RANGE = (0.5, 3.0)
LOS_RANGE = (0.5, 2.0)
MAX_STAFF = 100
MAX_BEDS = 5000


class _Lever(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatedRange(_Lever):
    """Whole days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DatedRange:
        if self.end < self.start:
            raise ValueError(f"the end ({self.end}) is before the start ({self.start})")
        return self


class SurgeLever(DatedRange):
    """Every arrival stream multiplied by ``factor`` on the days of the range."""

    factor: Annotated[float, Field(ge=FACTOR_RANGE[0], le=FACTOR_RANGE[1])]


class CapacityLever(DatedRange):
    """``change`` beds (or chairs, cubicles) in ``place`` on the days of the range: negative for
    a closure, positive for escalation beds."""

    place: str
    change: Annotated[int, Field(ge=-MAX_BEDS, le=MAX_BEDS)]


class ExtraShiftLever(_Lever):
    """``count`` more of a staff group from ``start`` to ``end`` (whole hours; past midnight if
    ``end`` is earlier) every day."""

    staff: str
    start: Annotated[int, Field(ge=0, le=23)]
    end: Annotated[int, Field(ge=0, le=24)]
    count: Annotated[int, Field(ge=1, le=MAX_STAFF)]

    @model_validator(mode="after")
    def _not_empty(self) -> ExtraShiftLever:
        if self.start == self.end % 24:
            raise ValueError("the shift starts and ends at the same hour")
        return self


class Levers(_Lever):
    """Lever settings; anything left at its default leaves the baseline as it is."""

    name: str = Field(default="my_change", pattern=_NAME, max_length=60)
    description: str = Field(default="", max_length=2000)
    demand: Annotated[float, Field(ge=DEMAND_RANGE[0], le=DEMAND_RANGE[1])] = 1.0
    surge: SurgeLever | None = None
    beds: dict[str, Annotated[int, Field(ge=0, le=MAX_BEDS)]] = Field(default_factory=dict)
    capacity_changes: list[CapacityLever] = Field(default_factory=list)
    shift_counts: dict[str, dict[str, Annotated[int, Field(ge=0, le=MAX_STAFF)]]] = Field(
        default_factory=dict,
        description="staff group -> shift name -> count; the shift name 'count' sets a "
        "constant roster",
    )
    extra_shift: ExtraShiftLever | None = None
    length_of_stay: dict[str, Annotated[float, Field(ge=LOS_RANGE[0], le=LOS_RANGE[1])]] = Field(
        default_factory=dict, description="place -> multiplier of the stays of its stages"
    )
    delayed_share: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="stage -> share of patients with a delayed discharge"
    )
    before_noon_share: dict[str, Annotated[float, Field(ge=0.01, le=0.99)]] = Field(
        default_factory=dict, description="stage -> share of discharges before 12:00"
    )
    weekend_share: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="stage -> share of ready patients let go on Saturdays and Sundays",
    )


def check_levers(baseline: Scenario, levers: Levers) -> list[str]:
    """Problems with ``levers`` against ``baseline``: names it does not have, closures of more
    beds than there are, an extra shift for a group with a constant count. Empty when fine."""
    out: list[str] = []
    limited = {n for n, p in baseline.places.items() if not p.unlimited}
    for place in levers.beds:
        if place not in limited:
            out.append(f"beds: '{place}' is not a place with a number of beds")
    for ch in levers.capacity_changes:
        if ch.place not in limited:
            out.append(f"capacity change: '{ch.place}' is not a place with a number of beds")
    for group, shifts in levers.shift_counts.items():
        staff = baseline.staff.get(group)
        if staff is None:
            out.append(f"staff: no staff group '{group}'")
            continue
        known = (
            set(staff.shifts) if staff.shifts else ({"count"} if staff.count is not None else set())
        )
        out += [f"staff: '{group}' has no shift '{s}'" for s in shifts if s not in known]
    if levers.extra_shift is not None:
        staff = baseline.staff.get(levers.extra_shift.staff)
        if staff is None:
            out.append(f"extra shift: no staff group '{levers.extra_shift.staff}'")
        elif staff.count is not None:
            out.append(
                f"extra shift: '{levers.extra_shift.staff}' has a constant count; "
                "change the count instead"
            )
    for place in levers.length_of_stay:
        if place not in baseline.places:
            out.append(f"length of stay: no place '{place}'")
    for kind, values, attr in (
        ("delayed discharge", levers.delayed_share, "delayed_discharge"),
        ("discharge before noon", levers.before_noon_share, "discharge_window"),
        ("weekend discharge", levers.weekend_share, "discharge_window"),
    ):
        for stage in values:
            if getattr(baseline.stages.get(stage), attr, None) is None:
                out.append(f"{kind}: stage '{stage}' has no {attr.replace('_', ' ')}")
    for stage, share in levers.before_noon_share.items():
        window = getattr(baseline.stages.get(stage), "discharge_window", None)
        if window is not None and 0 in (sum(window.hours[:12]), sum(window.hours[12:])):
            out.append(
                f"discharge before noon: stage '{stage}' discharges only on one side of "
                f"noon, so its share cannot be moved to {share:.0%}"
            )
    return out


def lever_defaults(baseline: Scenario, name: str = "my_change") -> Levers:
    """Levers set to the baseline's own values: they build an overlay that changes nothing."""
    return Levers(
        name=name,
        beds={n: int(p.capacity) for n, p in baseline.places.items() if not p.unlimited},
        shift_counts={
            g: (
                {n: sh.count for n, sh in st.shifts.items()}
                if st.shifts
                else {"count": int(st.count or 0)}
            )
            for g, st in baseline.staff.items()
            if st.shifts or st.count is not None
        },
        delayed_share={
            n: s.delayed_discharge.share
            for n, s in baseline.stages.items()
            if s.delayed_discharge is not None
        },
        before_noon_share={
            n: before_noon(s.discharge_window.hours)
            for n, s in baseline.stages.items()
            if s.discharge_window is not None and 0 < before_noon(s.discharge_window.hours) < 1
        },
        weekend_share={
            n: _weekend(s.discharge_window.days)
            for n, s in baseline.stages.items()
            if s.discharge_window is not None
        },
    )


def admitted_places(baseline: Scenario) -> list[str]:
    """Assessment-unit and ward places: where a length-of-stay lever means something."""
    return [n for n, p in baseline.places.items() if p.area in ADMITTED_AREAS]


def before_noon(hours: list[float]) -> float:
    """Share of a discharge window's weights before 12:00."""
    total = sum(hours)
    return round(sum(hours[:12]) / total, 4) if total else 0.0


def _weekend(days: dict[Any, float]) -> float:
    return round((days.get("Sat", 1.0) + days.get("Sun", 1.0)) / 2, 4)


def build_overlay(baseline: Scenario, levers: Levers, extends: str) -> dict[str, Any]:
    """The overlay (plain data) that applies ``levers`` to ``baseline``, which is read from the
    file ``extends`` (relative to where the overlay is saved). Only changed fields are written.

    Raises ``ValueError`` listing the problems of :func:`check_levers`.
    """
    problems = check_levers(baseline, levers)
    if problems:
        raise ValueError("; ".join(problems))
    out: dict[str, Any] = {"extends": extends, "name": levers.name}
    out["description"] = levers.description or describe(baseline, levers)

    arrivals: dict[str, Any] = {}
    for name, stream in baseline.arrivals.items():
        entry: dict[str, Any] = {}
        if levers.demand != 1.0:
            entry["per_day"] = round(stream.per_day * levers.demand, 4)
        if levers.surge is not None:
            entry["surges"] = {
                f"{LEVER_PREFIX}surge": {
                    "from": levers.surge.start,
                    "to": levers.surge.end,
                    "factor": levers.surge.factor,
                }
            }
        if entry:
            arrivals[name] = entry

    places: dict[str, Any] = {}
    for name, beds in levers.beds.items():
        if beds != baseline.places[name].capacity:
            places.setdefault(name, {})["capacity"] = beds
    for i, ch in enumerate(levers.capacity_changes, 1):
        if ch.change:
            key = f"{LEVER_PREFIX}{'closure' if ch.change < 0 else 'escalation'}_{i}"
            places.setdefault(ch.place, {}).setdefault("changes", {})[key] = {
                "from": ch.start,
                "to": ch.end,
                "change": ch.change,
            }

    staff: dict[str, Any] = {}
    for group, counts in levers.shift_counts.items():
        roster = baseline.staff[group]
        for shift, count in counts.items():
            if shift == "count" and not roster.shifts:
                if count != roster.count:
                    staff.setdefault(group, {})["count"] = count
            elif count != roster.shifts[shift].count:
                staff.setdefault(group, {}).setdefault("shifts", {})[shift] = {"count": count}
    if levers.extra_shift is not None:
        staff.setdefault(levers.extra_shift.staff, {}).update(
            _extra_shift(baseline, levers.extra_shift)
        )

    stages: dict[str, Any] = {}
    for name, stage in baseline.stages.items():
        entry = {}
        factor = levers.length_of_stay.get(stage.place or "", 1.0)
        if factor != 1.0:
            entry["duration"] = scaled(stage.duration, factor)
            if stage.duration_by_class:
                entry["duration_by_class"] = {
                    c: scaled(d, factor) for c, d in stage.duration_by_class.items()
                }
            if stage.duration_by_next:
                entry["duration_by_next"] = {
                    t: scaled(d, factor) for t, d in stage.duration_by_next.items()
                }
        dd = stage.delayed_discharge
        if (
            dd is not None
            and name in levers.delayed_share
            and levers.delayed_share[name] != dd.share
        ):
            entry["delayed_discharge"] = {"share": levers.delayed_share[name]}
        window = stage.discharge_window
        if window is not None:
            w: dict[str, Any] = {}
            share = levers.before_noon_share.get(name)
            if share is not None and share != before_noon(window.hours):
                w["hours"] = reweighted(window.hours, share)
            weekend = levers.weekend_share.get(name)
            if weekend is not None and weekend != _weekend(window.days):
                w["days"] = {**window.days, "Sat": weekend, "Sun": weekend}
            if w:
                entry["discharge_window"] = w
        if entry:
            stages[name] = entry

    for key, part in (
        ("arrivals", arrivals),
        ("places", places),
        ("staff", staff),
        ("stages", stages),
    ):
        if part:
            out[key] = part
    return out


def _extra_shift(baseline: Scenario, lever: ExtraShiftLever) -> dict[str, Any]:
    roster = baseline.staff[lever.staff]
    if roster.shifts:
        return {
            "shifts": {
                f"{LEVER_PREFIX}extra": {
                    "start": f"{lever.start:02d}:00",
                    "end": f"{lever.end:02d}:00",
                    "count": lever.count,
                }
            }
        }
    # An hourly roster: add the shift's staff to the hours it covers, on every day's list.
    end = lever.end if lever.end > lever.start else lever.end + 24
    covered = {h % 24 for h in range(lever.start, end)}
    # A shift past midnight covers the early hours of the next day; a roster by hour of day has
    # the same hours every day, so adding to each day's early hours is the same thing.
    out: dict[str, Any] = {}
    assert roster.per_hour is not None
    out["per_hour"] = [c + lever.count * (h in covered) for h, c in enumerate(roster.per_hour)]
    if roster.per_hour_on:
        out["per_hour_on"] = {
            d: [c + lever.count * (h in covered) for h, c in enumerate(v)]
            for d, v in roster.per_hour_on.items()
        }
    return out


_TIME_FIELDS = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("mean", "sd"),
    "gamma": ("mean", "sd"),
    "erlang": ("mean",),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
}


def scaled(dist: Any, factor: float) -> dict[str, Any]:
    """A distribution with every duration multiplied by ``factor``, as overlay data (the whole
    mapping, so that it replaces the baseline's)."""
    data: dict[str, Any] = {"dist": dist.dist}
    if isinstance(dist, Empirical):
        data["values"] = [_minutes(v * factor) for v in dist.values]
        if dist.weights is not None:
            data["weights"] = list(dist.weights)
        return data
    for k in ("k",):
        if hasattr(dist, k):
            data[k] = getattr(dist, k)
    for field in _TIME_FIELDS[dist.dist]:
        data[field] = _minutes(getattr(dist, field) * factor)
    return data


def _minutes(m: float) -> str:
    # Four significant figures in the largest whole unit: "5.58d", "2.75h", "12.5min".
    for unit, size in (("d", 1440.0), ("h", 60.0)):
        if m >= size:
            return f"{m / size:.4g}{unit}"
    return f"{m:.4g}min"


def reweighted(hours: list[float], share: float) -> list[float]:
    """Discharge-hour weights with ``share`` of them before 12:00, keeping the shape within the
    morning and within the afternoon."""
    am, pm = sum(hours[:12]), sum(hours[12:])
    out = [h * share / am for h in hours[:12]] + [h * (1 - share) / pm for h in hours[12:]]
    return [round(x * 24, 4) for x in out]  # weights averaging 1 read more easily


def describe(baseline: Scenario, levers: Levers) -> str:
    """A sentence for people saying what the levers change."""
    parts = []
    if levers.demand != 1.0:
        parts.append(f"demand x{levers.demand:g}")
    if levers.surge is not None:
        parts.append(
            f"a surge x{levers.surge.factor:g} from {levers.surge.start} to {levers.surge.end}"
        )
    for name, beds in levers.beds.items():
        if beds != baseline.places[name].capacity:
            parts.append(f"{name} {beds} beds")
    for ch in levers.capacity_changes:
        if ch.change:
            parts.append(f"{ch.change:+d} {ch.place} from {ch.start} to {ch.end}")
    for group, counts in levers.shift_counts.items():
        roster = baseline.staff[group]
        for shift, count in counts.items():
            base = (
                roster.count
                if shift == "count" and not roster.shifts
                else roster.shifts[shift].count
            )
            if count != base:
                parts.append(f"{group} {shift} {count} (was {base})")
    if levers.extra_shift is not None:
        x = levers.extra_shift
        parts.append(f"{x.count} more {x.staff} {x.start:02d}:00-{x.end:02d}:00")
    for place, f in levers.length_of_stay.items():
        if f != 1.0:
            parts.append(f"{place} length of stay x{f:g}")
    for stage, share in levers.delayed_share.items():
        dd = baseline.stages[stage].delayed_discharge
        if dd is not None and share != dd.share:
            parts.append(f"{stage} delayed discharges {share:.0%}")
    for stage, share in levers.before_noon_share.items():
        window = baseline.stages[stage].discharge_window
        if window is not None and share != before_noon(window.hours):
            parts.append(f"{stage} discharges before noon {share:.0%}")
    for stage, share in levers.weekend_share.items():
        window = baseline.stages[stage].discharge_window
        if window is not None and share != _weekend(window.days):
            parts.append(f"{stage} weekend discharging {share:.0%}")
    return ("The baseline with " + "; ".join(parts) + ".") if parts else "The baseline unchanged."


def overlay_yaml(overlay: dict[str, Any], schema: str = "flowsim.schema.json") -> str:
    """The overlay as a scenario file, with a header saying where to save it and how to run it."""
    name = overlay.get("name", "my_change")
    header = (
        f"# yaml-language-server: $schema={schema}\n"
        f"# Built with the flowsim app. Save it as scenarios/{name}.yaml (beside the file\n"
        f"# it extends) and run it with:  flowsim run scenarios/{name}.yaml\n"
    )
    return header + dump_yaml(overlay)


__all__ = [
    "CapacityLever",
    "ExtraShiftLever",
    "Levers",
    "SurgeLever",
    "admitted_places",
    "build_overlay",
    "check_levers",
    "describe",
    "lever_defaults",
    "overlay_yaml",
]
