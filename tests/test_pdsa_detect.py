"""The weeks-needed figure checked by simulation against a case worked out by hand."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from flowsim.pdsa.detect import Weeks, detection_curve, weeks_needed
from flowsim.pdsa.spc import Rules

ONLY_OUTSIDE = Rules(shift=0, trend=0, outside=True, two_of_three=False)


def test_chance_of_a_point_beyond_the_limit_matches_the_closed_form() -> None:
    # Weeks normal with sd 1; the change moves the mean up by delta. With only the "outside the
    # limits" rule and limits from many baseline weeks (so they sit at the mean +/- 3 sd), each
    # week after the change is above the upper limit with chance p = P(Z > 3 - delta), weeks
    # independently, so a signal by week n has chance 1 - (1 - p)^n. delta is chosen so that
    # 80% is reached between weeks 4 and 5 with room to spare: (1 - p)^4.5 = 0.2.
    p = 1 - 0.2 ** (1 / 4.5)
    delta = 3 - stats.norm.isf(p)
    rng = np.random.default_rng(7)
    before = Weeks(rng.standard_normal(50_000))
    after = Weeks(rng.standard_normal(50_000) + delta)
    curve = detection_curve(
        before, after, +1, np.random.default_rng(8), baseline_weeks=400, max_weeks=10,
        runs=4000, rules=ONLY_OUTSIDE,
    )  # fmt: skip
    exact = 1 - (1 - p) ** np.arange(1, 11)
    # Binomial standard error of 4000 cycles is at most 0.008; limits estimated from 400 weeks
    # move p a little too, so allow 0.03.
    assert np.abs(curve - exact).max() < 0.03, (curve, exact)
    assert math.ceil(math.log(0.2) / math.log(1 - p)) == 5
    assert weeks_needed(curve) == 5


def test_no_effect_gives_chance_signals_only() -> None:
    rng = np.random.default_rng(3)
    same = Weeks(rng.standard_normal(10_000))
    curve = detection_curve(same, same, +1, np.random.default_rng(4), 26, 26, 1000)
    # Chance signals alone: they grow with the weeks, but stay far from 80% of cycles.
    assert curve[0] < 0.1 and curve[-1] < 0.5 and np.all(np.diff(curve) >= 0)
    assert weeks_needed(curve) is None


def test_a_signal_the_wrong_way_does_not_count() -> None:
    rng = np.random.default_rng(5)
    before = Weeks(rng.standard_normal(10_000))
    after = Weeks(rng.standard_normal(10_000) - 4.0)
    up = detection_curve(before, after, +1, np.random.default_rng(6), 26, 6, 500, ONLY_OUTSIDE)
    down = detection_curve(before, after, -1, np.random.default_rng(6), 26, 6, 500, ONLY_OUTSIDE)
    assert up[-1] < 0.05 and down[0] > 0.7
