"""Summaries across replications: means with Student t 95% confidence intervals, and paired
differences against a baseline (replication ``r`` of a change minus replication ``r`` of the
baseline, which share their random numbers).

The t quantile comes from ``scipy.special.stdtrit``, the function ``scipy.stats.t.ppf`` calls, so
the intervals are the same to the bit; ``scipy.stats`` itself takes most of a second to import.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONFIDENCE = 0.95


def mean_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)`` of the finite values; the interval is NaN for fewer than two."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, np.nan, 0)
    m = float(x.mean())
    if n < 2:
        return (m, np.nan, np.nan, n)
    from scipy.special import stdtrit  # here: only runs that summarise need scipy

    half = float(stdtrit(n - 1, 0.5 + confidence / 2) * x.std(ddof=1) / np.sqrt(n))
    return (m, m - half, m + half, n)


def mean_ci_by(
    frame: pd.DataFrame, keys: list[str], value: str, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """:func:`mean_ci` of column ``value`` for each group of ``keys`` at once (thousands of
    groups, such as the levels of every place, without a loop): columns ``keys``, ``mean``,
    ``ci_low``, ``ci_high``, ``n``, in the order the groups first appear."""
    finite = frame[np.isfinite(frame[value].to_numpy(float))]
    g = finite.groupby(keys, observed=True, sort=False)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy()
    from scipy.special import stdtrit  # here: only runs that summarise need scipy

    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n >= 2, stdtrit(np.maximum(n - 1, 1), 0.5 + confidence / 2), np.nan)
        half = t * out["std"].to_numpy(float) / np.sqrt(n)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out.rename(columns={"count": "n"})[[*keys, "mean", "ci_low", "ci_high", "n"]]


def summarise(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and KPI: mean, ci_low, ci_high, n."""
    rows = []
    for (scenario, kpi), g in kpis.groupby(["scenario", "kpi"], observed=True, sort=False):
        m, lo, hi, n = mean_ci(g["value"].to_numpy())
        rows.append((scenario, kpi, m, lo, hi, n))
    return pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "ci_low", "ci_high", "n"])


def paired_differences(kpis: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per other scenario and KPI: both means and the paired difference with its CI."""
    wide = kpis.pivot_table(
        index=["kpi", "replication"],
        columns="scenario",
        values="value",
        observed=True,
        dropna=False,
        aggfunc="first",
    )
    if baseline not in wide.columns:
        raise KeyError(f"baseline scenario '{baseline}' is not in the results")
    rows = []
    kpi_order = list(dict.fromkeys(kpis["kpi"]))
    for scenario in [c for c in wide.columns if c != baseline]:
        for kpi in kpi_order:
            g = wide.loc[kpi]
            b, c = g[baseline].to_numpy(float), g[scenario].to_numpy(float)
            bm, *_ = mean_ci(b)
            cm, *_ = mean_ci(c)
            d, lo, hi, n = mean_ci(c - b)
            rows.append((scenario, kpi, bm, cm, d, lo, hi, n))
    return pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "kpi",
            "baseline_mean",
            "scenario_mean",
            "difference",
            "ci_low",
            "ci_high",
            "n",
        ],
    )
