"""The run settings a page offers (days measured, warm-up days, replications and seed), starting
from the baseline file's own ``run`` settings, cut to the largest that fit the app's budget, and
the plain words that say when and why the app's settings differ from the file's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from flowsim.budget import APP_MAX_PATIENTS, estimate
from flowsim.scenario import Scenario, with_run_length

from .safe_text import plain

DEFAULT_DAYS = 56
DEFAULT_WARMUP = 42
DEFAULT_REPLICATIONS = 6
DEFAULT_SEED = 12345
"""The app's fixed defaults before it followed the scenario file (kept for the benchmark, which
times the same comparison release after release)."""

DAYS_RANGE = (7, 364)
WARMUP_RANGE = (0, 120)
REPLICATIONS_RANGE = (2, 50)
"""The sliders' ranges. At least two replications: a confidence interval needs them."""

APP_SECONDS = 60.0
"""How long a run started with the default settings may take (the time budget): a shared page
should answer within a minute; longer runs belong on the command line."""

PATIENTS_PER_SECOND = 30_000.0
"""Patients one worker process simulates per second, rounded down from the hospital-year
benchmark (138,055 patients in 3.87 s, benchmarks/RESULTS.md), to turn patients into seconds."""

KEYS = ("days", "warmup", "reps", "seed")
_APPLIED = "run_settings.applied"


@dataclass(frozen=True)
class RunSettings:
    days: int
    warmup: int
    replications: int
    seed: int


@dataclass(frozen=True)
class Defaults:
    """The file's own settings, the app's defaults and why they differ (empty when they don't)."""

    file: RunSettings
    app: RunSettings
    reasons: tuple[str, ...]


def file_settings(baseline: Scenario) -> RunSettings:
    """A scenario's own ``run`` settings, in whole days."""
    r = baseline.run
    return RunSettings(round(r.length / 1440), round(r.warmup / 1440), r.replications, r.seed)


def expected_seconds(patients: float, workers: int) -> float:
    """About how long a run of ``patients`` takes on ``workers`` processes."""
    return patients / (PATIENTS_PER_SECOND * max(1, workers))


def fitted_defaults(scenarios: Sequence[Scenario], workers: int) -> Defaults:
    """The baseline's (first scenario's) own run settings, within the sliders' ranges and the
    app's budget of patients (:data:`APP_MAX_PATIENTS`) and time (:data:`APP_SECONDS`) for
    ``scenarios`` run on ``workers`` processes. Past the budget, the fewest cuts: fewer
    replications first (down to two), then fewer days measured; the warm-up is kept, since
    without it the wards are measured half empty."""
    own = file_settings(scenarios[0])
    reasons: list[str] = []
    days = _clamp(own.days, DAYS_RANGE, "days measured", reasons)
    warmup = _clamp(own.warmup, WARMUP_RANGE, "warm-up days", reasons)
    reps = _clamp(own.replications, REPLICATIONS_RANGE, "replications", reasons)
    limit = min(float(APP_MAX_PATIENTS), APP_SECONDS * PATIENTS_PER_SECOND * max(1, workers))

    def patients(d: int, r: int) -> float:
        return estimate([with_run_length(s, d, warmup) for s in scenarios], r, False).patients

    wanted = patients(days, reps)
    if wanted > limit:
        per_rep = patients(days, 1)
        fit_reps = max(REPLICATIONS_RANGE[0], min(reps, math.floor(limit / per_rep)))
        fit_days = days
        while fit_days > DAYS_RANGE[0] and patients(fit_days, fit_reps) > limit:
            fit_days = max(DAYS_RANGE[0], fit_days - 7)
        reasons.append(
            f"the file's run of {len(scenarios)} scenario{'s' * (len(scenarios) != 1)} would "
            f"simulate about {wanted:,.0f} patients (about "
            f"{_duration(expected_seconds(wanted, workers))} here), past the app's budget of "
            f"{limit:,.0f} patients (about {_duration(APP_SECONDS)}); so the app runs the "
            f"largest that fit: {_run_words(fit_days, warmup, fit_reps)}"
        )
        days, reps = fit_days, fit_reps
    return Defaults(own, RunSettings(days, warmup, reps, own.seed), tuple(reasons))


def _clamp(value: int, bounds: tuple[int, int], what: str, reasons: list[str]) -> int:
    low, high = bounds
    if low <= value <= high:
        return value
    kept = min(max(value, low), high)
    reasons.append(f"the file asks for {value:,} {what}; the app offers {low} to {high}")
    return kept


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    return f"{seconds / 60:.0f} minutes"


def _run_words(days: int, warmup: int, reps: int) -> str:
    return f"{reps} replications of {days} days after {warmup} days' warm-up"


def describe(s: RunSettings) -> str:
    """Run settings in words."""
    return f"{_run_words(s.days, s.warmup, s.replications)}, seed {s.seed}"


def run_settings(scenarios: Sequence[Scenario], baseline_name: str, workers: int) -> RunSettings:
    """The sliders and seed box (keys ``days``, ``warmup``, ``reps`` and ``seed``), starting at
    the baseline file's settings cut to the app's budget (:func:`fitted_defaults`), with a note
    saying when and why they differ from the file's. The sliders follow the defaults as the
    choice of scenarios changes, until the user moves them."""
    fit = fitted_defaults(scenarios, workers)
    state = st.session_state
    applied: RunSettings | None = state.get(_APPLIED)
    current = _current()
    if applied is None or (current == applied and fit.app != applied):
        _apply(fit.app)
    st.slider("Days measured", *DAYS_RANGE, key="days")
    st.slider(
        "Warm-up days (not measured)",
        *WARMUP_RANGE,
        key="warmup",
        help="The wards start empty; the warm-up fills them to their usual level before "
        "measuring starts.",
    )
    st.slider(
        "Replications",
        *REPLICATIONS_RANGE,
        key="reps",
        help="More replications give narrower confidence intervals and take longer.",
    )
    st.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key="seed",
        help="The same seed gives the same results.",
    )
    chosen = _current()
    assert chosen is not None  # set by _apply before the widgets were drawn
    kind, text = settings_note(chosen, fit, plain(baseline_name))
    if kind == "same":
        st.caption(text)
    else:
        st.info(text)
    if chosen != fit.app:
        st.button(
            "Use the file's settings" + (" (cut to the app's budget)" if fit.reasons else ""),
            key="run_settings.use_file",
            on_click=_apply,
            args=(fit.app,),
        )
    size, past = run_size(scenarios, chosen, workers)
    (st.warning if past else st.caption)(size)
    return chosen


def run_size(scenarios: Sequence[Scenario], chosen: RunSettings, workers: int) -> tuple[str, bool]:
    """How big a run of ``scenarios`` with ``chosen`` settings is, in words, and whether it is
    past the app's budget of patients (where the run is refused before it starts)."""
    run = [with_run_length(s, chosen.days, chosen.warmup) for s in scenarios]
    patients = estimate(run, chosen.replications, False).patients
    text = (
        f"This run: about {patients:,.0f} patients, about "
        f"{_duration(expected_seconds(patients, workers))} on a quiet machine."
    )
    if patients > APP_MAX_PATIENTS:
        return (
            text + f" That is past the app's budget of {APP_MAX_PATIENTS:,} patients, so it "
            "will be refused: choose fewer replications, days or changes, or run it with "
            "`flowsim compare`."
        ), True
    return text, False


def settings_note(chosen: RunSettings, fit: Defaults, baseline_name: str) -> tuple[str, str]:
    """``(kind, text)`` (Markdown; ``baseline_name`` as it is to be shown): ``"same"`` when the
    app runs the file's own settings, ``"budget"`` when they are cut to the app's budget,
    ``"changed"`` when the user changed them."""
    own = f"{baseline_name} gives {describe(fit.file)}"
    if chosen == fit.file:
        return "same", (
            f"Run settings from {baseline_name}: {describe(fit.file)}, the same as "
            "`flowsim compare` runs."
        )
    if chosen == fit.app:
        return "budget", (
            f"The run settings differ from the file's ({own}): "
            + "; and ".join(fit.reasons)
            + ". The verdicts can differ from the command line's; run the file there for its "
            "own settings."
        )
    gone = [
        what
        for what, a, b in (
            ("days measured", chosen.days, fit.file.days),
            ("warm-up", chosen.warmup, fit.file.warmup),
            ("replications", chosen.replications, fit.file.replications),
            ("seed", chosen.seed, fit.file.seed),
        )
        if a != b
    ]
    return "changed", (
        f"You changed the run settings ({', '.join(gone)}), so they differ from the file's "
        f"({own}). The verdicts can differ from the command line's, which runs the file's."
    )


def _current() -> RunSettings | None:
    values = [st.session_state.get(k) for k in KEYS]
    if any(v is None for v in values):
        return None
    return RunSettings(*(int(v) for v in values))  # type: ignore[arg-type]


def _apply(s: RunSettings) -> None:
    for k, v in zip(KEYS, (s.days, s.warmup, s.replications, s.seed), strict=True):
        st.session_state[k] = v
    st.session_state[_APPLIED] = s
