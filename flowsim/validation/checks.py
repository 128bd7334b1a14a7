"""What one validation check is, and the pass rule shared by all of them.

A statistical check passes when the independent value lies inside the simulated confidence
interval at level :data:`CHECK_CONFIDENCE` (Student t over replications); a cross-check
between two simulators passes when their intervals at that level overlap; a goodness-of-fit
check passes when its p-value is at least ``1 - CHECK_CONFIDENCE``; an exact check passes when
the simulated value equals the hand-worked one to :data:`EXACT_TOLERANCE` minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..stats import mean_ci

CHECK_CONFIDENCE = 0.999
"""Level of each check's pass interval, the same for every check. The chance that a correct
engine fails any of K statistical checks is at most K x 0.1% (Bonferroni); the report states
K. Seeds are fixed, so a pass is repeatable."""
STATISTICAL_RULES = ("expected in CI", "0 in CI of paired difference", "CIs overlap", "chi-square")
EXACT_TOLERANCE = 1e-6


@dataclass
class Check:
    """One comparison: a simulated measure against its independent value."""

    measure: str
    expected: float
    mean: float
    ci95: tuple[float, float]
    band: tuple[float, float]
    passed: bool
    rule: str
    n: int = 0
    expected_text: str = ""
    simulated_text: str = ""

    @classmethod
    def in_ci(
        cls, measure: str, expected: float, values: np.ndarray, rule: str = "expected in CI"
    ) -> Check:
        """The expected value must lie in the simulated interval at :data:`CHECK_CONFIDENCE`."""
        m, lo95, hi95, n = mean_ci(values)
        _, lo, hi, _ = mean_ci(values, CHECK_CONFIDENCE)
        return cls(
            measure, expected, m, (lo95, hi95), (lo, hi), bool(lo <= expected <= hi), rule, n
        )

    @classmethod
    def overlap(
        cls, measure: str, values: np.ndarray, reference: np.ndarray, reference_name: str
    ) -> Check:
        """The two simulators' intervals at :data:`CHECK_CONFIDENCE` must overlap."""
        m, lo95, hi95, n = mean_ci(values)
        _, lo, hi, _ = mean_ci(values, CHECK_CONFIDENCE)
        rm, rlo95, rhi95, rn = mean_ci(reference)
        _, rlo, rhi, _ = mean_ci(reference, CHECK_CONFIDENCE)
        return cls(
            measure,
            rm,
            m,
            (lo95, hi95),
            (lo, hi),
            bool(lo <= rhi and rlo <= hi),
            "CIs overlap",
            n,
            expected_text=f"{reference_name} {rm:.4g} ({rlo95:.4g}, {rhi95:.4g})",
        )

    @classmethod
    def exact(cls, measure: str, expected: float, values: np.ndarray) -> Check:
        """Every simulated value must equal ``expected`` to :data:`EXACT_TOLERANCE`."""
        v = np.asarray(values, dtype=float)
        lo, hi = (float(v.min()), float(v.max())) if len(v) else (np.nan, np.nan)
        ok = bool(len(v)) and bool(np.all(np.abs(v - expected) <= EXACT_TOLERANCE))
        return cls(
            measure,
            expected,
            float(v.mean()) if len(v) else np.nan,
            (lo, hi),
            (lo, hi),
            ok,
            "exact",
            len(v),
            simulated_text=f"all {len(v)} in [{lo:.6g}, {hi:.6g}]",
        )

    @classmethod
    def goodness_of_fit(cls, measure: str, statistic: float, df: int, p_value: float) -> Check:
        """A chi-square test; passes when ``p_value >= 1 - CHECK_CONFIDENCE``."""
        return cls(
            measure,
            float(df),
            statistic,
            (np.nan, np.nan),
            (np.nan, np.nan),
            bool(p_value >= 1 - CHECK_CONFIDENCE),
            "chi-square",
            df,
            expected_text=f"chi-square, {df} df",
            simulated_text=f"chi-square {statistic:.1f}, p = {p_value:.3f}",
        )


@dataclass
class CaseResult:
    """A case's checks and the settings it ran with."""

    name: str
    title: str
    kind: str
    source: str
    replications: int
    warmup_days: float
    length_days: float
    seconds: float
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)
