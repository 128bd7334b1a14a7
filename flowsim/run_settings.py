"""Choosing run settings: how long a warm-up to discard, and how many replications to run.

- **Warm-up.** A scenario starts empty, so its first days are not typical. :func:`daily_series`
  runs a scenario from time zero and measures a KPI day by day; :func:`welch` smooths the mean
  across replications with Welch's moving average (P. D. Welch, "The statistical analysis of
  simulation results", in *The Computer Performance Modeling Handbook*, 1983), for a plot to
  judge by eye; :func:`mser` applies the MSER-5 rule (K. P. White, M. J. Cobb and S. C.
  Spratt, "A comparison of five steady-state truncation heuristics", *Proceedings of the 2000
  Winter Simulation Conference*), which picks the truncation point that minimises the
  squared standard error of the mean of what is left.
- **Replications.** The confidence-interval method (S. Robinson, *Simulation: The Practice of
  Model Development and Use*, 2nd ed., 2014, section 9.6; K. Hoad, S. Robinson and R. Davies,
  "Automated selection of the number of replications for a discrete-event simulation",
  *JORS* 61, 2010): add replications until the 95% CI half-width of every chosen KPI is within a
  chosen percentage of its mean, and stays there for a few more (the look-ahead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .engine import simulate
from .errors import FlowsimError
from .experiment import run_replication, worker_pool
from .kpis import KPIS, compute_kpis
from .scenario import Scenario
from .stats import CONFIDENCE, mean_ci

DAY = 1440.0
NOT_BY_DAY = (
    "wait_mean.",
    "in_system_at_end",
    "in_department_at_end",
    "delayed_discharge_bed_days",
)
"""KPIs the engine totals over the whole window, so they cannot be measured day by day."""


# -- warm-up -------------------------------------------------------------------------------------
@dataclass
class Mser:
    """The MSER result: ``truncate`` observations to discard (a multiple of ``batch``), the
    statistic for each candidate number of batches, and whether the minimum fell in the
    first half of the series (if not, the series is too short to trust it: run longer)."""

    truncate: int
    batch: int
    statistic: np.ndarray
    reliable: bool


def mser(series: Sequence[float] | np.ndarray, batch: int = 5) -> Mser:
    """MSER-``batch`` truncation point of ``series`` (MSER-5 by default).

    The series is cut into means of ``batch`` consecutive observations Z_1..Z_k (a part batch
    at the end is dropped). For each d = 0..k-1, MSER(d) = sum_{j>d} (Z_j - mean_{j>d} Z)^2 /
    (k - d)^2; the truncation is ``batch * d`` for the d minimising it, searched over the first
    half of the series only (beyond it the statistic is unstable).
    """
    x = np.asarray(series, dtype=float)
    k = len(x) // batch
    if k < 4:
        raise ValueError(f"MSER-{batch} needs at least {4 * batch} observations, got {len(x)}")
    z = x[: k * batch].reshape(k, batch).mean(axis=1)
    stat = np.empty(k - 1)
    for d in range(k - 1):
        rest = z[d:]
        stat[d] = float(((rest - rest.mean()) ** 2).sum()) / len(rest) ** 2
    half = k // 2
    d_all = int(np.argmin(stat))
    d_best = int(np.argmin(stat[: half + 1]))
    return Mser(truncate=batch * d_best, batch=batch, statistic=stat, reliable=d_all <= half)


def welch(by_replication: np.ndarray, window: int) -> np.ndarray:
    """Welch's moving average of the mean across replications (rows are replications, columns
    periods): at period i it averages the 2w+1 means centred on i, or the 2i-1 means from the
    first where fewer than w lie before it. Its length is m - w for m periods."""
    y = np.asarray(by_replication, dtype=float)
    ybar = y.mean(axis=0) if y.ndim == 2 else y
    m = len(ybar)
    if window < 1 or window > (m - 1) // 2:
        raise ValueError(f"the window must be between 1 and {(m - 1) // 2} for {m} periods")
    out = np.empty(m - window)
    for i in range(m - window):  # i is 0-based: period i+1
        w = min(i, window)
        out[i] = ybar[i - w : i + w + 1].mean()
    return out


def _daily(scenario: Scenario, replication: int, seed: int, kpi: str) -> np.ndarray:
    rec = simulate(scenario, replication, seed)
    days = int(scenario.horizon // DAY)
    out = np.empty(days)
    for d in range(days):
        s = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"warmup": d * DAY, "length": DAY})}
        )
        out[d] = compute_kpis(replace(rec, scenario=s, horizon=(d + 1) * DAY)).get(kpi, np.nan)
    return out


def daily_series(
    scenario: Scenario,
    kpi: str,
    replications: int | None = None,
    seed: int | None = None,
    days: float | None = None,
    jobs: int = 1,
) -> pd.DataFrame:
    """The KPI day by day from time zero (no warm-up), one column per replication.

    The scenario is run for ``days`` (default: its warm-up plus run length) with the warm-up
    set to zero, so that every day from the empty start is measured.
    """
    if kpi.startswith(NOT_BY_DAY):
        known = ", ".join(k.pattern for k in KPIS if not k.pattern.startswith(NOT_BY_DAY))
        raise FlowsimError(f"KPI '{kpi}' cannot be measured day by day (choose from: {known})")
    total = scenario.horizon if days is None else days * DAY
    s = scenario.model_copy(
        update={"run": scenario.run.model_copy(update={"warmup": 0.0, "length": total})}
    )
    reps = replications if replications is not None else scenario.run.replications
    master = seed if seed is not None else scenario.run.seed
    workers = max(1, min(jobs if jobs > 0 else (os.cpu_count() or 1), reps))
    if workers == 1:
        cols = [_daily(s, r, master, kpi) for r in range(reps)]
    else:
        with worker_pool(workers) as pool:
            cols = list(pool.map(_daily, [s] * reps, range(reps), [master] * reps, [kpi] * reps))
    if np.all(np.isnan(cols)):
        raise FlowsimError(f"scenario '{scenario.name}' has no KPI '{kpi}'")
    frame = pd.DataFrame(np.array(cols).T, columns=[f"replication_{r}" for r in range(reps)])
    frame.insert(0, "day", np.arange(len(frame)))
    return frame


@dataclass
class WarmupAdvice:
    """A warm-up study of one KPI: the daily series, Welch's curve and the MSER-5 point."""

    kpi: str
    series: pd.DataFrame  # day, mean, welch, replication_0..
    mser: Mser
    window: int

    @property
    def warmup_days(self) -> int:
        return self.mser.truncate


def warmup_study(
    scenario: Scenario,
    kpi: str,
    replications: int | None = None,
    seed: int | None = None,
    days: float | None = None,
    window: int = 7,
    jobs: int = 1,
) -> WarmupAdvice:
    """Run the scenario from empty and suggest a warm-up (in whole days) for ``kpi``, by MSER-5
    on the daily mean across replications; Welch's curve is returned for plotting."""
    daily = daily_series(scenario, kpi, replications, seed, days, jobs)
    y = daily.drop(columns="day").to_numpy().T
    mean = np.nanmean(y, axis=0)
    curve = welch(mean, window)
    out = daily.copy()
    out.insert(1, "mean", mean)
    out.insert(2, "welch", np.concatenate([curve, np.full(len(mean) - len(curve), np.nan)]))
    return WarmupAdvice(kpi, out, mser(np.nan_to_num(mean, nan=float(np.nanmean(mean)))), window)


def welch_chart(advice: WarmupAdvice, path: str) -> bool:
    """Write Welch's curve as one self-contained HTML file, Vega inlined, that opens offline
    (Altair and vl-convert, from the ``app`` extra); return False, writing nothing, if they are
    not installed."""
    try:
        import altair as alt
        import vl_convert  # noqa: F401 - what inlines Vega into the file
    except ImportError:
        return False
    data = advice.series[["day", "mean", "welch"]].melt("day", var_name="line", value_name="v")
    base = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("day:Q", title="day from empty start"),
            y=alt.Y("v:Q", title=advice.kpi),
            color=alt.Color("line:N", title=None),
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"day": [advice.warmup_days]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(x="day:Q")
    )
    (base + rule).properties(
        title=f"Welch plot of {advice.kpi} (window {advice.window} days); dashed: MSER-5",
        width=640,
        height=320,
    ).save(path, inline=True)  # Vega inside the file: it opens offline, and loads nothing
    return True


# -- replications ------------------------------------------------------------------------------
@dataclass
class ReplicationAdvice:
    """Cumulative mean and CI half-width (as % of the mean) of each KPI after each number of
    replications, and the number recommended (None if ``max_replications`` was not enough)."""

    table: pd.DataFrame  # replications, kpi, mean, ci_low, ci_high, half_width_pct
    precision_pct: float
    recommended: int | None


def replications_table(
    values: Mapping[str, Sequence[float] | np.ndarray],
    precision: float,
    look_ahead: int = 5,
    confidence: float = CONFIDENCE,
) -> ReplicationAdvice:
    """The confidence-interval method on values already simulated (one per replication).

    ``precision`` is the largest half-width allowed, as a share of the mean (0.05 for 5%). The
    recommendation is the smallest n >= 3 at which every KPI meets it, provided every KPI still
    meets it at each later n up to n + ``look_ahead`` (all of which must have been run).
    """
    rows = []
    n_max = min(len(v) for v in values.values())
    ok = np.ones(n_max + 1, dtype=bool)
    ok[:3] = False
    for kpi, v in values.items():
        x = np.asarray(v, dtype=float)
        for n in range(2, n_max + 1):
            m, lo, hi, _ = mean_ci(x[:n], confidence)
            pct = 100.0 * (hi - m) / abs(m) if m != 0 else np.inf
            rows.append((n, kpi, m, lo, hi, pct))
            if not pct <= 100.0 * precision:
                ok[n] = False
        ok[:2] = False
    table = pd.DataFrame(
        rows, columns=["replications", "kpi", "mean", "ci_low", "ci_high", "half_width_pct"]
    )
    recommended = None
    for n in range(3, n_max - look_ahead + 1):
        if ok[n : n + look_ahead + 1].all():
            recommended = n
            break
    return ReplicationAdvice(table, 100.0 * precision, recommended)


def replications_needed(
    scenario: Scenario,
    kpis: Sequence[str],
    precision: float = 0.05,
    max_replications: int = 100,
    look_ahead: int = 5,
    seed: int | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ReplicationAdvice:
    """Run replications of ``scenario`` (with its own warm-up and length) until every KPI in
    ``kpis`` meets ``precision`` with the look-ahead, or ``max_replications`` is reached."""
    master = seed if seed is not None else scenario.run.seed
    workers = max(1, jobs if jobs > 0 else (os.cpu_count() or 1))
    values: dict[str, list[float]] = {k: [] for k in kpis}
    pool = worker_pool(workers) if workers > 1 else None
    try:
        n = 0
        advice = replications_table({k: [np.nan] for k in kpis}, precision, look_ahead)
        while n < max_replications:
            batch = range(n, min(n + workers, max_replications))
            if pool is None:
                done = [run_replication(scenario, r, master) for r in batch]
            else:
                done = list(
                    pool.map(run_replication, [scenario] * len(batch), batch, [master] * len(batch))
                )
            for res in done:
                for k in kpis:
                    if k not in res.kpis:
                        raise FlowsimError(f"scenario '{scenario.name}' has no KPI '{k}'")
                    values[k].append(res.kpis[k])
            n = batch.stop
            if progress:
                progress(n)
            advice = replications_table(values, precision, look_ahead)
            if advice.recommended is not None:
                break
        return advice
    finally:
        if pool is not None:
            pool.shutdown()
