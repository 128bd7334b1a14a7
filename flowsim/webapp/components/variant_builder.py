"""The variant builder: levers on a baseline (demand, surges, beds, staff, length of stay,
discharge) written as an overlay file that can join a comparison or be downloaded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from flowsim.levers import (
    DEMAND_RANGE,
    FACTOR_RANGE,
    LOS_RANGE,
    MAX_BEDS,
    MAX_STAFF,
    CapacityLever,
    ExtraShiftLever,
    Levers,
    SurgeLever,
    admitted_places,
    build_overlay,
    check_levers,
    lever_defaults,
    overlay_yaml,
)
from flowsim.scenario import Scenario, places_held

from .safe_text import plain


def build_variant(
    baseline: Scenario, base_name: str, built: dict[str, str], folder: Path, days: int, warmup: int
) -> None:
    """The builder for ``baseline`` (file ``base_name``); a variant added to the comparison is
    kept in ``built`` (name to overlay text). ``days`` and ``warmup`` bound the dates offered."""
    st.subheader(f"Build a change to {plain(base_name)}")
    st.caption(
        "Set the levers below. Anything left as it is stays as in the baseline. The "
        "variant can be added to the comparison, and downloaded as a scenario file: save "
        f"it in the scenarios folder (beside {plain(base_name)}) and `flowsim run` it."
    )
    d = lever_defaults(baseline)
    k = f"lever.{base_name}."
    first = baseline.start
    measured_from = first + dt.timedelta(days=warmup)
    last = first + dt.timedelta(days=warmup + days - 1)
    name = st.text_input(
        "Name of the variant (letters, digits and _)", "my_change", key=k + "name", max_chars=60
    )
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip()) or "my_change"
    if name[0].isdigit():
        name = "v_" + name
    st.caption(
        f"The run covers {first:%d %b %Y} to {last:%d %b %Y}; measuring starts on "
        f"{measured_from:%d %b %Y}."
    )

    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Demand**")
        demand = st.slider(
            "Arrivals (× every stream's daily volume)",
            *DEMAND_RANGE,
            1.0,
            step=0.05,
            key=k + "demand",
        )
        surge = None
        if st.checkbox("Add a surge", key=k + "surge"):
            a, b = _date_range(
                "Surge days",
                k + "surge_days",
                first,
                last,
                (measured_from, min(measured_from + dt.timedelta(days=13), last)),
            )
            factor = st.slider(
                "Surge factor (× arrivals on those days)",
                *FACTOR_RANGE,
                1.1,
                step=0.05,
                key=k + "surge_factor",
            )
            surge = SurgeLever(start=a, end=b, factor=factor)
        st.markdown("**Beds and spaces**")
        beds = {}
        for place, cap in d.beds.items():
            beds[place] = int(
                st.number_input(
                    plain(baseline.places[place].label or place),
                    0,
                    MAX_BEDS,
                    cap,
                    step=1,
                    key=k + "beds." + place,
                )
            )
        changes = []
        limited = list(d.beds)
        for i in (1, 2):
            if not limited or not st.checkbox(
                f"Open or close beds for a period ({i})", key=k + f"cap{i}"
            ):
                continue
            place = st.selectbox(
                "Place",
                limited,
                key=k + f"cap{i}.place",
                index=limited.index("wards") if "wards" in limited else 0,
            )
            a, b = _date_range("Days", k + f"cap{i}.days", first, last, (measured_from, last))
            change = int(
                st.number_input(
                    "Beds (+ escalation beds open, − beds closed)",
                    -beds[place],
                    MAX_BEDS,
                    20,
                    step=1,
                    key=k + f"cap{i}.change",
                )
            )
            changes.append(CapacityLever(place=place, start=a, end=b, change=change))
    with c2:
        st.markdown("**Staff on each shift**")
        shift_counts: dict[str, dict[str, int]] = {}
        for group, counts in d.shift_counts.items():
            who = plain(baseline.staff[group].label or group)
            shift_counts[group] = {
                shift: int(
                    st.number_input(
                        f"{who}: {plain(shift)}",
                        0,
                        MAX_STAFF,
                        count,
                        step=1,
                        key=k + f"staff.{group}.{shift}",
                    )
                )
                for shift, count in counts.items()
            }
        extra = None
        groups = [g for g, s in baseline.staff.items() if s.count is None]
        if groups and st.checkbox("Add an extra shift every day", key=k + "extra"):
            group = st.selectbox("Staff group", groups, key=k + "extra.group")
            start = st.selectbox(
                "From (hour)",
                list(range(24)),
                16,
                key=k + "extra.start",
                format_func=lambda h: f"{h:02d}:00",
            )
            ends = [h for h in range(1, 25) if h % 24 != start]
            end = st.selectbox(
                "To (hour)",
                ends,
                ends.index(2) if 2 in ends else 0,
                key=k + "extra.end",
                format_func=lambda h: f"{h:02d}:00",
            )
            count = int(st.number_input("How many", 1, MAX_STAFF, 1, key=k + "extra.count"))
            extra = ExtraShiftLever(staff=group, start=start, end=end, count=count)
        st.markdown("**Length of stay and discharge**")
        los = {
            p: st.slider(
                f"Length of stay in {plain(baseline.places[p].label or p)} (×)",
                *LOS_RANGE,
                1.0,
                step=0.05,
                key=k + "los." + p,
            )
            for p in admitted_places(baseline)
        }
        delayed = {
            s: st.slider(
                f"{_stage(baseline, s)}: share of patients with a delayed discharge",
                0.0,
                1.0,
                v,
                step=0.01,
                key=k + "delayed." + s,
            )
            for s, v in d.delayed_share.items()
        }
        noon = _fanned(
            baseline,
            d.before_noon_share,
            lambda who, v, key: st.slider(
                f"{who}: share of discharges before noon", 0.01, 0.99, v, step=0.01, key=k + key
            ),
            "noon.",
        )
        weekend = _fanned(
            baseline,
            d.weekend_share,
            lambda who, v, key: st.slider(
                f"{who}: share of ready patients discharged on Sat and Sun",
                0.0,
                1.0,
                v,
                step=0.05,
                key=k + key,
            ),
            "weekend.",
        )

    levers = Levers(
        name=name,
        demand=demand,
        surge=surge,
        beds=beds,
        capacity_changes=changes,
        shift_counts=shift_counts,
        extra_shift=extra,
        length_of_stay=los,
        delayed_share=delayed,
        before_noon_share=noon,
        weekend_share=weekend,
    )
    problems = check_levers(baseline, levers)
    if problems:
        st.error("\n\n".join(plain(p) for p in problems))
        return
    text = overlay_yaml(
        build_overlay(baseline, levers, extends=base_name), schema="flowsim.schema.json"
    )
    b1, b2 = st.columns(2)
    b1.download_button(
        "Download this variant (YAML)",
        text,
        f"{name}.yaml",
        "application/x-yaml",
        key=k + "download",
    )
    if b2.button("Add to the comparison", key=k + "add"):
        built[name] = text
        # Again from the top: the sidebar (the run settings' budget) and the stale-results
        # notice are drawn before this tab and must count the new variant.
        st.session_state["built.added"] = name
        st.rerun()
    added = st.session_state.pop("built.added", None)
    if added is not None:
        st.success(f"Added {plain(added)}: press Run the comparison in the sidebar.")
    st.code(text, language="yaml")
    for n in list(built):
        c_a, c_b = st.columns([4, 1])
        c_a.markdown(f"In the comparison: **{plain(n)}**")
        if c_b.button("Remove", key=f"remove.{n}"):
            del built[n]
            st.rerun()


def _fanned(
    baseline: Scenario,
    shares: dict[str, float],
    slider: Callable[[str, float, str], float],
    prefix: str,
) -> dict[str, float]:
    """One slider for the stages whose patients leave the same place through the same discharge
    window (the wards' discharge pathways, say), its value given to each of them."""
    held = places_held(baseline)
    groups: dict[tuple[str, str], list[str]] = {}
    for name in shares:
        place = _place_words(baseline, held[name])
        key = (place, repr(baseline.stages[name].discharge_window)) if place else (name, "")
        groups.setdefault(key, []).append(name)
    out: dict[str, float] = {}
    for (place, _), names in groups.items():
        first = names[0]
        who = _stage(baseline, first) if len(names) == 1 else f"Discharges from {place}"
        value = slider(who, shares[first], prefix + first)
        out.update(dict.fromkeys(names, value))
    return out


def _place_words(s: Scenario, place: str | None) -> str:
    """A place as people know it, as plain text ("" for none)."""
    return plain(s.places[place].label or place) if place else ""


def _stage(s: Scenario, name: str) -> str:
    """A stage as people know it (its label, else its place's label, else its name), as plain
    text for a widget's label (which is Markdown)."""
    stage = s.stages[name]
    place = s.places.get(stage.place or "")
    return plain(stage.label or (place.label if place is not None and place.label else name))


def _date_range(
    title: str, key: str, first: dt.date, last: dt.date, default: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date]:
    # The key names the run's dates: a value kept from a longer run cannot fall outside them.
    value = st.date_input(
        title,
        default,
        min_value=first,
        max_value=last,
        key=f"{key}.{first}.{last}",
        format="DD/MM/YYYY",
    )
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:  # the second date is still being picked
            return value[0], value[0]
        return default
    return value, value
