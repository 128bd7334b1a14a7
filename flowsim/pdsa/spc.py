"""Statistical process control: XmR and p-chart limits, and the Making Data Count rules.

The limits follow NHS England's "Making Data Count" and Wheeler's *Understanding Variation*: an
XmR (individuals) chart's limits are the mean plus or minus 2.66 times the mean moving range, and
its moving-range chart's upper limit is 3.267 times the mean moving range; a p-chart's limits are
the overall proportion plus or minus three binomial standard errors, one for each week's
denominator. The rules look at a whole series at once, and every function here works along the
last axis of an array, so that thousands of simulated series are checked in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

MR_TO_LIMITS = 2.66
"""Wheeler's scaling constant 3 / d2 (d2 = 1.128 for ranges of two points): the individuals
chart's limits are the centre plus or minus this times the mean moving range."""

MR_UPPER = 3.267
"""D4 for ranges of two points: the moving-range chart's upper limit is this times the mean
moving range."""

Kind = Literal["xmr", "p"]
RULES = ("outside", "shift", "trend", "two_of_three")
"""The Making Data Count rules, in the order a chart lists them."""

RULE_WORDS = {
    "outside": "a point outside the limits",
    "shift": "shift",
    "trend": "trend",
    "two_of_three": "two of three points near a limit",
}


@dataclass(frozen=True)
class Rules:
    """Which rules to apply. ``shift`` and ``trend`` are run lengths (7 in Making Data Count); 0
    turns a rule off, as ``outside=False`` and ``two_of_three=False`` do."""

    shift: int = 7
    trend: int = 7
    outside: bool = True
    two_of_three: bool = True

    def __post_init__(self) -> None:
        for name in ("shift", "trend"):
            n = getattr(self, name)
            if n != 0 and not 2 <= n <= 30:
                raise ValueError(f"a {name} run must be 0 (off) or from 2 to 30 points, not {n}")


MDC_RULES = Rules()
"""The rules as Making Data Count sets them: runs of 7 for a shift and a trend."""


@dataclass(frozen=True)
class Limits:
    """Centre, one-sigma width and the process limits at each point of a chart."""

    centre: np.ndarray
    sigma: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    mr_bar: float = float("nan")  # XmR only: the mean moving range of the points it came from

    @property
    def mr_upper(self) -> float:
        """The moving-range chart's upper limit (XmR only)."""
        return MR_UPPER * self.mr_bar


def xmr_limits(base: np.ndarray, points: int) -> Limits:
    """XmR limits from the values ``base`` (two at least), for a chart of ``points`` points."""
    base = np.asarray(base, dtype=float)
    if len(base) < 2:
        raise ValueError("an XmR chart needs at least two points to set its limits")
    centre = float(base.mean())
    mr_bar = float(np.abs(np.diff(base)).mean())
    half = MR_TO_LIMITS * mr_bar
    full = np.full(points, 1.0)
    return Limits(
        centre * full, half / 3.0 * full, (centre - half) * full, (centre + half) * full, mr_bar
    )


def p_limits(
    base_pct: np.ndarray, base_denominators: np.ndarray, denominators: np.ndarray
) -> Limits:
    """p-chart limits, in percent, from the weeks ``base_pct`` with their denominators, for a chart
    whose points have ``denominators``: the centre is the pooled proportion (events over
    denominators), each point's limits three binomial standard errors for its own denominator,
    kept within 0 to 100%."""
    base_n = np.asarray(base_denominators, dtype=float)
    events = np.asarray(base_pct, dtype=float) / 100.0 * base_n
    if base_n.sum() <= 0:
        raise ValueError("a p-chart needs weeks with a denominator above zero to set its limits")
    p = float(events.sum() / base_n.sum())
    n = np.asarray(denominators, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = 100.0 * np.sqrt(p * (1.0 - p) / n)
    centre = np.full(len(n), 100.0 * p)
    return Limits(
        centre,
        sigma,
        np.clip(centre - 3 * sigma, 0.0, 100.0),
        np.clip(centre + 3 * sigma, 0.0, 100.0),
    )


def _runs(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True values ending at each point, along the last axis."""
    out = np.zeros(flags.shape, dtype=np.int32)
    if flags.shape[-1] == 0:
        return out
    out[..., 0] = flags[..., 0]
    for t in range(1, flags.shape[-1]):
        out[..., t] = np.where(flags[..., t], out[..., t - 1] + 1, 0)
    return out


def rule_hits(
    values: np.ndarray, limits: Limits, rules: Rules = MDC_RULES
) -> dict[str, np.ndarray]:
    """For each rule, +1 or -1 at each point where a pattern of that rule *ends* above or below
    the centre (rising or falling for a trend), else 0: the week at which it could first be seen.

    outside: the point is beyond a limit. shift: it ends a run of ``rules.shift`` points on one
    side of the centre (a point on the centre line breaks a run). trend: it ends a run of
    ``rules.trend`` points each higher (or each lower) than the one before. two_of_three: two of
    it and the two points before it are beyond two sigma on the same side.
    Works along the last axis; ``limits`` broadcast against ``values``."""
    x = np.asarray(values, dtype=float)
    above, below = x > limits.centre, x < limits.centre
    out: dict[str, np.ndarray] = {}
    zero = np.zeros(x.shape, dtype=np.int8)
    if rules.outside:
        out["outside"] = (x > limits.upper).astype(np.int8) - (x < limits.lower).astype(np.int8)
    else:
        out["outside"] = zero
    if rules.shift:
        out["shift"] = (_runs(above) >= rules.shift).astype(np.int8) - (
            _runs(below) >= rules.shift
        ).astype(np.int8)
    else:
        out["shift"] = zero
    if rules.trend:
        step = np.diff(x, axis=-1)
        pad = np.zeros(x.shape[:-1] + (1,), dtype=bool)
        up = np.concatenate([pad, step > 0], axis=-1)
        down = np.concatenate([pad, step < 0], axis=-1)
        need = rules.trend - 1
        out["trend"] = (_runs(up) >= need).astype(np.int8) - (_runs(down) >= need).astype(np.int8)
    else:
        out["trend"] = zero
    if rules.two_of_three:
        hi = (x > limits.centre + 2 * limits.sigma).astype(np.int32)
        lo = (x < limits.centre - 2 * limits.sigma).astype(np.int32)
        out["two_of_three"] = (_window3(hi) >= 2).astype(np.int8) - (_window3(lo) >= 2).astype(
            np.int8
        )
    else:
        out["two_of_three"] = zero
    return out


def _window3(flags: np.ndarray) -> np.ndarray:
    """Sum of each point and the two before it (fewer at the start), along the last axis."""
    c = np.cumsum(flags, axis=-1)
    shifted = np.zeros_like(c)
    shifted[..., 3:] = c[..., :-3]
    out: np.ndarray = c - shifted
    return out


def signal_points(hits: dict[str, np.ndarray], rules: Rules = MDC_RULES) -> np.ndarray:
    """+1 / -1 for every point that is part of a signal (all the points of a shift or trend, the
    two-of-three window), 0 for common-cause points; one series (1-D) only."""
    n = len(next(iter(hits.values())))
    out = np.zeros(n, dtype=np.int8)
    span = {"outside": 1, "shift": rules.shift, "trend": rules.trend, "two_of_three": 3}
    for rule, h in hits.items():
        for i in np.flatnonzero(h):
            lo = max(0, i - span[rule] + 1)
            out[lo : i + 1] = np.where(out[lo : i + 1] == 0, h[i], out[lo : i + 1])
    return out


def meaning(side: int, better: int) -> str:
    """What a signal on ``side`` (+1 up, -1 down) means for a KPI whose better direction is
    ``better`` (+1 higher, -1 lower, 0 neither): improvement, concern, higher or lower."""
    if side == 0:
        return "common cause"
    if better == 0:
        return "higher" if side > 0 else "lower"
    return "improvement" if side * better > 0 else "concern"
