"""Writing a calibration as a scenario file: every fitted value with a comment saying how many
records it rests on, how it was fitted and how well, under a header saying what it was built
from. The text is checked by the scenario loader before it is written, all or nothing."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..loader import read_scenario_bytes, validate_data
from ..report.page import write_atomic
from ..scenario import MAX_NAME_CHARS, Scenario
from .fit import (
    CAPACITY_PERCENTILE,
    MIN_BY_DESTINATION,
    Calibration,
    FittedDuration,
    Routing,
    Unit,
    name_of,
    shares,
)

WARMUP_DAYS = 42
"""Warm-up of a calibrated scenario: wards start empty and fill in about six weeks."""
SDEC_STAY = {"dist": "lognormal", "mean": "4h", "sd": "2h"}
"""ASSUMPTION for SDEC: the log's attendances end when a patient goes to SDEC."""
_MODE_LABEL = {"ambulance": "Ambulance arrivals", "walk_in": "Walk-in arrivals"}


@dataclass
class _C:
    """A value with the comment written after it."""

    value: Any
    comment: str = ""


def _flow(value: Any) -> str:
    """A leaf value as one line of YAML (JSON is YAML; plain words are left unquoted)."""
    if isinstance(value, str) and value.replace("_", "").replace(".", "").isalnum():
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value)


def _emit(data: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for key, raw in data.items():
        item = raw if isinstance(raw, _C) else _C(raw)
        note = f"  # {item.comment}" if item.comment else ""
        if isinstance(item.value, dict) and any(
            isinstance(v, (dict, _C)) for v in item.value.values()
        ):
            out.append(f"{pad}{key}:{note}")
            _emit(item.value, indent + 1, out)
        else:
            out.append(f"{pad}{key}: {_flow(item.value)}{note}")


def _dur(f: FittedDuration) -> _C:
    return _C(f.dist, f.note)


def _routing(r: Routing, stages: dict[str, str]) -> dict[str, float]:
    return {stages.get(k, k): v for k, v in r.shares.items()}


def _unit_stage(unit: str) -> str:
    return f"{name_of(unit, 'unit').lower()}_stay"


def _handover_stage(unit: str) -> str:
    return f"{name_of(unit, 'unit').lower()}_handover"


def scenario_text(cal: Calibration, name: str, source: str) -> str:
    """The scenario file for ``cal``, as text; ``source`` names the log in the header."""
    log = cal.log
    units = cal.units
    stage_of = {f"unit:{u}": _unit_stage(u) for u in units}
    stage_of |= {u: _unit_stage(u) for u in units}
    stage_of["sdec"] = "sdec_care"
    # From the ED, an admitted patient first spends the handover time in the cubicle.
    from_ed = dict(stage_of)
    for unit_name in cal.handover:
        if unit_name in units:
            from_ed[f"unit:{unit_name}"] = from_ed[unit_name] = _handover_stage(unit_name)

    head = [
        f"# Calibrated by `flowsim calibrate` from {source}.",
        f"# Period: {log.first_day} to {log.last_day} ({log.days} days).",
    ]
    for what, n in log.rows_read.items():
        lost = sum(d.count for d in log.dropped if d.file == log.files[what])
        head.append(f"# {what}: {n:,} rows read, {lost:,} dropped.")
    if log.outside_period:
        head.append(f"# {log.outside_period:,} attendances outside --from/--to were left out.")
    for d in log.dropped:
        head.append(f"#   dropped: {d}")
    c = log.clock
    head.append(
        f"# Clock changes: {c.get('repeated_hour_first', 0):,} times in the repeated October hour "
        f"read as the first (BST), {c.get('repeated_hour_second', 0):,} as the second (GMT); "
        f"{c.get('missing_hour_shifted', 0):,} in the missing March hour read as GMT."
    )
    head.append("# Observed (outputs the model should reproduce, not inputs):")
    for k, v in cal.observed.items():
        head.append(f"#   {k}: {v:,.4g}")
    head += [
        "# Comments give each value's n (records behind it), method and fit (AIC: Akaike",
        "# information criterion, lower is better; KS: largest gap between the fitted and observed",
        "# cumulative shares). ASSUMPTION marks values the log could not give. See",
        "# docs/calibration.md.",
    ]

    classes: dict[str, Any] = {}
    for i, (label, cname) in enumerate(cal.classes.items()):
        prio = int(label) if label.isdigit() else i + 1
        classes[cname] = {"priority": prio, "label": f"acuity {label}"}
    if cal.direct is not None:
        classes["direct"] = _C(
            {
                "priority": max(p["priority"] for p in classes.values()) + 1,
                "label": "direct admission",
            },
            "admitted without an ED attendance",
        )

    arrivals: dict[str, Any] = {}
    for mode, st in cal.streams.items():
        total = sum(st.class_counts.values())
        arrivals[mode] = {
            "per_day": _C(round(st.per_day, 2), f"n={st.n:,} over {log.days} days"),
            "hourly_profile": _C(
                st.hourly_profile,
                f"smoothed (0.1, 0.8, 0.1) from counts by local hour {st.hourly_counts}",
            ),
            "weekday_factors": _C(
                st.weekday_factors, f"per-day means by weekday from counts {st.weekday_counts}"
            ),
            "class_mix": _C(shares(pd.Series(st.class_counts)), f"n={total:,}"),
            "first_stage": f"{mode}_arrival",
        }
    if cal.direct is not None and cal.direct_routing is not None:
        st = cal.direct
        arrivals["direct_admissions"] = {
            "per_day": _C(round(st.per_day, 2), f"n={st.n:,} spells without an attendance"),
            "hourly_profile": _C(st.hourly_profile, f"counts by local hour {st.hourly_counts}"),
            "weekday_factors": _C(st.weekday_factors, f"counts {st.weekday_counts}"),
            "class_mix": {"direct": 1.0},
            "first_stage": "direct_admission",
        }

    places: dict[str, Any] = {
        "waiting_room": {"capacity": "unlimited", "area": "ed", "label": "ED waiting room"},
        "ed": _C(
            {"capacity": cal.ed_beds, "area": "ed", "label": "ED cubicles"},
            f"ASSUMPTION: the {CAPACITY_PERCENTILE:g}th percentile of patients in treatment at "
            "once, hourly; give your real number of cubicles",
        ),
        "sdec": _C(
            {"capacity": "unlimited", "area": "sdec", "label": "SDEC"},
            "ASSUMPTION: the log does not show SDEC's places",
        ),
    }
    for unit, u in units.items():
        place: dict[str, Any] = {
            "capacity": u.beds,
            "area": u.area,
            "queue": "first_come",
            "label": str(unit),
        }
        changes = _dated_beds(cal, unit)
        if changes:
            place["changes"] = changes
        places[name_of(unit, "unit").lower()] = _C(place, u.beds_note)

    stages: dict[str, Any] = {}
    for mode in cal.streams:
        lw = cal.lwbs[mode]
        # Patients who are seen first wait the delay a queue for cubicles cannot make.
        seen_stage = f"{mode}_wait" if mode in cal.first_wait_pooled else f"{mode}_treatment"
        by_class: dict[str, Any] = {}
        for cname, share in lw.shares.items():
            if share > 0:
                by_class[cname] = {
                    seen_stage: round(1 - share, 4),
                    "left_before_treatment": share,
                }
        arrival: dict[str, Any] = {
            "place": "waiting_room",
            "duration": 0,
            "next": {seen_stage: 1.0},
        }
        if by_class:
            arrival["next_by_class"] = _C(by_class, f"left before treatment, by class; n={lw.n:,}")
        stages[f"{mode}_arrival"] = arrival
        if mode in cal.first_wait_pooled:
            wait: dict[str, Any] = {
                "place": "waiting_room",
                "duration": _dur(cal.first_wait_pooled[mode]),
            }
            if cal.first_wait.get(mode):
                wait["duration_by_class"] = {k: _dur(v) for k, v in cal.first_wait[mode].items()}
            wait["next"] = {f"{mode}_treatment": 1.0}
            stages[f"{mode}_wait"] = _C(
                wait,
                "ASSUMPTION: the wait for a first clinician that a queue for cubicles does "
                "not make (triage, clinicians: the log has no rota) does not grow with load; "
                "the model adds any wait for a cubicle. With your rota as staff, shorten this "
                "to what remains",
            )
        treat: dict[str, Any] = {
            "place": "ed",
            "milestone": "clinician",
            "duration": _dur(cal.treatment_pooled[mode]),
        }
        if cal.treatment[mode]:
            treat["duration_by_class"] = {k: _dur(v) for k, v in cal.treatment[mode].items()}
        pooled = cal.routing_pooled[mode]
        treat["next"] = _C(
            _routing(pooled, from_ed), f"disposal of treated patients; n={pooled.n:,}"
        )
        if cal.routing[mode]:
            treat["next_by_class"] = {
                k: _C(_routing(r, from_ed), f"n={r.n:,}") for k, r in cal.routing[mode].items()
            }
        what = (
            "arrival to departure: NO first_seen in the log, so this holds the wait too"
            if cal.treatment_has_wait
            else "first clinician to decision to admit (admitted) or departure: service"
        )
        stages[f"{mode}_treatment"] = _C(treat, what)
    if cal.lwbs_time is not None:
        stages["left_before_treatment"] = _C(
            {"place": "waiting_room", "duration": _dur(cal.lwbs_time), "next": {"exit": 1.0}},
            "arrival to departure of those who left before treatment",
        )
    stages["sdec_care"] = {
        "place": "sdec",
        "duration": _C(SDEC_STAY, "ASSUMPTION: the log does not show SDEC stays"),
        "next": {"exit": 1.0},
    }
    for unit, h in cal.handover.items():
        if unit in units:
            stages[_handover_stage(unit)] = _C(
                {"place": "ed", "duration": _dur(h), "next": {_unit_stage(unit): 1.0}},
                f"decision to admit to {unit} until a bed is asked for: the time to leave the "
                "ED that a queue for beds does not make (in the cubicle); ASSUMPTION: it does "
                "not grow with load; any wait for a bed (exit block) follows",
            )
    for unit, u in units.items():
        stages[_unit_stage(unit)] = _unit_entry(u, stage_of)
    if cal.direct_routing is not None:
        stages["direct_admission"] = {
            "duration": 0,
            "next": _C(_routing(cal.direct_routing, stage_of), f"n={cal.direct_routing.n:,}"),
        }

    days = max(1, log.days)
    doc: dict[str, Any] = {
        "name": name,
        "description": f"Calibrated from {source}, {log.first_day} to {log.last_day}.",
        "start": (log.first_day - dt.timedelta(days=WARMUP_DAYS)).isoformat(),
        "run": _C(
            {"warmup": f"{WARMUP_DAYS}d", "length": f"{days}d", "replications": 10, "seed": 1},
            "the measured days are the log's own dates, after a warm-up while the wards fill",
        ),
        "classes": classes,
        "arrivals": arrivals,
        "places": places,
        "stages": stages,
    }
    out: list[str] = []
    _emit(doc, 0, out)
    return "\n".join(head) + "\n" + "\n".join(out) + "\n"


def _dated_beds(cal: Calibration, unit: str) -> dict[str, Any]:
    """The capacity file's dated rows for ``unit`` as capacity changes (beds set outright)."""
    c = cal.log.capacity
    if c is None:
        return {}
    rows = c[(c["unit"] == unit) & c["from"].notna()]
    return {
        f"line_{int(r['_line'])}": _C(
            {
                "from": r["from"].isoformat(),
                "to": r["to"].isoformat(),
                "to_capacity": int(r["beds"]),
            },
            f"from the capacity file, line {int(r['_line'])}",
        )
        for _, r in rows.iterrows()
    }


def _unit_entry(u: Unit, stage_of: dict[str, str]) -> _C:
    entry: dict[str, Any] = {
        "place": name_of(u.name, "unit").lower(),
        "duration": _dur(u.stay),
        "next": _C(_routing(u.onward, stage_of), f"onward from this unit; n={u.onward.n:,}"),
    }
    if u.stay_by_next:
        rare = ", ".join(f"{k} (n={v:,})" for k, v in u.stay_pooled_for.items())
        entry["duration_by_next"] = _C(
            {stage_of.get(k, k): _dur(f) for k, f in u.stay_by_next.items()},
            f"stay by where the patient goes next, for destinations with at least "
            f"{MIN_BY_DESTINATION} spells"
            + (f"; fewer, so the pooled duration above: {rare}" if rare else ""),
        )
    if u.delayed_share is not None:
        dd: dict[str, Any] = {"share": _C(u.delayed_share, f"n={u.delayed_n:,}")}
        if u.delay is not None:
            dd["delay"] = _dur(u.delay)
        else:
            dd["delay"] = 0
        entry["delayed_discharge"] = _C(
            dd, "from medically_fit: left over a day after, weekends not counted"
        )
    if u.discharge_hours is not None:
        window: dict[str, Any] = {
            "hours": _C(u.discharge_hours, f"discharges by local hour; n={u.discharge_n:,}"),
        }
        if u.discharge_days:
            window["days"] = _C(
                u.discharge_days, "each day's discharges against a weekday's (median)"
            )
        entry["discharge_window"] = window
    return _C(entry, f"{u.n:,} spells")


def write_scenario(cal: Calibration, out: Path, source: str) -> Scenario:
    """Write ``cal`` to ``out`` (all or nothing) once the loader accepts it."""
    name = _scenario_name(out)
    text = scenario_text(cal, name, source)
    data, marks = read_scenario_bytes(text.encode(), str(out))
    scenario = validate_data(data, marks, str(out))
    write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return scenario


def _scenario_name(out: Path) -> str:
    stem = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in out.stem)
    stem = stem if stem and not stem[0].isdigit() else f"s_{stem}"
    return stem[:MAX_NAME_CHARS]
