"""Experiments: replications of one or more scenarios, run serially or in local processes.

Replication ``r`` of every scenario uses the same named streams (see :mod:`flowsim.streams`), so
results depend only on the scenario, the master seed and ``r`` — never on the number of worker
processes or the order in which replications finish. Each worker returns compact arrays; the
tidy tables are built once, here, in the parent process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .engine import Records, simulate
from .errors import FlowsimError
from .kpis import (
    TIME_IN_DEPARTMENT_STEP,
    compute_kpis,
    ed_series,
    hourly_series,
    time_in_department_cdf,
    verdict,
)
from .scenario import Scenario
from .stats import paired_differences, summarise

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each replication."""


@dataclass
class ReplicationResult:
    """What one worker sends back: KPIs, hourly series and (optionally) the visit table."""

    scenario: str
    replication: int
    kpis: dict[str, float]
    hours: np.ndarray
    places: np.ndarray
    occupancy: np.ndarray
    queue: np.ndarray
    capacity: np.ndarray
    visits: dict[str, np.ndarray] | None = None
    patient_class: np.ndarray | None = None
    ed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # boarders, ambulances, CDF


def run_replication(scenario: Scenario, replication: int, seed: int,
                    patients: bool = False) -> ReplicationResult:
    """Run and measure one replication (this is what worker processes execute)."""
    rec = simulate(scenario, replication, seed, record_visits=patients)
    series = hourly_series(rec)
    return ReplicationResult(
        scenario=scenario.name,
        replication=replication,
        kpis=compute_kpis(rec),
        hours=series.hour.astype(np.int32),
        places=series.place,
        occupancy=series.occupancy.astype(np.float32),
        queue=series.queue.astype(np.float32),
        capacity=series.capacity.astype(np.float32),
        visits=(None if rec.visits is None or rec.open_visits is None else
                {k: np.concatenate([rec.visits[k], rec.open_visits[k]]) for k in rec.visits}),
        patient_class=rec.patient_class if patients else None,
        ed=_ed_measures(rec),
    )


def _ed_measures(rec: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    es = ed_series(rec)
    return (es.boarders.astype(np.float32), es.ambulance_queue.astype(np.float32),
            time_in_department_cdf(rec))


@dataclass
class Results:
    """Tidy results of an experiment.

    ``kpis``: one row per scenario, replication and KPI. ``timeseries``: one row per scenario,
    replication, place and hour of the measurement window. ``patients``: one row per patient
    visit to a stage (only when asked for). ``ed_timeseries``: boarders in the ED and the
    ambulance queue, hourly like ``timeseries``. ``time_in_department``: the share of ED
    attendances leaving within each number of minutes, per scenario and replication.
    """

    scenarios: dict[str, Scenario]
    seed: int
    replications: int
    kpis: pd.DataFrame
    timeseries: pd.DataFrame
    patients: pd.DataFrame | None = None
    meta: dict[str, object] = field(default_factory=dict)
    ed_timeseries: pd.DataFrame | None = None
    time_in_department: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Mean, 95% CI (Student t) and n per scenario and KPI."""
        return summarise(self.kpis)

    def compare(self, baseline: str | None = None) -> pd.DataFrame:
        """Paired differences (scenario minus baseline, replication by replication) with 95% CIs
        and a verdict: better, worse, or no clear difference (see :func:`flowsim.kpis.verdict`)."""
        base = baseline if baseline is not None else next(iter(self.scenarios))
        table = paired_differences(self.kpis, base)
        table["verdict"] = [verdict(k, lo, hi) for k, lo, hi in
                            zip(table["kpi"], table["ci_low"], table["ci_high"], strict=True)]
        return table

    def hour_of_week(self) -> pd.DataFrame:
        """Occupancy and queue per place averaged by hour of the week (0 = Monday 00:00)."""
        ts = self.timeseries
        return (ts.groupby(["scenario", "replication", "place", "hour_of_week"], observed=True)
                [["occupancy", "queue", "capacity"]].mean().reset_index())


def run(scenarios: Scenario | Sequence[Scenario], replications: int | None = None,
        seed: int | None = None, jobs: int = 1, patients: bool = False,
        progress: Progress | None = None) -> Results:
    """Run ``replications`` of each scenario with master ``seed`` on ``jobs`` processes.

    Settings left as ``None`` come from the first scenario's ``run`` block.
    """
    items = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    if not items:
        raise FlowsimError("no scenarios to run")
    names = [s.name for s in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FlowsimError(f"scenario names must differ; repeated: {', '.join(dupes)} "
                           "(give each file its own 'name')")
    reps = replications if replications is not None else items[0].run.replications
    master = seed if seed is not None else items[0].run.seed
    if reps < 1:
        raise FlowsimError("replications must be at least 1")
    tasks = [(s, r) for s in items for r in range(reps)]
    total = len(tasks)
    done = 0
    results: dict[tuple[str, int], ReplicationResult] = {}
    workers = max(1, min(jobs if jobs > 0 else (os.cpu_count() or 1), total))
    if progress:
        progress(0, total)
    if workers == 1:
        for s, r in tasks:
            results[(s.name, r)] = _checked(s, r, master, patients)
            done += 1
            if progress:
                progress(done, total)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_replication, s, r, master, patients): (s, r)
                       for s, r in tasks}
            for fut in as_completed(futures):
                s, r = futures[fut]
                try:
                    results[(s.name, r)] = fut.result()
                except Exception as e:  # noqa: BLE001 - reported with where it happened
                    for other in futures:
                        other.cancel()
                    raise ReplicationError(s.name, r, master, e) from e
                done += 1
                if progress:
                    progress(done, total)
    ordered = [results[(s.name, r)] for s, r in tasks]
    return Results(
        scenarios={s.name: s for s in items},
        seed=master,
        replications=reps,
        kpis=_kpi_table(ordered),
        timeseries=_series_table(ordered, items),
        patients=_visit_table(ordered, items) if patients else None,
        **_ed_tables(ordered, items),
    )


class ReplicationError(FlowsimError):
    """A replication failed; says which, so that it can be re-run on its own."""

    def __init__(self, scenario: str, replication: int, seed: int, cause: BaseException):
        self.scenario, self.replication, self.seed = scenario, replication, seed
        super().__init__(f"scenario '{scenario}', replication {replication} (seed {seed}) "
                         f"failed: {type(cause).__name__}: {cause}")


def _checked(s: Scenario, r: int, seed: int, patients: bool) -> ReplicationResult:
    try:
        return run_replication(s, r, seed, patients)
    except Exception as e:  # noqa: BLE001 - reported with where it happened
        raise ReplicationError(s.name, r, seed, e) from e


def _kpi_table(results: list[ReplicationResult]) -> pd.DataFrame:
    rows = [(res.scenario, res.replication, k, v) for res in results for k, v in res.kpis.items()]
    df = pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"])
    df["scenario"] = pd.Categorical(df["scenario"], categories=list(dict.fromkeys(df["scenario"])))
    return df


def _series_table(results: list[ReplicationResult], scenarios: list[Scenario]) -> pd.DataFrame:
    starts = {s.name: pd.Timestamp(s.start) for s in scenarios}
    frames = []
    for res in results:
        start = starts[res.scenario]
        hours = res.hours.astype(np.int64)
        frames.append(pd.DataFrame({
            "scenario": res.scenario,
            "replication": np.int32(res.replication),
            "time": start + pd.to_timedelta(hours, unit="h"),
            "hour_of_week": ((start.weekday() * 24 + hours) % 168).astype(np.int16),
            "place": res.places,
            "occupancy": res.occupancy,
            "queue": res.queue,
            "capacity": res.capacity,
        }))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for col in ("scenario", "place"):
        if col in df:
            df[col] = df[col].astype("category")
    return df


def _visit_table(results: list[ReplicationResult], scenarios: list[Scenario]) -> pd.DataFrame:
    by_name = {s.name: s for s in scenarios}
    frames = []
    for res in results:
        s = by_name[res.scenario]
        v = res.visits
        assert v is not None and res.patient_class is not None
        stages = np.array(list(s.stages), dtype=object)
        places = np.array(list(s.places) + [""], dtype=object)  # -1 -> "" (no place)
        classes = np.array(list(s.classes), dtype=object)
        frames.append(pd.DataFrame({
            "scenario": res.scenario,
            "replication": np.int32(res.replication),
            "patient": v["patient"],
            "class": classes[res.patient_class[v["patient"]]],
            "stage": stages[v["stage"]],
            "place": places[v["place"]],
            "entered": v["entered"],
            "queued": v["queued"],
            "started": v["started"],
            "ended": v["ended"],
        }))
    df = pd.concat(frames, ignore_index=True)
    for col in ("scenario", "class", "stage", "place"):
        df[col] = df[col].astype("category")
    return df


def _ed_tables(results: list[ReplicationResult],
               scenarios: list[Scenario]) -> dict[str, pd.DataFrame]:
    """The ED time series and time-in-department distribution as tidy tables."""
    starts = {s.name: pd.Timestamp(s.start) for s in scenarios}
    warmups = {s.name: s.run.warmup for s in scenarios}
    series, cdfs = [], []
    for res in results:
        assert res.ed is not None
        boarders, ambulances, cdf = res.ed
        start = starts[res.scenario]
        hours = np.arange(len(boarders)) + int(np.ceil(warmups[res.scenario] / 60.0))
        series.append(pd.DataFrame({
            "scenario": res.scenario, "replication": np.int32(res.replication),
            "time": start + pd.to_timedelta(hours, unit="h"),
            "hour_of_week": ((start.weekday() * 24 + hours) % 168).astype(np.int16),
            "boarders": boarders, "ambulance_queue": ambulances}))
        cdfs.append(pd.DataFrame({
            "scenario": res.scenario, "replication": np.int32(res.replication),
            "minutes": np.arange(len(cdf)) * TIME_IN_DEPARTMENT_STEP, "share_within": cdf}))
    out = {"ed_timeseries": pd.concat(series, ignore_index=True),
           "time_in_department": pd.concat(cdfs, ignore_index=True)}
    for df in out.values():
        df["scenario"] = df["scenario"].astype("category")
    return out
