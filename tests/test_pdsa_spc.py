"""SPC limits and the Making Data Count rules against hand-worked series and known rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from flowsim.pdsa.spc import (
    MR_TO_LIMITS,
    MR_UPPER,
    Limits,
    Rules,
    meaning,
    p_limits,
    rule_hits,
    signal_points,
    xmr_limits,
)


def test_xmr_limits_worked_by_hand() -> None:
    # Values 10, 12, 11, 15, 13, 14: mean 75 / 6 = 12.5; moving ranges 2, 1, 4, 2, 1: mean 2.
    # Limits 12.5 +/- 2.66 * 2 = 7.18 and 17.82 (Wheeler's constant); mR upper limit 3.267 * 2.
    lim = xmr_limits(np.array([10, 12, 11, 15, 13, 14]), points=8)
    assert MR_TO_LIMITS == 2.66 and MR_UPPER == 3.267
    assert lim.centre == pytest.approx(np.full(8, 12.5))
    assert lim.lower == pytest.approx(np.full(8, 7.18))
    assert lim.upper == pytest.approx(np.full(8, 17.82))
    assert lim.mr_bar == pytest.approx(2.0)
    assert lim.mr_upper == pytest.approx(6.534)


def test_p_chart_limits_vary_with_each_weeks_denominator() -> None:
    # Baseline weeks: 80 of 100 and 150 of 200 -> pooled p = 230 / 300 = 0.76667.
    # A week of 100: sigma = sqrt(0.76667 * 0.23333 / 100) = 0.042295 -> 76.667 +/- 12.689 %.
    # A week of 400: sigma = 0.021148 -> 76.667 +/- 6.344 %.
    lim = p_limits(np.array([80.0, 75.0]), np.array([100, 200]), np.array([100, 400]))
    p = 230 / 300
    assert lim.centre == pytest.approx([100 * p] * 2)
    s100 = math.sqrt(p * (1 - p) / 100)
    s400 = math.sqrt(p * (1 - p) / 400)
    assert lim.upper == pytest.approx([100 * (p + 3 * s100), 100 * (p + 3 * s400)])
    assert lim.lower == pytest.approx([100 * (p - 3 * s100), 100 * (p - 3 * s400)])
    assert lim.upper[0] == pytest.approx(89.356, abs=1e-3)
    assert lim.upper[1] == pytest.approx(83.011, abs=1e-3)


def test_p_chart_limits_stay_between_0_and_100() -> None:
    lim = p_limits(np.array([99.0]), np.array([100]), np.array([10]))
    assert lim.upper[0] == 100.0 and lim.lower[0] > 0


def _flat(n: int, centre: float = 0.0, sigma: float = 1.0) -> Limits:
    full = np.ones(n)
    return Limits(
        centre * full, sigma * full, (centre - 3 * sigma) * full, (centre + 3 * sigma) * full
    )


def _first(h: np.ndarray) -> int:
    nz = np.flatnonzero(h)
    return int(nz[0]) if len(nz) else -1


def test_shift_is_seen_at_the_seventh_point_after_it_not_before() -> None:
    # 20 weeks alternating about 0 (never a run), then every week at +1 sigma from week 20.
    x = np.r_[np.tile([0.5, -0.5], 10), np.full(10, 1.0)]
    hits = rule_hits(x, _flat(len(x)))
    assert _first(hits["shift"]) == 26  # weeks 20..26 are the run of seven
    assert hits["shift"][26] == 1
    assert not hits["outside"].any() and not hits["two_of_three"].any()
    # A run of 5 asked for: seen two weeks sooner.
    assert _first(rule_hits(x, _flat(len(x)), Rules(shift=5))["shift"]) == 24


def test_trend_is_seen_at_the_seventh_rising_point() -> None:
    x = np.r_[np.tile([0.2, -0.2], 8), 0.1 * np.arange(1, 9) - 0.15]
    hits = rule_hits(x, _flat(len(x)))
    # The rise starts at week 15 (-0.2) and goes on through weeks 16..23 (-0.05 up to 0.65):
    # seven points rising are weeks 15..21.
    assert _first(hits["trend"]) == 21
    assert hits["trend"][21] == 1
    falling = rule_hits(-x, _flat(len(x)))
    assert _first(falling["trend"]) == 21 and falling["trend"][21] == -1


def test_outside_and_two_of_three() -> None:
    x = np.array([0.0, 2.5, 0.0, 2.2, 0.0, -3.5, 0.0])
    hits = rule_hits(x, _flat(len(x)))
    assert list(hits["outside"]) == [0, 0, 0, 0, 0, -1, 0]
    # Points 1 and 3 are beyond +2 sigma: the window 1..3 ends at point 3.
    assert list(hits["two_of_three"]) == [0, 0, 0, 1, 0, 0, 0]
    marked = signal_points(hits)
    assert list(marked) == [0, 1, 1, 1, 0, -1, 0]


def test_rules_can_be_turned_off() -> None:
    x = np.full(12, 1.0)
    hits = rule_hits(x, _flat(12), Rules(shift=0, trend=0, outside=False, two_of_three=False))
    assert not any(h.any() for h in hits.values())
    with pytest.raises(ValueError):
        Rules(shift=1)


def test_stable_series_signal_at_the_rules_known_rates() -> None:
    # With the true centre and sigma, the expected number of points where each rule fires in a
    # stable normal series is known exactly (by linearity of expectation):
    #   outside: n * 2 * P(Z > 3); shift: (n - 6) * 2 * 2^-7;
    #   trend: (n - 6) * 2 / 7!  (a window of 7 iid values is monotone with chance 2 / 7!);
    #   two of three: (n - 2) * 2 * (3 q^2 (1 - q) + q^3) + 2 q^2, q = P(Z > 2).
    rng = np.random.default_rng(20241201)
    series, n = 20000, 40
    x = rng.standard_normal((series, n))
    hits = rule_hits(x, _flat(n))
    q3, q2 = stats.norm.sf(3), stats.norm.sf(2)
    expected = {
        "outside": n * 2 * q3,
        "shift": (n - 6) * 2 * 0.5**7,
        "trend": (n - 6) * 2 / math.factorial(7),
        "two_of_three": (n - 2) * 2 * (3 * q2**2 * (1 - q2) + q2**3) + 2 * q2**2,
    }
    for rule, mean in expected.items():
        counts = (hits[rule] != 0).sum(axis=1)
        se = counts.std(ddof=1) / math.sqrt(series)
        assert abs(counts.mean() - mean) < 4 * se, (rule, counts.mean(), mean)


def test_labels_follow_the_direction_of_better() -> None:
    # Time in department: lower is better, so a fall is an improvement and a rise a concern.
    assert meaning(-1, better=-1) == "improvement"
    assert meaning(+1, better=-1) == "concern"
    assert meaning(+1, better=+1) == "improvement"
    assert meaning(+1, better=0) == "higher"
    assert meaning(0, better=-1) == "common cause"
