"""Little's law on every place of a scenario: time-average occupancy L against throughput x
mean stay (lambda W), both measured in the window after the warm-up.

L is the ``occupancy_mean.<place>`` KPI, from the engine's record of each place's use. lambda W
comes from the patient-visit table, an independent record: the stays (from being granted the
place to being granted the next, or leaving) that end in the window, summed and divided by the
window's length (lambda = stays ended / window, W = their mean length). The sample-path version
of the law (Stidham 1974; El-Taha & Stidham, *Sample-Path Analysis of Queueing Systems*, 1999)
differs from L only by the stays under way at the two ends of the window, which cancel on
average in a steady state, so the paired difference L - lambda W per replication must have a
confidence interval containing 0.

A second, exact check adds those edge terms back: the stays' time inside the window, summed,
must equal L times the window to rounding. It fails if the two records disagree at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiment import Results
from ..scenario import Scenario
from .checks import Check
from .measures import kpi, place_stays, window


def little_checks(s: Scenario, res: Results) -> list[Check]:
    stays = place_stays(res)
    w0, w1 = window(s)
    span = w1 - w0
    end = stays["left_place"].fillna(w1)
    ended_in = (stays["left_place"] >= w0) & (stays["left_place"] < w1)
    reps = pd.RangeIndex(res.replications)
    inside = end.clip(w0, w1) - stays["entered"].clip(w0, w1)
    checks = []
    for place in s.places:
        mine = stays["place"] == place
        occupancy = kpi(res, f"occupancy_mean.{place}")
        lam_w = (end - stays["entered"])[mine & ended_in].groupby(
            stays["replication"][mine & ended_in], observed=True
        ).sum().reindex(reps, fill_value=0.0).to_numpy(float) / span
        exact = (
            inside[mine]
            .groupby(stays["replication"][mine], observed=True)
            .sum()
            .reindex(reps, fill_value=0.0)
            .to_numpy(float)
            / span
        )
        check = Check.in_ci(
            f"{place}: L - lambda W (patients)",
            0.0,
            occupancy - lam_w,
            rule="0 in CI of paired difference",
        )
        check.expected_text = f"0 (L = {np.mean(occupancy):.4g})"
        checks.append(check)
        scale = max(1.0, float(np.max(np.abs(occupancy))))
        gap = (occupancy - exact) / scale
        ex = Check.exact(f"{place}: L - stays inside the window / window (relative)", 0.0, gap)
        checks.append(ex)
    return checks
