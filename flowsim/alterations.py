"""What a change alters: the differences between a resolved change and its resolved baseline,
in plain words labelled with the places', stages' and staff groups' own labels.

Each difference is one short line a manager can read beside the result, e.g. "Acute medical unit
beds: 64 → 76" or "Triage: 60% of patients go to UTC assessment instead of minors assessment".
What is not described in particular words (a rarely changed field) still gives a line saying
which field changed, so that no difference is ever silent. Names and descriptions are not
differences: they say what a scenario is, not how the hospital runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .scenario import (
    WEEKDAYS,
    ArrivalStream,
    CapacityChange,
    DischargeWindow,
    PatientClass,
    Place,
    Scenario,
    Shift,
    Staff,
    Stage,
)

ARROW = "→"
_ACRONYMS = {"ed", "sdec", "amu", "utc", "gp", "icu", "ccu", "ae", "lwbs", "mau", "cdu"}


def alterations(change: Scenario, baseline: Scenario) -> list[str]:
    """The differences of ``change`` from ``baseline`` in plain words, one line each, in the
    order of a scenario file (run settings, arrivals, places, staff, stages, classes); empty
    when they run the same hospital the same way."""
    names = _Names(change, baseline)
    lines: list[str] = []
    lines += _run_lines(change, baseline)
    lines += _each(change.arrivals, baseline.arrivals, names.arrivals, _arrival_lines, names)
    lines += _each(change.places, baseline.places, names.place, _place_lines, names)
    lines += _each(change.staff, baseline.staff, names.staff, _staff_lines, names)
    lines += _each(change.stages, baseline.stages, names.stage, _stage_lines, names)
    lines += _each(change.classes, baseline.classes, names.cls, _class_lines, names)
    return lines


def alterations_text(change: Scenario, baseline: Scenario, none: str = "") -> str:
    """:func:`alterations` joined into one sentence with semicolons (``none`` if there are none)."""
    lines = alterations(change, baseline)
    return "; ".join(lines) if lines else none


# -- names -----------------------------------------------------------------------------------
def humanise(name: str) -> str:
    """A machine name as words (``sdec_assessment`` -> ``SDEC assessment``)."""
    words = [w.upper() if w.lower() in _ACRONYMS else w for w in name.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class _Names:
    """Labels for people, taken from whichever scenario defines the thing (the change first)."""

    def __init__(self, change: Scenario, baseline: Scenario) -> None:
        self.c, self.b = change, baseline

    def _label(self, kind: str, name: str) -> str:
        for s in (self.c, self.b):
            item = getattr(s, kind).get(name)
            given = str(getattr(item, "label", "")) if item is not None else ""
            if given:
                return given
        return humanise(name)

    def place(self, name: str) -> str:
        return self._label("places", name)

    def staff(self, name: str) -> str:
        return self._label("staff", name)

    def stage(self, name: str) -> str:
        return "Leaving" if name == "exit" else self._label("stages", name)

    def target(self, name: str) -> str:
        """A stage named inside a sentence: a made-up label starts in lower case."""
        text = self.stage(name)
        given = any(getattr(s.stages.get(name), "label", "") for s in (self.c, self.b))
        first = text.split(" ", 1)[0]
        return text if given or first.isupper() else text[:1].lower() + text[1:]

    def cls(self, name: str) -> str:
        label = self._label("classes", name)
        return name if label == humanise(name) else f"{name} ({label})"

    def arrivals(self, name: str) -> str:
        return f"{humanise(name)} arrivals"


def _each(
    new: Mapping[str, Any],
    old: Mapping[str, Any],
    called: Callable[[str], str],
    lines_for: Callable[[str, Any, Any, _Names], Iterator[str]],
    names: _Names,
) -> list[str]:
    out: list[str] = []
    for key in dict.fromkeys([*old, *new]):
        if key not in new:
            out.append(f"{called(key)}: removed")
        elif key not in old:
            out.append(f"{called(key)}: added ({_new_item(new[key], names)})")
        elif new[key] != old[key]:
            found = list(lines_for(key, new[key], old[key], names))
            out += found or [f"{called(key)}: changed"]
    return out


def _new_item(item: object, names: _Names) -> str:
    if isinstance(item, Place):
        return f"{_capacity(item.capacity)}" + (
            f", open {_hours(item.open_hours)}" if item.open_hours else ""
        )
    if isinstance(item, Staff):
        return f"{_number(weekly_staff_hours(item))} staff-hours a week"
    if isinstance(item, Stage):
        where = f" in {names.place(item.place)}" if item.place else ""
        return f"mean {duration_words(item.duration.expected())}{where}"
    if isinstance(item, ArrivalStream):
        return f"{_number(item.per_day)} a day"
    if isinstance(item, PatientClass):
        return f"priority {item.priority}"
    return "new"


# -- formatting ------------------------------------------------------------------------------
def duration_words(minutes: float) -> str:
    """A duration as people say it: minutes up to 120, then hours and minutes, then days
    (from two days)."""
    if minutes <= 120:  # as the app's headline says them
        return f"{minutes:.0f} min" if minutes == round(minutes) else f"{minutes:.1f} min"
    if minutes < 2 * 1440:
        h, m = divmod(round(minutes), 60)
        return f"{h} h" if m == 0 else f"{h} h {m} min"
    return f"{minutes / 1440:.3g} days"


def _number(x: float) -> str:
    if x == round(x):
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%" if abs(100 * p - round(100 * p)) < 1e-9 else f"{100 * p:.1f}%"


def _capacity(c: int | str) -> str:
    return "unlimited" if c == "unlimited" else f"{c:,}"


def _clock(h: float) -> str:
    return f"{int(h):02d}:{round((h % 1) * 60):02d}"


def _days(days: Sequence[str]) -> str:
    if list(days) == list(WEEKDAYS):
        return "every day"
    if list(days) == list(WEEKDAYS[:5]):
        return "Mon–Fri"
    return ", ".join(days)


def _hours(o: Any) -> str:
    return f"{_clock(o.start)}–{_clock(o.end)} {_days(o.days)}"


def _date(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


def _dated(c: CapacityChange | Any) -> str:
    span = f"{_date(c.start)} to {_date(c.end)}"
    if isinstance(c, CapacityChange):
        what = f"{c.change:+,}" if c.change is not None else f"set to {c.to_capacity:,}"
        return f"{what} from {span}"
    return f"×{c.factor:g} from {span}"


def _fields_changed(new: BaseModel, old: BaseModel, handled: set[str]) -> list[str]:
    return [
        f
        for f in type(new).model_fields
        if f not in handled and f != "label" and getattr(new, f) != getattr(old, f)
    ]


def _other(who: str, fields: list[str]) -> Iterator[str]:
    for f in fields:
        yield f"{who}: {f.replace('_', ' ')} changed"


# -- run settings ----------------------------------------------------------------------------
def _run_lines(c: Scenario, b: Scenario) -> Iterator[str]:
    if c.start != b.start:
        yield f"Start date: {_date(b.start)} {ARROW} {_date(c.start)}"
    if c.run.warmup != b.run.warmup:
        yield f"Warm-up: {_d(b.run.warmup)} {ARROW} {_d(c.run.warmup)}"
    if c.run.length != b.run.length:
        yield f"Measured period: {_d(b.run.length)} {ARROW} {_d(c.run.length)}"
    if c.run.replications != b.run.replications:
        yield f"Replications: {b.run.replications} {ARROW} {c.run.replications}"
    if c.run.seed != b.run.seed:
        yield f"Random seed: {b.run.seed} {ARROW} {c.run.seed}"


def _d(minutes: float) -> str:
    return f"{minutes / 1440:g} days"


# -- arrivals --------------------------------------------------------------------------------
def _arrival_lines(key: str, n: ArrivalStream, o: ArrivalStream, names: _Names) -> Iterator[str]:
    who = names.arrivals(key)
    if n.per_day != o.per_day:
        change = (n.per_day - o.per_day) / o.per_day if o.per_day else None
        rel = f" ({change:+.0%})" if change is not None else ""
        yield f"{who}: {_number(o.per_day)} {ARROW} {_number(n.per_day)} a day{rel}"
    if n.hourly_profile != o.hourly_profile:
        yield f"{who}: pattern over the day changed (peak hour {_peak(o)} {ARROW} {_peak(n)})"
    if n.weekday_factors != o.weekday_factors:
        yield f"{who}: pattern over the week changed"
    yield from _dated_lines(who, "surge", n.surges, o.surges)
    if n.class_mix != o.class_mix:
        parts = [
            f"{names.cls(k)} {_pct(o.class_mix.get(k, 0))} {ARROW} {_pct(n.class_mix.get(k, 0))}"
            for k in dict.fromkeys([*o.class_mix, *n.class_mix])
            if o.class_mix.get(k, 0) != n.class_mix.get(k, 0)
        ]
        yield f"{who}: mix {', '.join(parts)}"
    if n.first_stage != o.first_stage:
        first, before = names.target(n.first_stage), names.target(o.first_stage)
        yield f"{who}: start at {first} instead of {before}"
    if n.handover != o.handover:
        yield f"{who}: {'now' if n.handover else 'no longer'} arrive by ambulance"
    handled = {"per_day", "hourly_profile", "weekday_factors", "surges", "class_mix"}
    yield from _other(who, _fields_changed(n, o, handled | {"first_stage", "handover"}))


def _peak(a: ArrivalStream) -> str:
    h = max(range(24), key=lambda i: a.hourly_profile[i])
    return f"{h:02d}:00"


def _dated_lines(
    who: str, kind: str, new: Mapping[str, Any], old: Mapping[str, Any]
) -> Iterator[str]:
    for k in dict.fromkeys([*old, *new]):
        called = humanise(k).lower()
        if k not in new:
            yield f"{who}: {kind} '{called}' removed ({_dated(old[k])})"
        elif k not in old:
            yield f"{who}: {kind} '{called}' added ({_dated(new[k])})"
        elif new[k] != old[k]:
            yield f"{who}: {kind} '{called}' {_dated(old[k])} {ARROW} {_dated(new[k])}"


# -- places ----------------------------------------------------------------------------------
def _place_lines(key: str, n: Place, o: Place, names: _Names) -> Iterator[str]:
    who = names.place(key)
    if n.capacity != o.capacity:
        yield f"{who}: {_capacity(o.capacity)} {ARROW} {_capacity(n.capacity)}"
    if n.open_hours != o.open_hours:
        old = _hours(o.open_hours) if o.open_hours else "always"
        new = _hours(n.open_hours) if n.open_hours else "always"
        yield f"{who}: open {old} {ARROW} {new}"
    yield from _dated_lines(who, "capacity change", n.changes, o.changes)
    if n.queue != o.queue:
        words = {"priority": "most urgent first", "first_come": "first come, first served"}
        yield f"{who}: who gets a free place {words[o.queue]} {ARROW} {words[n.queue]}"
    if n.area != o.area:
        yield f"{who}: counted as {o.area} {ARROW} {n.area}"
    yield from _other(who, _fields_changed(n, o, {"capacity", "open_hours", "changes", "queue"}))


# -- staff -----------------------------------------------------------------------------------
def weekly_staff_hours(s: Staff) -> float:
    """Staff-hours rostered in an ordinary week (dated changes aside)."""
    if s.count is not None:
        return 168.0 * s.count
    if s.per_hour is not None:
        return float(sum(sum(s.per_hour_on.get(d, s.per_hour)) for d in WEEKDAYS))
    return sum(_shift_hours(sh) * sh.count * len(sh.days) for sh in s.shifts.values())


def _shift_hours(sh: Shift) -> float:
    return (sh.end - sh.start) % 24 or 24.0


def _shift(sh: Shift) -> str:
    return f"{_clock(sh.start)}–{_clock(sh.end)}, {sh.count} {_days(sh.days)}"


def _staff_lines(key: str, n: Staff, o: Staff, names: _Names) -> Iterator[str]:
    who = names.staff(key)
    before, after = weekly_staff_hours(o), weekly_staff_hours(n)
    if n.count is not None and o.count is not None:
        if n.count != o.count:
            yield f"{who}: {o.count} {ARROW} {n.count} on duty"
    elif n.shifts and o.shifts:
        for k in dict.fromkeys([*o.shifts, *n.shifts]):
            called = humanise(k).lower()
            if k not in n.shifts:
                yield f"{who}: {called} shift removed ({_shift(o.shifts[k])})"
            elif k not in o.shifts:
                yield f"{who}: {called} shift added ({_shift(n.shifts[k])})"
            elif n.shifts[k] != o.shifts[k]:
                yield f"{who}: {called} shift {_shift(o.shifts[k])} {ARROW} {_shift(n.shifts[k])}"
    elif (n.per_hour, n.per_hour_on) != (o.per_hour, o.per_hour_on) or n.shifts != o.shifts:
        yield f"{who}: roster changed"
    if before != after:
        yield f"{who}: {_number(before)} {ARROW} {_number(after)} staff-hours a week"
    yield from _dated_lines(who, "change", n.changes, o.changes)
    handled = {"count", "per_hour", "per_hour_on", "shifts", "changes"}
    yield from _other(who, _fields_changed(n, o, handled))


# -- stages ----------------------------------------------------------------------------------
def _stage_lines(key: str, n: Stage, o: Stage, names: _Names) -> Iterator[str]:
    who = names.stage(key)
    if n.place != o.place:
        yield f"{who}: in {_place_or(o.place, names)} {ARROW} {_place_or(n.place, names)}"
    if n.staff != o.staff:
        yield f"{who}: seen by {_staff_or(o.staff, names)} {ARROW} {_staff_or(n.staff, names)}"
    if n.duration != o.duration:
        yield _duration_line(who, n.duration, o.duration)
    for c in dict.fromkeys([*o.duration_by_class, *n.duration_by_class]):
        dn, do = n.duration_for(c), o.duration_for(c)
        if dn != do:
            yield _duration_line(f"{who} ({names.cls(c)})", dn, do)
    for t in dict.fromkeys([*o.duration_by_next, *n.duration_by_next]):
        dn, do = n.duration_by_next.get(t, n.duration), o.duration_by_next.get(t, o.duration)
        if dn != do:
            to = names.target(t)
            to = to if to.split(" ", 1)[0].isupper() else to[:1].lower() + to[1:]
            yield _duration_line(f"{who}, before {to}", dn, do)
    if n.next != o.next:
        yield _routing_line(who, "patients", n.next, o.next, names)
    for c in dict.fromkeys([*o.next_by_class, *n.next_by_class]):
        rn, ro = n.routing_for(c), o.routing_for(c)
        if rn != ro:
            yield _routing_line(who, f"{names.cls(c)} patients", rn, ro, names)
    if n.overflow != o.overflow:
        old = names.target(o.overflow) if o.overflow else "none"
        new = names.target(n.overflow) if n.overflow else "none"
        yield f"{who}: when full, go to {old} {ARROW} {new}"
    if n.leave_without_being_seen != o.leave_without_being_seen:
        yield f"{who}: leaving without being seen changed"
    if n.delayed_discharge != o.delayed_discharge:
        yield from _delayed_lines(who, n, o)
    if n.discharge_window != o.discharge_window:
        yield from _window_lines(who, n.discharge_window, o.discharge_window)
    handled = {
        "place",
        "staff",
        "duration",
        "duration_by_class",
        "duration_by_next",
        "next",
        "next_by_class",
        "overflow",
        "leave_without_being_seen",
        "delayed_discharge",
        "discharge_window",
    }
    yield from _other(who, _fields_changed(n, o, handled))


def _place_or(p: str | None, names: _Names) -> str:
    return names.place(p) if p else "the same place"


def _staff_or(s: str | None, names: _Names) -> str:
    return names.staff(s) if s else "nobody"


def _duration_line(who: str, n: Any, o: Any) -> str:
    mn, mo = n.expected(), o.expected()
    if mn != mo:
        return f"{who}: mean time {duration_words(mo)} {ARROW} {duration_words(mn)}"
    return f"{who}: spread of times changed (same mean, {duration_words(mn)})"


def _routing_line(
    who: str, patients: str, n: Mapping[str, float], o: Mapping[str, float], names: _Names
) -> str:
    # An empty routing means "leave": read it as everyone to exit, so a move is shown as one.
    n = n or {"exit": 1.0}
    o = o or {"exit": 1.0}
    delta = {t: n.get(t, 0.0) - o.get(t, 0.0) for t in dict.fromkeys([*o, *n])}
    up = [t for t, d in delta.items() if d > 1e-12]
    down = [t for t, d in delta.items() if d < -1e-12]
    if len(up) == 1 and len(down) == 1 and abs(delta[up[0]] + delta[down[0]]) < 1e-9:
        to, instead = up[0], down[0]
        move = "leave" if to == "exit" else f"go to {names.target(to)}"
        rather = "going to " if to == "exit" else ""
        return (
            f"{who}: {_pct(delta[to])} of {patients} {move} "
            f"instead of {rather}{names.target(instead)}"
        )
    moves = [
        f"{names.stage(t)} {_pct(o.get(t, 0.0))} {ARROW} {_pct(n.get(t, 0.0))}" for t in up + down
    ]
    return f"{who}: where {patients} go next: {', '.join(moves)}"


def _delayed_lines(who: str, n: Stage, o: Stage) -> Iterator[str]:
    dn, do = n.delayed_discharge, o.delayed_discharge
    share_n = dn.share if dn else 0.0
    share_o = do.share if do else 0.0
    if share_n != share_o:
        yield f"{who}: delayed discharges {_pct(share_o)} {ARROW} {_pct(share_n)} of patients"
    if dn and do and dn.delay != do.delay:
        yield _duration_line(f"{who}: delayed discharge", dn.delay, do.delay).replace(
            ": mean time", " mean wait", 1
        )


def before_noon(w: DischargeWindow | None) -> float:
    """The share of a discharge window's weight before midday (1 when there is no window)."""
    if w is None:
        return 1.0  # no window: patients leave whenever they are ready
    return sum(w.hours[:12]) / sum(w.hours)


def _window_lines(who: str, n: DischargeWindow | None, o: DischargeWindow | None) -> Iterator[str]:
    if n is None or o is None:
        yield f"{who}: discharge hours {'removed' if n is None else 'added'}"
        return
    if n.hours != o.hours:
        yield (
            f"{who}: discharges before midday {_pct(before_noon(o))} {ARROW} {_pct(before_noon(n))}"
        )
    changed = [
        d for d in WEEKDAYS if n.day_share(WEEKDAYS.index(d)) != o.day_share(WEEKDAYS.index(d))
    ]
    if changed:
        parts = [
            f"{d} {_pct(o.day_share(WEEKDAYS.index(d)))} {ARROW} "
            f"{_pct(n.day_share(WEEKDAYS.index(d)))}"
            for d in changed
        ]
        yield f"{who}: share of patients ready to go who leave that day: {', '.join(parts)}"


# -- classes ---------------------------------------------------------------------------------
def _class_lines(key: str, n: PatientClass, o: PatientClass, names: _Names) -> Iterator[str]:
    if n.priority != o.priority:
        yield f"{names.cls(key)}: priority {o.priority} {ARROW} {n.priority}"
