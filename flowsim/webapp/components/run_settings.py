"""The run settings a page offers: days measured, warm-up days, replications and seed."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

DEFAULT_DAYS = 56
DEFAULT_WARMUP = 42
DEFAULT_REPLICATIONS = 6
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class RunSettings:
    days: int
    warmup: int
    replications: int
    seed: int


def run_settings() -> RunSettings:
    """The sliders and seed box (keys ``days``, ``warmup``, ``reps`` and ``seed``)."""
    days = st.slider("Days measured", 7, 364, DEFAULT_DAYS, step=7, key="days")
    warmup = st.slider(
        "Warm-up days (not measured)",
        0,
        120,
        DEFAULT_WARMUP,
        key="warmup",
        help="The wards start empty; six weeks fill them to their usual "
        "level before measuring starts.",
    )
    replications = st.slider(
        "Replications",
        2,
        50,
        DEFAULT_REPLICATIONS,
        key="reps",
        help="More replications give narrower confidence intervals and take longer.",
    )
    seed = st.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        value=DEFAULT_SEED,
        step=1,
        key="seed",
        help="The same seed gives the same results.",
    )
    return RunSettings(int(days), int(warmup), int(replications), int(seed))
