"""The scenario: a validated, frozen description of one pathway network and how to run it.

A scenario says who arrives (arrival streams and their patient classes), where they can be
(places with capacity), who sees them (staff rosters), what happens to them (stages with
durations and routing) and how long to simulate. It holds data only: the engine builds its own
SimPy objects from it. Field checks live on the models; checks that need the whole network
(routes that point nowhere, paths that never end, blocking cycles that could deadlock) live in
:func:`network_problems`, which returns every problem it finds with the field path it concerns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from .distributions import Distribution, Minutes
from .durations import DURATION_HINT
from .errors import FlowsimError

MAX_RUN_DAYS = 3_660
"""The longest run length or warm-up, in days (ten years: trusts plan one winter to a few
years ahead)."""

Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
AREAS: tuple[str, ...] = ("ed", "sdec", "assessment", "ward", "other")
ADMITTED_AREAS: frozenset[str] = frozenset({"assessment", "ward"})
EXIT = "exit"
"""The reserved routing target for leaving the modelled system (home, transfer, death)."""

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_NAME_CHARS = 64
"""The longest name (of a scenario, stage, place...): a scenario's name becomes a file name, and
names head tables and charts."""
MAX_ITEMS = 500
"""The most stages, places, staff groups, classes or arrival streams in one scenario (the
largest trust's pathway has a few dozen of each)."""
MAX_DATED = 100
"""The most dated surges or capacity changes on one arrival stream, place or staff group, and the
most shifts in one roster."""
MAX_PER_DAY = 100_000
"""The most arrivals a day by one stream (the largest English ED sees about 1,000)."""
MAX_SURGE = 100.0
"""The largest surge factor (the worst winter days are about 1.5 times an ordinary day)."""
MAX_COUNT = 100_000
"""The largest capacity or staff count (the largest hospital has about 2,500 beds)."""
Name = Annotated[
    str,
    Field(
        pattern=_NAME,
        max_length=MAX_NAME_CHARS,
        description=f"a name of letters, digits and _ (at most {MAX_NAME_CHARS} characters)",
    ),
]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Probability = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class WholeTable:
    """Marks a table of shares that sum to 1 (routing, a class mix). A change file that gives
    such a table replaces the base's table whole: merged key by key, ``{exit: 0.9, sdec: 0.1}``
    would keep the base's other routes and no longer sum to 1. The loader finds every field
    marked so (:func:`flowsim.loader.whole_table_paths`), so a new table only needs the mark."""

    def __repr__(self) -> str:
        return "WholeTable()"


WHOLE_TABLE = WholeTable()
ShareTable = Annotated[dict[Name, Probability], WHOLE_TABLE]
"""Shares by name that must sum to 1, replaced whole by an overlay."""


def _clock_hours(value: object) -> object:
    """Read ``"08:30"`` as 8.5 hours after midnight; numbers are hours already."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
        hours, minutes = (int(m.group(1)), int(m.group(2))) if m else (99, 99)
        if hours > 24 or minutes > 59 or (hours == 24 and minutes > 0):
            raise ValueError(f"expected a clock time such as 08:00 or 22:30, got {value!r}")
        return hours + minutes / 60
    return value


ClockTime = Annotated[
    float,
    BeforeValidator(_clock_hours),
    Field(ge=0, le=24, description="a clock time such as 08:00 (or hours after midnight)"),
    PlainSerializer(lambda h: f"{int(h):02d}:{round((h % 1) * 60):02d}", return_type=str),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DateRange(_Frozen):
    """Whole days ``from`` one date ``to`` another, both included."""

    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self


class Surge(DateRange):
    """Demand multiplied by ``factor`` on the days of the range (a flu fortnight, a heatwave)."""

    factor: Annotated[
        float,
        Field(
            gt=0,
            le=MAX_SURGE,
            allow_inf_nan=False,
            description=f"demand multiplier on the surge days (at most {MAX_SURGE:g})",
        ),
    ]


class CapacityChange(DateRange):
    """Capacity changed on the days of the range: by ``change`` (e.g. -30 beds closed for
    norovirus, +20 escalation beds) or set ``to_capacity`` outright. Changes to the same place
    on the same day add up."""

    change: Annotated[int, Field(ge=-MAX_COUNT, le=MAX_COUNT)] | None = None
    to_capacity: Count | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CapacityChange:
        if (self.change is None) == (self.to_capacity is None):
            raise ValueError("give exactly one of 'change' (e.g. -30) or 'to_capacity'")
        return self


class PatientClass(_Frozen):
    """A kind of patient (e.g. a triage category). Lower ``priority`` is seen first."""

    priority: int = Field(default=3, ge=0)
    label: str = ""


def _finite_sum(values: list[float], what: str) -> None:
    # Each value is finite, but their sum may not be (1e308 + 1e308), and a rate divided by an
    # infinite total is silently zero.
    if not math.isfinite(sum(values)):
        raise ValueError(f"{what} add up to more than a number can hold; scale them down")


def _mapping_sums_to_one(mix: dict[str, float], what: str) -> dict[str, float]:
    total = math.fsum(mix.values())
    if mix and abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, but sums to {total:.6g}")
    return mix


class ArrivalStream(_Frozen):
    """Patients arriving by one route (ambulance, walk-in, GP referral) as a Poisson process whose
    rate follows the day of week, the hour of day (or absolute rates, ``per_hour``) and any dated
    surges. Its patients are ED attendances if they arrive by ambulance (``handover``) or their
    first stage is in an ED place."""

    per_day: Annotated[float, Field(ge=0, le=MAX_PER_DAY, allow_inf_nan=False)] = Field(
        default=0.0,
        description="mean arrivals per day over an ordinary week "
        f"(at most {MAX_PER_DAY:,}; the largest English ED sees about 1,000); with per_hour, "
        "worked out from the hourly rates unless given (given, it scales them to that mean)",
    )
    per_hour: list[NonNegative] | None = Field(
        default=None,
        min_length=24,
        max_length=24,
        description="24 mean arrivals per hour, 00:00-01:00 first, instead of per_day with "
        "hourly_profile and weekday_factors",
    )
    per_hour_on: dict[Weekday, list[NonNegative]] = Field(
        default_factory=dict,
        description="24 hourly rates for named weekdays, overriding per_hour on those days",
    )
    hourly_profile: list[NonNegative] = Field(
        default_factory=lambda: [1.0] * 24,
        min_length=24,
        max_length=24,
        description="24 relative rates, 00:00-01:00 first; only their shape matters",
    )
    weekday_factors: list[NonNegative] = Field(
        default_factory=lambda: [1.0] * 7,
        min_length=7,
        max_length=7,
        description="7 relative daily volumes, Monday first; only their shape matters",
    )
    surges: dict[Name, Surge] = Field(
        default_factory=dict, max_length=MAX_DATED, description=f"at most {MAX_DATED}"
    )
    class_mix: ShareTable = Field(min_length=1, max_length=MAX_ITEMS)
    first_stage: Name
    handover: bool = Field(
        default=False,
        description="patients arrive by ambulance: they are ED attendances from arrival, and "
        "their wait to reach the handover stage counts as ambulance handover delay",
    )

    @model_validator(mode="before")
    @classmethod
    def _per_day_or_per_hour(cls, data: object) -> object:
        # per_day is derived here from absolute hourly rates, so that everything reading per_day
        # (the budget, the demand lever, the pathway diagram) sees the stream's daily mean.
        if not isinstance(data, dict):
            return data
        if "per_hour" not in data:
            if "per_hour_on" in data:
                raise ValueError("'per_hour_on' overrides 'per_hour', which is missing")
            if "per_day" not in data:
                raise ValueError("give 'per_day' (arrivals a day) or 'per_hour' (24 hourly rates)")
            return data
        shaped = [k for k in ("hourly_profile", "weekday_factors") if k in data]
        if shaped:
            raise ValueError(
                f"'per_hour' gives absolute hourly rates, so {' and '.join(map(repr, shaped))} "
                "cannot be given too"
            )
        if "per_day" not in data:
            data = {**data, "per_day": _weekly_daily_mean(data.get("per_hour"), data)}
        return data

    @field_validator("hourly_profile", "weekday_factors", "per_hour")
    @classmethod
    def _finite_total(cls, v: list[float] | None) -> list[float] | None:
        if v is not None:
            _finite_sum(v, "the values")
        return v

    @field_validator("per_hour_on")
    @classmethod
    def _day_rates_24(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        for day, rates in v.items():
            if len(rates) != 24:
                raise ValueError(f"{day} needs 24 hourly rates, got {len(rates)}")
            _finite_sum(rates, f"the rates of {day}")
        return v

    def hour_table(self) -> list[list[float]] | None:
        """Absolute arrivals per hour, one row of 24 per weekday (Monday first), if ``per_hour``
        is given."""
        if self.per_hour is None:
            return None
        return [list(self.per_hour_on.get(d, self.per_hour)) for d in WEEKDAYS]

    @field_validator("class_mix")
    @classmethod
    def _mix_sums_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        return _mapping_sums_to_one(v, "class_mix")

    @model_validator(mode="after")
    def _profiles_not_all_zero(self) -> ArrivalStream:
        table = self.hour_table()
        if table is not None:
            if self.per_day > 0 and sum(map(sum, table)) == 0:
                raise ValueError("per_hour is all zero, so nobody could arrive")
            return self
        if self.per_day > 0 and sum(self.hourly_profile) == 0:
            raise ValueError("hourly_profile is all zero, so nobody could arrive")
        if self.per_day > 0 and sum(self.weekday_factors) == 0:
            raise ValueError("weekday_factors is all zero, so nobody could arrive")
        if self.per_day > 0:
            # The busiest hour's rate, with every surge at once: it must be a finite number.
            peak = self.per_day * (max(self.hourly_profile) * 24 / sum(self.hourly_profile))
            peak *= max(self.weekday_factors) * 7 / sum(self.weekday_factors)
            peak *= math.prod(s.factor for s in self.surges.values())
            if not math.isfinite(peak):
                raise ValueError("the busiest hour's arrival rate is too large to compute")
        return self


def _weekly_daily_mean(per_hour: object, data: dict[str, object]) -> object:
    """Mean arrivals a day over a week of ``per_hour`` rates with ``per_hour_on`` overrides, or
    ``per_hour`` itself when it is not a list of numbers (its own check then says what is wrong,
    and nothing more is said about a missing per_day)."""
    on = data.get("per_hour_on") or {}
    rows = [on.get(d, per_hour) if isinstance(on, dict) else per_hour for d in WEEKDAYS]
    try:
        total = math.fsum(float(x) for row in rows for x in row)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return 0.0
    return total / 7 if math.isfinite(total) else 0.0


class OpeningHours(_Frozen):
    """Daily hours during which a place is open (capacity is zero outside them). ``to`` before
    ``from`` runs past midnight. Patients inside at closing time are finished, not moved."""

    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)


class Place(_Frozen):
    """Somewhere a patient is: cubicles, resus bays, SDEC chairs, assessment-unit or ward beds,
    or an unlimited area such as a waiting room. A patient keeps their place until the next one
    is granted (blocking), unless the stage using it releases it on completion."""

    capacity: Count | Literal["unlimited"] = Field(
        description=f"how many at once (at most {MAX_COUNT:,}), or unlimited"
    )
    area: Literal["ed", "sdec", "assessment", "ward", "other"] = Field(
        default="other",
        description="ed places count towards time in department; assessment and ward places "
        "are admissions",
    )
    label: str = ""
    queue: Literal["priority", "first_come"] = Field(
        default="priority",
        description="who is granted a free place first: the most urgent class (ED spaces), or "
        "whoever asked first (beds, so that a decision to admit is not overtaken forever)",
    )
    open_hours: OpeningHours | None = None
    changes: dict[Name, CapacityChange] = Field(
        default_factory=dict, max_length=MAX_DATED, description=f"at most {MAX_DATED}"
    )

    @property
    def unlimited(self) -> bool:
        return self.capacity == "unlimited"

    @model_validator(mode="after")
    def _limited_if_changing(self) -> Place:
        if self.unlimited and (self.changes or self.open_hours):
            raise ValueError("an unlimited place cannot have capacity changes or opening hours")
        return self


class Shift(_Frozen):
    """``count`` staff from ``start`` to ``end`` (past midnight if ``end`` is earlier) on ``days``
    (the day the shift starts)."""

    start: ClockTime
    end: ClockTime
    count: Count
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            raise ValueError("a shift's start and end are the same time")
        return self


class Staff(_Frozen):
    """A staff group (triage nurses, ED doctors) with a weekly roster: a constant ``count``, a
    ``per_hour`` list of 24 counts (with optional weekday overrides), or named ``shifts`` that
    add up. A patient already with a clinician when a shift ends is finished (shift-change
    policy); nobody new is started until the count allows."""

    count: Count | None = None
    per_hour: list[Count] | None = Field(default=None, min_length=24, max_length=24)
    per_hour_on: dict[Weekday, list[Count]] = Field(default_factory=dict)
    shifts: dict[Name, Shift] = Field(
        default_factory=dict, max_length=MAX_DATED, description=f"at most {MAX_DATED}"
    )
    changes: dict[Name, CapacityChange] = Field(
        default_factory=dict, max_length=MAX_DATED, description=f"at most {MAX_DATED}"
    )
    label: str = ""

    @field_validator("per_hour_on")
    @classmethod
    def _day_lists_24(cls, v: dict[str, list[int]]) -> dict[str, list[int]]:
        for day, counts in v.items():
            if len(counts) != 24:
                raise ValueError(f"{day} needs 24 hourly counts, got {len(counts)}")
        return v

    @model_validator(mode="after")
    def _one_roster(self) -> Staff:
        given = [
            n
            for n, v in (
                ("count", self.count),
                ("per_hour", self.per_hour),
                ("shifts", self.shifts or None),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one roster: 'count', 'per_hour' (24 counts) or 'shifts'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.per_hour_on and self.per_hour is None:
            raise ValueError("'per_hour_on' overrides 'per_hour', which is missing")
        return self


class LeaveWithoutBeingSeen(_Frozen):
    """Patients of ``classes`` who have waited ``patience`` for this stage leave the department."""

    classes: list[Name] = Field(min_length=1, max_length=MAX_ITEMS)
    patience: Distribution


class DelayedDischarge(_Frozen):
    """A ``share`` of patients leaving from the stage are medically fit at the end of their stay
    but wait a further ``delay`` in their bed (for care elsewhere). Transfers are not delayed."""

    share: Probability
    delay: Distribution


class DischargeWindow(_Frozen):
    """When patients leaving from the stage may go (transfers to another stage are not held).
    ``hours`` are 24 relative weights (zero: nobody leaves in that hour). Each day lets a share
    ``days`` of ready patients go (1 by default), so weekend discharging at 40% of weekdays is
    ``days: {Sat: 0.4, Sun: 0.4}``. A patient's leaving hour is drawn from the weights (with a
    uniform minute) when they are ready; they leave at that time on the first day, from the
    ready day on, that is not before they are ready and that lets them go. So the share of
    discharges in each hour is the window's share, whatever the ready times."""

    hours: list[NonNegative] = Field(min_length=24, max_length=24)
    days: dict[Weekday, Probability] = Field(default_factory=dict)

    @field_validator("hours")
    @classmethod
    def _finite_hours(cls, v: list[float]) -> list[float]:
        _finite_sum(v, "the hours")
        return v

    @model_validator(mode="after")
    def _some_hour(self) -> DischargeWindow:
        if sum(self.hours) <= 0:
            raise ValueError("hours are all zero, so nobody could ever be discharged")
        if self.days and all(self.days.get(d, 1.0) == 0 for d in WEEKDAYS):
            raise ValueError("every day has share 0, so nobody could ever be discharged")
        return self

    def day_share(self, weekday: int) -> float:
        return self.days.get(WEEKDAYS[weekday], 1.0)


Routing = ShareTable


class Stage(_Frozen):
    """One step of care. The patient occupies ``place`` (or stays where they are if it is not
    given), needs one of ``staff`` (if given) for ``duration``, then moves on by ``next``
    (probabilities, ``exit`` to leave; none given means leave). A room used for one activity
    says ``release: on_completion``; a place that turns patients away when full says
    ``when_full: lost``; stays that depend on where the patient goes next are
    ``duration_by_next``."""

    place: Name | None = None
    staff: Name | None = None
    duration: Distribution
    duration_by_class: dict[Name, Distribution] = Field(default_factory=dict, max_length=MAX_ITEMS)
    next: Routing = Field(default_factory=dict, max_length=MAX_ITEMS)
    next_by_class: dict[Name, Routing] = Field(default_factory=dict, max_length=MAX_ITEMS)
    milestone: Literal["triage", "clinician", "handover"] | None = Field(
        default=None,
        description="what starting this stage means for the ED measures: triage, first "
        "clinician, or ambulance handover",
    )
    overflow: Name | None = Field(
        default=None,
        description="a stage to use instead when this stage's place is full on arrival "
        "(outlier ward, another site); if that is full too, the patient waits for whichever "
        "place along the chain frees first",
    )
    duration_by_next: dict[Name, Distribution] = Field(
        default_factory=dict,
        max_length=MAX_ITEMS,
        description="durations by where the patient goes next (a stage, or exit): the route is "
        "drawn when the stage starts, then the duration for that destination (ward stays by "
        "discharge destination); destinations not listed use duration",
    )
    release: Literal["blocking", "on_completion"] = Field(
        default="blocking",
        description="when the stage's place is given up: blocking (kept until the next place "
        "is granted: cubicles, beds) or on_completion (freed when the stage's duration ends: "
        "an examination room, x-ray)",
    )
    return_to: Literal["none", "previous"] = Field(
        default="none",
        description="with release: on_completion, where the patient is once the stage ends: "
        "none (the place they came from was given up on entering this one; they wait in no "
        "place) or previous (they keep the place they came from throughout, and are back in it)",
    )
    when_full: Literal["wait", "lost", "divert"] = Field(
        default="wait",
        description="what a patient who finds the stage's place full does: wait for it, or is "
        "turned away (lost, or divert: the same, in the word the pathway uses; they leave the "
        "system, counted in lost and lost_pct)",
    )
    leave_without_being_seen: LeaveWithoutBeingSeen | None = None
    delayed_discharge: DelayedDischarge | None = None
    discharge_window: DischargeWindow | None = None
    label: str = ""

    @model_validator(mode="after")
    def _release_options(self) -> Stage:
        if self.return_to != "none" and self.release != "on_completion":
            raise ValueError("return_to applies only with release: on_completion")
        if self.release == "on_completion" and self.place is None:
            raise ValueError("release: on_completion needs the stage to name a place")
        if self.when_full != "wait" and self.place is None:
            raise ValueError("when_full needs the stage to name a place")
        if self.when_full != "wait" and self.overflow is not None:
            raise ValueError(
                f"give when_full: {self.when_full} on the last stage of an overflow chain, not "
                "on one that overflows"
            )
        return self

    @field_validator("next")
    @classmethod
    def _next_sums(cls, v: dict[str, float]) -> dict[str, float]:
        return _mapping_sums_to_one(v, "next")

    @field_validator("next_by_class")
    @classmethod
    def _by_class_sums(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, routing in v.items():
            _mapping_sums_to_one(routing, f"next for class {name}")
        return v

    def routing_for(self, patient_class: str) -> dict[str, float]:
        return self.next_by_class.get(patient_class, self.next)

    def duration_for(self, patient_class: str) -> Distribution:
        return self.duration_by_class.get(patient_class, self.duration)


class RunSettings(_Frozen):
    """How long to simulate and how often: results are measured after ``warmup``."""

    warmup: Minutes = Field(
        default=14 * 1440.0, description=f"{DURATION_HINT}; at most {MAX_RUN_DAYS:,} days"
    )
    length: Minutes = Field(
        default=91 * 1440.0, description=f"{DURATION_HINT}; at most {MAX_RUN_DAYS:,} days"
    )
    replications: int = Field(default=10, ge=1, le=100_000)
    seed: int = Field(default=20_250_106, ge=0)

    @field_validator("length")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("the run length must be above zero")
        return v

    @field_validator("length", "warmup")
    @classmethod
    def _at_most(cls, v: float) -> float:
        if v > MAX_RUN_DAYS * 1440.0:
            raise ValueError(f"at most {MAX_RUN_DAYS:,} days (ten years) may be simulated")
        return v


class Scenario(_Frozen):
    """A whole pathway network and its run settings."""

    name: Name
    description: str = ""
    start: dt.date = Field(
        default=dt.date(2025, 1, 6),
        description="date of the first simulated day (warm-up included); weekdays and dated "
        "surges and changes fall on the right days from it",
    )
    run: RunSettings = Field(default_factory=RunSettings)
    classes: dict[Name, PatientClass] = Field(
        min_length=1, max_length=MAX_ITEMS, description=f"at most {MAX_ITEMS}"
    )
    arrivals: dict[Name, ArrivalStream] = Field(
        min_length=1, max_length=MAX_ITEMS, description=f"at most {MAX_ITEMS}"
    )
    places: dict[Name, Place] = Field(
        default_factory=dict, max_length=MAX_ITEMS, description=f"at most {MAX_ITEMS}"
    )
    staff: dict[Name, Staff] = Field(
        default_factory=dict, max_length=MAX_ITEMS, description=f"at most {MAX_ITEMS}"
    )
    stages: dict[Name, Stage] = Field(
        min_length=1, max_length=MAX_ITEMS, description=f"at most {MAX_ITEMS}"
    )

    @property
    def horizon(self) -> float:
        """Minutes from the start to the end of the run, warm-up included."""
        return self.run.warmup + self.run.length


def with_run_length(s: Scenario, days: float | None, warmup_days: float | None) -> Scenario:
    """``s`` with its run length and/or warm-up replaced (in days); ``None`` keeps its own.

    Raises :class:`~flowsim.errors.FlowsimError` past :data:`MAX_RUN_DAYS` (the copy is not
    validated again, so the bound a file keeps is checked here)."""
    for what, value in (("run length", days), ("warm-up", warmup_days)):
        if value is not None and not (0 <= value <= MAX_RUN_DAYS):
            raise FlowsimError(
                f"a {what} of {value:g} days is outside the limit of 0 to {MAX_RUN_DAYS:,} days"
            )
    update: dict[str, float] = {}
    if days is not None:
        update["length"] = days * 1440.0
    if warmup_days is not None:
        update["warmup"] = warmup_days * 1440.0
    return s.model_copy(update={"run": s.run.model_copy(update=update)})


def network_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield ``(field path, message)`` for each whole-network problem in ``s``."""
    classes, stages, places, staff = set(s.classes), set(s.stages), set(s.places), set(s.staff)
    if EXIT in stages:
        yield ("stages", EXIT), f"'{EXIT}' is reserved for leaving; name the stage otherwise"

    for name, stream in s.arrivals.items():
        for c in stream.class_mix:
            if c not in classes:
                yield ("arrivals", name, "class_mix", c), _unknown("class", c, classes)
        if stream.first_stage not in stages:
            yield ("arrivals", name, "first_stage"), _unknown("stage", stream.first_stage, stages)

    for name, stage in s.stages.items():
        at = ("stages", name)
        if stage.place is not None and stage.place not in places:
            yield at + ("place",), _unknown("place", stage.place, places)
        if stage.staff is not None and stage.staff not in staff:
            yield at + ("staff",), _unknown("staff group", stage.staff, staff)
        for c in stage.duration_by_class:
            if c not in classes:
                yield at + ("duration_by_class", c), _unknown("class", c, classes)
        for c in stage.next_by_class:
            if c not in classes:
                yield at + ("next_by_class", c), _unknown("class", c, classes)
        for key, routing in [(("next",), stage.next)] + [
            (("next_by_class", c), r) for c, r in stage.next_by_class.items()
        ]:
            for target in routing:
                if target != EXIT and target not in stages:
                    yield at + key + (target,), _unknown("stage", target, stages | {EXIT})
        routes = set(stage.next) | {t for r in stage.next_by_class.values() for t in r}
        if not stage.next:
            routes.add(EXIT)
        for target in stage.duration_by_next:
            if target not in routes:
                yield (
                    at + ("duration_by_next", target),
                    f"'{target}' is not a route from this stage (routes: "
                    f"{', '.join(sorted(routes))})",
                )
        if stage.overflow is not None:
            if stage.overflow not in stages:
                yield at + ("overflow",), _unknown("stage", stage.overflow, stages)
            elif stage.place is None or s.places.get(stage.place, None) is None:
                yield at + ("overflow",), "overflow needs the stage to name a place of its own"
            elif s.places[stage.place].unlimited:
                yield (
                    at + ("overflow",),
                    (f"place '{stage.place}' is unlimited, so it never overflows"),
                )
        if stage.leave_without_being_seen is not None:
            for i, c in enumerate(stage.leave_without_being_seen.classes):
                if c not in classes:
                    yield (
                        at + ("leave_without_being_seen", "classes", i),
                        _unknown("class", c, classes),
                    )

    if any(True for _ in _reference_problems(s)):
        return  # the graph checks below need every name to resolve
    yield from _paths_that_never_end(s)
    yield from _blocking_cycles(s)


def _reference_problems(s: Scenario) -> Iterator[None]:
    names = set(s.stages) | {EXIT}
    for stream in s.arrivals.values():
        if stream.first_stage not in s.stages:
            yield None
    for stage in s.stages.values():
        if stage.place is not None and stage.place not in s.places:
            yield None
        if stage.overflow is not None and stage.overflow not in s.stages:
            yield None
        for routing in [stage.next, *stage.next_by_class.values()]:
            if any(t not in names for t in routing):
                yield None


def places_held(s: Scenario) -> dict[str, str | None]:
    """The place a patient is in during each stage: the stage's own; for a stage with no place,
    the place the patient came from (kept until the next is granted) when every stage routed to
    it agrees and no arrival starts there; else ``None``. A place released on completion is not
    carried on, unless the patient returns to the one they came from (``return_to:
    previous``)."""
    before: dict[str, set[str]] = {name: set() for name in s.stages}
    for name, stage in s.stages.items():
        for routing in [stage.next, *stage.next_by_class.values()]:
            for target, share in routing.items():
                if share > 0 and target in before:
                    before[target].add(name)
    arriving = {a.first_stage for a in s.arrivals.values()}
    held: dict[str, str | None] = {n: st.place for n, st in s.stages.items()}
    carried: dict[str, str | None] = {}

    def came_from(name: str) -> str | None:
        froms = {carried.get(b) for b in before[name]} | ({None} if name in arriving else set())
        return froms.pop() if len(froms) == 1 else None

    for _ in range(len(s.stages)):  # enough rounds for the longest chain of stages
        for name, stage in s.stages.items():
            if stage.place is None:
                held[name] = came_from(name)
            if stage.release != "on_completion":
                carried[name] = held[name]
            else:
                carried[name] = came_from(name) if stage.return_to == "previous" else None
    return held


def _successors(stage: Stage) -> set[str]:
    out: set[str] = set()
    for routing in [stage.next, *stage.next_by_class.values()]:
        out |= {t for t, p in routing.items() if p > 0}
    if not stage.next:
        out.add(EXIT)
    if stage.overflow is not None:
        out.add(stage.overflow)
    return out


def _paths_that_never_end(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    # A stage can end if some route with positive probability reaches exit: one search backwards
    # from exit, so the work grows with the number of routes, not its square.
    before: dict[str, list[str]] = {}
    for name, stage in s.stages.items():
        for target in _successors(stage):
            before.setdefault(target, []).append(name)
    can_end = {EXIT}
    frontier = [EXIT]
    while frontier:
        for name in before.get(frontier.pop(), ()):
            if name not in can_end:
                can_end.add(name)
                frontier.append(name)
    for name in s.stages:
        if name not in can_end:
            yield (
                ("stages", name, "next"),
                (
                    f"patients reaching stage '{name}' can never leave: no route from it reaches "
                    f"'{EXIT}'"
                ),
            )


def _blocking_cycles(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Patients hold a limited place while waiting for the next one, so a cycle of limited places
    (A waits for B, B waits for A) can deadlock. Such a network is refused."""

    def limited(place: str | None) -> bool:
        return place is not None and not s.places[place].unlimited

    def routed(stage: Stage) -> set[str]:
        out: set[str] = set()
        for routing in [stage.next, *stage.next_by_class.values()]:
            out |= {t for t, p in routing.items() if p > 0 and t != EXIT}
        return out

    # A patient in place P (entered at stage S) may next wait for the place of any stage routed
    # to from S, or, where that stage overflows, of its overflow stages instead; a stage with no
    # place of its own keeps them in P, so follow on through it.
    edges: dict[str, set[str]] = {}
    for stage in s.stages.values():
        # A place released on completion is not held while waiting for the next one (with
        # return_to: previous, the place kept is followed on from the stage before).
        if not limited(stage.place) or stage.release == "on_completion":
            continue
        src = stage.place
        assert src is not None
        seen: set[str] = set()
        frontier = list(routed(stage))
        while frontier:
            t = frontier.pop()
            if t in seen:
                continue
            seen.add(t)
            target = s.stages[t]
            if target.overflow is not None:
                frontier.append(target.overflow)
            tp = target.place
            if target.release == "on_completion" and target.return_to == "previous":
                if tp is not None and tp != src and limited(tp):
                    edges.setdefault(src, set()).add(tp)
                frontier.extend(routed(target))
            elif tp is None:
                frontier.extend(routed(target))
            elif tp != src and limited(tp):
                edges.setdefault(src, set()).add(tp)
    # Find one cycle per strongly connected group, by depth-first search.
    state: dict[str, int] = {}
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(start: str) -> Iterator[list[str]]:
        # Depth-first without recursion: a chain of a thousand places must not exhaust Python's.
        state[start] = 1
        stack.append(start)
        todo = [iter(sorted(edges.get(start, ())))]
        while todo:
            q = next(todo[-1], None)
            if q is None:
                todo.pop()
                state[stack.pop()] = 2
            elif state.get(q) == 1:
                yield stack[stack.index(q) :] + [q]
            elif q not in state:
                state[q] = 1
                stack.append(q)
                todo.append(iter(sorted(edges.get(q, ()))))

    for p in sorted(edges):
        if p not in state:
            for cycle in visit(p):
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield (
                        ("places", cycle[0]),
                        (
                            "patients could deadlock: each holds a limited place while waiting for "
                            f"the next in the cycle {' -> '.join(cycle)}; make one place unlimited "
                            "or break the cycle"
                        ),
                    )


def _unknown(kind: str, name: str, known: set[str]) -> str:
    options = ", ".join(sorted(known)) or "none are defined"
    return f"unknown {kind} '{name}' (known: {options})"
