"""The study step of a PDSA cycle: observed weeks on SPC charts, held against the prediction.

For each measure the chart's centre and limits come from the weeks before the change date (and,
when asked, are set again from the weeks after it), the Making Data Count rules are applied, and
a sentence in plain words says whether a signal has shown, whether it is the predicted one and
how the observed mean after the change compares with the predicted range.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import FlowsimError
from .observed import ObservedWeeks
from .spc import (
    MDC_RULES,
    RULE_WORDS,
    RULES,
    Limits,
    Rules,
    meaning,
    p_limits,
    rule_hits,
    signal_points,
    xmr_limits,
)

Anchor = Literal["model", "observed"]


class StudyError(FlowsimError):
    """The observed weeks cannot be studied as asked; nothing was written."""


@dataclass
class KpiStudy:
    """One measure's chart and verdict."""

    kpi: str
    label: str
    unit: str
    better: int
    chart: str  # "xmr" or "p"
    weeks: tuple[dt.date, ...]
    values: np.ndarray
    denominators: np.ndarray | None
    after: np.ndarray  # bool per week: on or after the change date
    limits: Limits  # as drawn (set again after the change when re-phased)
    hits: dict[str, np.ndarray]  # as drawn
    signals: np.ndarray  # +1 / -1 / 0 per week, as drawn
    band: tuple[float, float, float] | None  # predicted low, middle, high of a single week
    first_signal: tuple[int, str, int] | None  # week after the change (1 = first), rule, side
    observed_mean: float
    predicted_mean: tuple[float, float] | None  # 95% range of the mean of the weeks observed
    weeks_needed: int | None
    verdict: str
    note: str = ""


def _fmt(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    if unit == "%":
        return f"{x:.1f}%"
    if unit == "minutes":
        return f"{x:.0f} min"
    return f"{x:.1f}"


def _mean_range(weekly: np.ndarray, k: int) -> tuple[float, float]:
    """The 95% range of the mean of ``k`` consecutive simulated weeks (all the weeks of each
    replication when it has fewer than ``k``)."""
    rows = np.asarray(weekly, dtype=float)
    if k >= rows.shape[1]:
        means = np.array(
            [r[np.isfinite(r)].mean() if np.isfinite(r).any() else np.nan for r in rows]
        )
    else:
        c = np.cumsum(np.nan_to_num(rows), axis=1)
        c = np.concatenate([np.zeros((rows.shape[0], 1)), c], axis=1)
        means = ((c[:, k:] - c[:, :-k]) / k).ravel()
    means = means[np.isfinite(means)]
    if len(means) == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _limits(obs: ObservedWeeks, use_p: bool, base: np.ndarray, points: np.ndarray) -> Limits:
    """Limits from the weeks ``base`` (a mask), for the weeks ``points`` (a mask)."""
    if use_p:
        assert obs.denominators is not None
        return p_limits(obs.values[base], obs.denominators[base], obs.denominators[points])
    return xmr_limits(obs.values[base], int(points.sum()))


def _join(a: Limits, b: Limits) -> Limits:
    return Limits(
        np.concatenate([a.centre, b.centre]),
        np.concatenate([a.sigma, b.sigma]),
        np.concatenate([a.lower, b.lower]),
        np.concatenate([a.upper, b.upper]),
        a.mr_bar,
    )


def study_kpi(
    obs: ObservedWeeks,
    pred: dict[str, Any],
    change_date: dt.date,
    rules: Rules = MDC_RULES,
    rephase: bool = False,
    anchor: Anchor = "model",
) -> KpiStudy:
    """Chart and verdict of one measure, from its observed weeks and its entry in a prediction."""
    kpi = obs.kpi
    label, unit = str(pred.get("label", kpi)), str(pred.get("unit", ""))
    better = int(pred.get("better_direction", 0))
    after = np.array([w >= change_date for w in obs.weeks])
    before = ~after
    use_p = pred.get("chart") == "p" and obs.denominators is not None
    note = ""
    if pred.get("chart") == "p" and obs.denominators is None:
        note = "no denominator for every week, so an XmR chart is drawn instead of a p-chart"
    need = 1 if use_p else 2
    if before.sum() < need:
        raise StudyError(
            f"{kpi}: {int(before.sum())} week(s) before the change date {change_date}; the "
            f"chart needs at least {need} to set its limits (Making Data Count suggests 15 to 20)"
        )
    every = np.ones(len(after), dtype=bool)
    base_limits = _limits(obs, use_p, before, every)
    base_hits = rule_hits(obs.values, base_limits, rules)
    limits, hits = base_limits, base_hits
    if rephase and after.sum() >= need:
        pre = _limits(obs, use_p, before, before)
        post = _limits(obs, use_p, after, after)
        limits = _join(pre, post)
        pre_hits = rule_hits(obs.values[before], pre, rules)
        post_hits = rule_hits(obs.values[after], post, rules)
        hits = {r: np.concatenate([pre_hits[r], post_hits[r]]) for r in RULES}
    signals = signal_points(hits, rules)

    eff = pred["effect"]
    effect = float(eff["mean"]) if eff.get("mean") is not None else math.nan
    direction = int(np.sign(effect)) if math.isfinite(effect) else 0
    model_base = pred["baseline"].get("mean")
    offset = 0.0
    if anchor == "observed" and model_base is not None:
        offset = float(np.mean(base_limits.centre)) - float(model_base)
    ch = pred["change"]
    band = None
    if all(ch.get(k) is not None for k in ("p2_5", "mean", "p97_5")):
        band = (ch["p2_5"] + offset, ch["mean"] + offset, ch["p97_5"] + offset)

    first_after = int(np.argmax(after)) if after.any() else len(after)
    n_after = int(after.sum())
    first: tuple[int, str, int] | None = None
    for i in range(first_after, len(after)):
        found = [(r, int(base_hits[r][i])) for r in RULES if base_hits[r][i] != 0]
        if direction:
            # The predicted direction first, so that a change seen is named as the one expected.
            found.sort(key=lambda rs: rs[1] != direction)
        if found:
            first = (i - first_after + 1, found[0][0], found[0][1])
            break
    observed_mean = float(obs.values[after].mean()) if n_after else math.nan
    weekly = pred["weekly"].get("change")
    predicted_mean = None
    if n_after and weekly:
        lo, hi = _mean_range(np.array(weekly, dtype=float), n_after)
        predicted_mean = (lo + offset, hi + offset)
    weeks_needed = pred.get("weeks_needed")
    verdict = _verdict(
        label, unit, better, direction, n_after, first, observed_mean, predicted_mean, weeks_needed
    )
    return KpiStudy(
        kpi, label, unit, better, "p" if use_p else "xmr", obs.weeks, obs.values,
        obs.denominators if use_p else None, after, limits, hits, signals, band, first,
        observed_mean, predicted_mean, weeks_needed, verdict, note,
    )  # fmt: skip


def _verdict(
    label: str,
    unit: str,
    better: int,
    direction: int,
    n_after: int,
    first: tuple[int, str, int] | None,
    observed: float,
    predicted: tuple[float, float] | None,
    weeks_needed: int | None,
) -> str:
    """The plain-words verdict of one measure."""
    against = (
        f"observed mean {_fmt(observed, unit)} against a predicted "
        f"{_fmt(predicted[0], unit)}–{_fmt(predicted[1], unit)}"
        if predicted is not None
        else ""
    )
    if n_after == 0:
        plan = (
            f"the model expects a signal within about {weeks_needed} weeks"
            if weeks_needed
            else "the model predicts a change too small to show on the chart"
        )
        return f"{label}: no weeks observed since the change yet; {plan}"
    if first is not None:
        week, rule, side = first
        kind = meaning(side, better)
        said = {"higher": "signal of a rise", "lower": "signal of a fall"}.get(
            kind, f"{kind} signal"
        )
        head = f"{label}: {said} ({RULE_WORDS[rule]}) from week {week} after the change"
        if direction == 0:
            return f"{head}, where the model predicted no change; {against}: worth studying why"
        if side != direction:
            return (
                f"{head}, the opposite of what the model predicted; {against}: worth studying why"
            )
        if predicted is None:
            return f"{head}: the direction the model predicted"
        beyond = (observed - predicted[1]) if side > 0 else (predicted[0] - observed)
        short = (predicted[0] - observed) if side > 0 else (observed - predicted[1])
        if beyond > 0:
            bigger = "improvement" if kind == "improvement" else "change"
            return (
                f"{head}; {against}: {bigger} larger than predicted: the model may "
                "underestimate the change — worth studying why"
            )
        if short > 0:
            return (
                f"{head}; {against}: smaller than predicted: the model may overestimate the "
                "change — worth studying why"
            )
        return f"{head}; {against}: consistent with the model"
    if weeks_needed is None:
        return (
            f"{label}: no signal, and none expected: against the week-to-week variation the "
            f"predicted change is too small to show on the chart; {against}"
        )
    if n_after < weeks_needed:
        more = weeks_needed - n_after
        return (
            f"{label}: no signal yet; about {more} more week{'s' if more != 1 else ''} needed "
            f"to see the predicted effect; {against}"
        )
    return (
        f"{label}: no signal after {n_after} weeks, though the model expected one within "
        f"{weeks_needed}; {against}: the change may be smaller than predicted — worth studying why"
    )


def study(
    observed: dict[str, ObservedWeeks],
    prediction: dict[str, Any],
    change_date: dt.date,
    rules: Rules = MDC_RULES,
    rephase: bool = False,
    anchor: Anchor = "model",
) -> list[KpiStudy]:
    """Every observed measure studied, in the prediction's order."""
    out = []
    for pred in prediction["kpis"]:
        obs = observed.get(pred["kpi"])
        if obs is not None:
            out.append(study_kpi(obs, pred, change_date, rules, rephase, anchor))
    return out


def points_table(studies: list[KpiStudy]) -> list[dict[str, object]]:
    """One row per measure and week: value, limits, the predicted band, and signals."""
    rows: list[dict[str, object]] = []
    for s in studies:
        for i, week in enumerate(s.weeks):
            ended = [r for r in RULES if s.hits[r][i] != 0]
            band = s.band if s.after[i] and s.band is not None else None
            rows.append(
                {
                    "kpi": s.kpi,
                    "week_start": week.isoformat(),
                    "phase": "after" if s.after[i] else "before",
                    "value": float(s.values[i]),
                    "denominator": (
                        float(s.denominators[i]) if s.denominators is not None else None
                    ),
                    "chart": s.chart,
                    "centre": float(s.limits.centre[i]),
                    "lower_limit": float(s.limits.lower[i]),
                    "upper_limit": float(s.limits.upper[i]),
                    "predicted_low": band[0] if band else None,
                    "predicted_mid": band[1] if band else None,
                    "predicted_high": band[2] if band else None,
                    "signal": meaning(int(s.signals[i]), s.better),
                    "rules_met": ";".join(ended),
                }
            )
    return rows
