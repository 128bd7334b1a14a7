"""Summaries: t confidence intervals and paired differences, against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flowsim.stats import mean_ci, paired_differences, summarise


def test_mean_ci_matches_the_t_interval_by_hand() -> None:
    x = np.array([2.0, 4.0, 6.0, 8.0])
    # mean 5, sd sqrt(20/3), t(0.975, 3) = 3.182446305284263 (standard tables)
    half = 3.182446305284263 * math.sqrt(20 / 3) / 2
    m, lo, hi, n = mean_ci(x)
    assert (m, n) == (5.0, 4)
    assert lo == pytest.approx(5 - half, rel=1e-12)
    assert hi == pytest.approx(5 + half, rel=1e-12)


def test_mean_ci_ignores_nan_and_needs_two_values() -> None:
    m, lo, hi, n = mean_ci(np.array([3.0, np.nan]))
    assert (m, n) == (3.0, 1) and math.isnan(lo) and math.isnan(hi)
    m, lo, hi, n = mean_ci(np.array([np.nan]))
    assert n == 0 and math.isnan(m)


def test_intervals_cover_the_true_mean_about_95_percent_of_the_time() -> None:
    # 2000 samples of 10 normal values: coverage is binomial(2000, 0.95), sd 0.49 points, so
    # 93.5-96.5% is a +-3 sd band.
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(2000):
        _, lo, hi, _ = mean_ci(rng.normal(7.0, 2.0, 10))
        hits += lo <= 7.0 <= hi
    assert 0.935 <= hits / 2000 <= 0.965


def _kpis(rows: list[tuple[str, int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"])


def test_summary_has_one_row_per_scenario_and_kpi() -> None:
    df = _kpis(
        [("a", r, k, float(r + i)) for r in range(3) for i, k in enumerate(["x", "y"])]
        + [("b", r, "x", 10.0 + r) for r in range(3)]
    )
    s = summarise(df)
    assert list(zip(s["scenario"], s["kpi"], strict=True)) == [("a", "x"), ("a", "y"), ("b", "x")]
    assert s.set_index(["scenario", "kpi"]).loc[("b", "x"), "mean"] == 11.0


def test_paired_difference_uses_replication_by_replication_differences() -> None:
    base = [10.0, 20.0, 30.0, 40.0]
    change = [11.0, 21.5, 30.5, 41.0]  # differences 1, 1.5, 0.5, 1
    df = _kpis(
        [("base", r, "k", v) for r, v in enumerate(base)]
        + [("change", r, "k", v) for r, v in enumerate(change)]
    )
    row = paired_differences(df, "base").iloc[0]
    d = np.array(change) - np.array(base)
    m, lo, hi, n = mean_ci(d)
    assert row["difference"] == pytest.approx(m) and row["n"] == n == 4
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    # Paired is far tighter than comparing the two means unpaired: the spread between
    # replications (10 to 40) cancels out.
    assert hi - lo < 2.0
    assert row["baseline_mean"] == 25.0 and row["scenario_mean"] == pytest.approx(26.0)


def test_paired_differences_need_the_baseline() -> None:
    with pytest.raises(KeyError, match="baseline scenario 'nope'"):
        paired_differences(_kpis([("a", 0, "k", 1.0)]), "nope")


def test_verdicts_know_which_way_is_better() -> None:
    from flowsim.kpis import verdict

    assert verdict("four_hour_pct", 0.5, 2.0) == "better"
    assert verdict("four_hour_pct", -2.0, -0.5) == "worse"
    assert verdict("dta_over_12h_count", -9.0, -1.0) == "better"
    assert verdict("wait_mean.triage", 1.0, 3.0) == "worse"
    assert verdict("time_in_department_mean", -1.0, 2.0) == "no clear difference"
    assert verdict("occupancy_mean_pct.wards", -3.0, -1.0) == "lower"
    assert verdict("attendances_per_day", 1.0, 2.0) == "higher"
    assert verdict("four_hour_pct", float("nan"), float("nan")) == ""
