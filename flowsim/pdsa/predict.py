"""A prediction recorded before a test of change: a single week's value of each PDSA measure
under the baseline and the change, the predicted effect, and the weeks needed to see it.

The record is plain JSON (format ``flowsim-prediction``, version :data:`VERSION`, described in
``docs/pdsa.md``) so that it can be kept with the PDSA form and read back by ``flowsim study``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ..errors import FlowsimError
from ..kpis import better_direction, kpi_info, label
from ..loader import scenario_hash, scenario_yaml
from ..scenario import Scenario, with_run_length
from ..streams import stream
from .detect import POWER, Weeks, detection_curve, weeks_needed
from .spc import MDC_RULES, Rules
from .weekly import DENOMINATOR, measures_of, simulate_weeks

FORMAT = "flowsim-prediction"
VERSION = 1
QUANTILES = {"p2_5": 2.5, "p10": 10.0, "p50": 50.0, "p90": 90.0, "p97_5": 97.5}
"""The quantiles of a single week's value each prediction lists (the 95% and 80% intervals)."""
WEEKS_AFTER = 26
"""The longest PDSA cycle the weeks-needed figure looks at, in weeks after the change."""


class PredictionError(FlowsimError):
    """A prediction file cannot be read, or a prediction cannot be made as asked."""


def prepare(
    scenario: Scenario, weeks: int, warmup_days: float | None, start: dt.date | None
) -> Scenario:
    """``scenario`` run for ``weeks`` weeks after its warm-up, the measured weeks beginning on
    ``start`` when given (so weekdays and dated changes fall as they will in real life)."""
    s = with_run_length(scenario, weeks * 7.0, warmup_days)
    if start is None:
        return s
    if s.run.warmup % 1440.0:
        raise PredictionError("--from needs a warm-up of whole days (see --warmup-days)")
    first = start - dt.timedelta(days=int(s.run.warmup // 1440.0))
    return s.model_copy(update={"start": first})


def _run_all(
    scenarios: list[Scenario],
    replications: int,
    seed: int,
    weeks: int,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> list[list[dict[str, np.ndarray]]]:
    """Weekly values of every replication of every scenario, in order (replication ``r`` of
    each scenario uses the same streams, so the change is compared week by week)."""
    tasks = [(i, r) for i in range(len(scenarios)) for r in range(replications)]
    out: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    total = len(tasks)
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    if workers == 1 or total == 1:
        for k, (i, r) in enumerate(tasks):
            out[(i, r)] = simulate_weeks(scenarios[i], r, seed, weeks)
            if progress:
                progress(k + 1, total)
    else:
        from concurrent.futures import as_completed

        from ..experiment import worker_pool

        with worker_pool(min(workers, total)) as pool:
            futures = {
                pool.submit(simulate_weeks, scenarios[i], r, seed, weeks): (i, r) for i, r in tasks
            }
            for k, fut in enumerate(as_completed(futures)):
                out[futures[fut]] = fut.result()
                if progress:
                    progress(k + 1, total)
    return [[out[(i, r)] for r in range(replications)] for i in range(len(scenarios))]


def _distribution(values: np.ndarray) -> dict[str, float]:
    flat = values[np.isfinite(values)]
    if len(flat) == 0:
        return {"mean": math.nan, "sd": math.nan, **{k: math.nan for k in QUANTILES}}
    q = np.percentile(flat, list(QUANTILES.values()))
    return {
        "mean": float(flat.mean()),
        "sd": float(flat.std(ddof=1)) if len(flat) > 1 else 0.0,
        **{k: float(v) for k, v in zip(QUANTILES, q, strict=True)},
    }


def _row_means(a: np.ndarray) -> np.ndarray:
    """The mean of each row's finite values (NaN for a row with none), without warnings."""
    ok = np.isfinite(a)
    n = ok.sum(axis=1)
    total = np.where(ok, a, 0.0).sum(axis=1)
    out: np.ndarray = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out


def _effect(base: np.ndarray, change: np.ndarray) -> dict[str, float]:
    """The change minus the baseline: the mean effect with its 95% CI (paired by replication),
    and the 95% range of the effect on a single week (paired week by week)."""
    per_rep = _row_means(change) - _row_means(base)
    per_rep = per_rep[np.isfinite(per_rep)]
    mean = float(per_rep.mean()) if len(per_rep) else math.nan
    if len(per_rep) > 1:
        half = float(
            stats.t.ppf(0.975, len(per_rep) - 1) * per_rep.std(ddof=1) / math.sqrt(len(per_rep))
        )
    else:
        half = math.nan
    weekly = (change - base)[np.isfinite(change - base)]
    lo, hi = np.percentile(weekly, [2.5, 97.5]) if len(weekly) else (math.nan, math.nan)
    return {
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "week_low": float(lo),
        "week_high": float(hi),
    }


def _weeks(values: np.ndarray, denominators: np.ndarray | None) -> Weeks:
    """Every simulated week with a value, pooled over replications."""
    ok = np.isfinite(values.ravel())
    den = denominators.ravel()[ok] if denominators is not None else None
    return Weeks(values.ravel()[ok], den)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN becomes null, arrays become lists."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else round(float(x), 6)
    if isinstance(x, np.integer):
        return int(x)
    return x


def predict(
    baseline: Scenario,
    change: Scenario,
    weeks: int = 12,
    replications: int | None = None,
    seed: int | None = None,
    warmup_days: float | None = None,
    start: dt.date | None = None,
    jobs: int = 1,
    baseline_weeks: int = 26,
    rules: Rules = MDC_RULES,
    runs: int = 2000,
    files: tuple[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The prediction record (see the module docstring) of ``change`` against ``baseline``.
    ``baseline_weeks`` is how many weeks before the change the coach's chart will have (for the
    weeks-needed figure); ``runs`` the number of simulated PDSA cycles behind it; ``jobs`` the
    worker processes (0: one per core). The record is the same for any number of them."""
    from .. import __version__

    if weeks < 1:
        raise PredictionError("--weeks must be at least 1")
    if baseline.name == change.name:
        raise PredictionError(
            f"the baseline and the change have the same name '{change.name}'; give each its own"
        )
    reps = replications if replications is not None else baseline.run.replications
    master = seed if seed is not None else baseline.run.seed
    if reps < 2:
        raise PredictionError("a prediction needs at least 2 replications")
    scenarios = [prepare(s, weeks, warmup_days, start) for s in (baseline, change)]
    runs_by = _run_all(scenarios, reps, master, weeks, jobs, progress)
    measures = [m for m in measures_of(scenarios[0]) if m in measures_of(scenarios[1])]
    kpis = []
    for m in measures:
        arrays = [np.array([rep[m] for rep in runs_by[i]]) for i in (0, 1)]
        den_name = DENOMINATOR.get(m)
        dens = (
            [np.array([rep[den_name] for rep in runs_by[i]]) for i in (0, 1)] if den_name else None
        )
        info = kpi_info(m)
        effect = _effect(arrays[0], arrays[1])
        direction = int(np.sign(effect["mean"])) if math.isfinite(effect["mean"]) else 0
        curve = np.zeros(WEEKS_AFTER)
        false_alarm = np.zeros(WEEKS_AFTER)
        if direction:
            rng = stream(master, 0, f"pdsa.detect.{m}")
            before = _weeks(arrays[0], dens[0] if dens else None)
            curve = detection_curve(
                before,
                _weeks(arrays[1], dens[1] if dens else None),
                direction,
                rng,
                baseline_weeks,
                WEEKS_AFTER,
                runs,
                rules,
            )
            false_alarm = detection_curve(
                before,
                before,
                direction,
                rng,
                baseline_weeks,
                WEEKS_AFTER,
                runs,
                rules,
            )
        kpis.append(
            {
                "kpi": m,
                "label": label(m),
                "unit": info.unit if info else "",
                "better": info.better if info else "neither",
                "better_direction": better_direction(m),
                "chart": "p" if den_name else "xmr",
                "denominator": den_name,
                "baseline": _distribution(arrays[0]),
                "change": _distribution(arrays[1]),
                "effect": effect,
                "weeks_needed": weeks_needed(curve) if direction else None,
                "chance_of_signal": curve,
                "chance_of_false_signal": false_alarm,
                "weekly": {
                    "baseline": arrays[0],
                    "change": arrays[1],
                    **(
                        {"baseline_denominator": dens[0], "change_denominator": dens[1]}
                        if dens is not None
                        else {}
                    ),
                },
            }
        )
    record: dict[str, Any] = _clean(
        {
            "format": FORMAT,
            "version": VERSION,
            "flowsim_version": __version__,
            "seed": master,
            "replications": reps,
            "weeks": weeks,
            "warmup_days": scenarios[0].run.warmup / 1440.0,
            "from": start.isoformat() if start else None,
            "baseline_weeks": baseline_weeks,
            "power": POWER,
            "simulated_cycles": runs,
            "rules": {"shift": rules.shift, "trend": rules.trend},
            "scenarios": {
                role: {
                    "name": s.name,
                    "hash": scenario_hash(s),
                    "file": files[k] if files else None,
                    "yaml": scenario_yaml(s),
                }
                for k, (role, s) in enumerate(zip(("baseline", "change"), scenarios, strict=True))
            },
            "kpis": kpis,
        }
    )
    return record


def effect_sentence(kpi: dict[str, Any]) -> str:
    """One measure's predicted effect and the weeks needed to see it, in plain words."""
    eff, unit = kpi["effect"], kpi.get("unit", "")
    unit = "percentage points" if unit == "%" else unit
    if eff.get("mean") is None:
        return f"{kpi['label']}: no effect could be measured"
    ci = (
        f" (95% CI {eff['ci_low']:+.2f} to {eff['ci_high']:+.2f})"
        if eff.get("ci_low") is not None
        else ""
    )
    need = kpi.get("weeks_needed")
    chance = kpi.get("chance_of_false_signal") or []
    by_chance = (
        f" (by chance alone, {100 * chance[need - 1]:.0f}% of cycles would show a signal that "
        "way by then)"
        if need and len(chance) >= need and chance[need - 1] is not None
        else ""
    )
    see = (
        f"about {need} week{'s' if need != 1 else ''} after the change to see it on the "
        f"chart{by_chance}"
        if need
        else f"not expected to show on the chart within {WEEKS_AFTER} weeks"
    )
    return f"{kpi['label']}: predicted effect {eff['mean']:+.2f} {unit}{ci}; {see}"


def prediction_json(record: dict[str, Any]) -> str:
    """The record as the text of a prediction file."""
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def load_prediction(path: Path) -> dict[str, Any]:
    """A prediction file, read and checked enough for ``flowsim study``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PredictionError(f"{path}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise PredictionError(f"{path}: not a text file (UTF-8)") from e
    return parse_prediction(text, str(path))


def parse_prediction(text: str, name: str) -> dict[str, Any]:
    """A prediction from its text (``name`` is said in errors)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PredictionError(f"{name}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PredictionError(f"{name}: not a flowsim prediction (made by 'flowsim predict')")
    if data.get("version") != VERSION:
        raise PredictionError(
            f"{name}: prediction format version {data.get('version')!r}; this flowsim reads "
            f"version {VERSION}"
        )
    kpis = data.get("kpis")
    if not isinstance(kpis, list) or not all(isinstance(k, dict) and "kpi" in k for k in kpis):
        raise PredictionError(f"{name}: kpis: expected a list of measures")
    for k in kpis:
        for part in ("baseline", "change", "effect", "weekly"):
            if not isinstance(k.get(part), dict):
                raise PredictionError(f"{name}: kpis: {k['kpi']}: {part}: missing")
    return data
