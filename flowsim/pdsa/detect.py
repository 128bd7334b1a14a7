"""How many weeks after a change an SPC chart is likely to show it: the length to plan a PDSA
cycle for.

Many PDSA cycles are played out on paper: weeks before the change are drawn from the baseline's
weekly values, weeks after it from the change's, the chart's limits are set from the weeks
before, and the rules are applied. The share of cycles with a signal in the predicted direction
by week ``n`` after the change is the chance of seeing the effect within ``n`` weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spc import MDC_RULES, MR_TO_LIMITS, Limits, Rules, rule_hits

POWER = 0.8
"""The chance of seeing the effect that a plan should reach."""


@dataclass(frozen=True)
class Weeks:
    """Weekly values to draw from (and, for a p-chart, each week's denominator)."""

    values: np.ndarray
    denominators: np.ndarray | None = None


def _limits(x: np.ndarray, n: np.ndarray | None, before: int) -> Limits:
    """Limits of each simulated chart (rows of ``x``) from its first ``before`` points."""
    base = x[:, :before]
    if n is None:
        centre = base.mean(axis=1, keepdims=True)
        half = MR_TO_LIMITS * np.abs(np.diff(base, axis=1)).mean(axis=1, keepdims=True)
        return Limits(centre, half / 3.0, centre - half, centre + half)
    bn = n[:, :before]
    p = (base / 100.0 * bn).sum(axis=1, keepdims=True) / bn.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = 100.0 * np.sqrt(p * (1.0 - p) / n)
    centre = np.broadcast_to(100.0 * p, x.shape)
    return Limits(
        centre,
        sigma,
        np.clip(centre - 3 * sigma, 0.0, 100.0),
        np.clip(centre + 3 * sigma, 0.0, 100.0),
    )


def detection_curve(
    before: Weeks,
    after: Weeks,
    direction: int,
    rng: np.random.Generator,
    baseline_weeks: int = 26,
    max_weeks: int = 26,
    runs: int = 2000,
    rules: Rules = MDC_RULES,
) -> np.ndarray:
    """The chance of a signal in ``direction`` (+1 up, -1 down) on a chart of ``baseline_weeks``
    drawn from ``before`` and then up to ``max_weeks`` drawn from ``after``: element ``n - 1`` is
    the chance of one at or before week ``n`` after the change. A signal must end after the
    change (a shift may start before it). Weeks are drawn independently, with replacement."""
    use_p = before.denominators is not None and after.denominators is not None
    bi = rng.integers(len(before.values), size=(runs, baseline_weeks))
    ai = rng.integers(len(after.values), size=(runs, max_weeks))
    x = np.concatenate([before.values[bi], after.values[ai]], axis=1)
    n = None
    if use_p:
        assert before.denominators is not None and after.denominators is not None
        n = np.concatenate([before.denominators[bi], after.denominators[ai]], axis=1)
    hits = rule_hits(x, _limits(x, n, baseline_weeks), rules)
    seen = np.zeros((runs, max_weeks), dtype=bool)
    for h in hits.values():
        seen |= h[:, baseline_weeks:] == direction
    first = np.where(seen.any(axis=1), seen.argmax(axis=1), max_weeks)
    return np.array([(first < k).mean() for k in range(1, max_weeks + 1)])


def weeks_needed(curve: np.ndarray, power: float = POWER) -> int | None:
    """The first week after the change by which the chance of a signal (``curve``) reaches
    ``power``, or None if it does not within the curve."""
    reached = np.flatnonzero(curve >= power)
    return int(reached[0]) + 1 if len(reached) else None
