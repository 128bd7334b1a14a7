"""Experiments: replications of one or more scenarios, run serially, in local processes or on Dask.

Replication ``r`` of every scenario uses the same named streams (see :mod:`flowsim.streams`), so
results depend only on the scenario, the master seed and ``r`` — never on the backend, the number
of workers or the order in which replications finish. Each worker returns compact arrays; the
tidy tables are built once, here, in the parent process, in scenario and replication order.
A failed replication is kept aside with its scenario, replication and seed while the others go
on; finished replications can be saved as they end (:mod:`flowsim.checkpoint`), so that an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .backends import BACKENDS
from .checkpoint import Checkpoint
from .errors import FlowsimError, ReplicationError
from .kpis import TIME_IN_DEPARTMENT_STEP, kpi_info, verdict
from .replication import ReplicationResult as ReplicationResult
from .replication import run_replication as run_replication
from .scenario import Scenario
from .stats import mean_ci_by, paired_differences, summarise

# ReplicationResult and run_replication are re-exported above: workers look run_replication up in
# this module (tests replace it here to break a replication), and run_settings imports it here.

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each replication."""


@dataclass
class Results:
    """Tidy results of an experiment.

    ``kpis``: one row per scenario, replication and KPI. ``timeseries``: one row per scenario,
    replication, place and hour of the measurement window. ``patients``: one row per patient
    visit to a stage (only when asked for). ``failures``: one row per replication that failed
    (scenario, replication, seed, error); the tables hold the others. ``ed_timeseries``:
    boarders in the ED and the ambulance queue, hourly like ``timeseries``.
    ``time_in_department``: the share of ED attendances leaving within each whole number of
    minutes, per scenario and replication. ``occupancy_levels``: the share of the window each
    place spent at each occupancy level, per scenario and replication (summarised across
    replications by :attr:`occupancy_distribution`).
    """

    scenarios: dict[str, Scenario]
    seed: int
    replications: int
    kpis: pd.DataFrame
    timeseries: pd.DataFrame
    patients: pd.DataFrame | None = None
    meta: dict[str, object] = field(default_factory=dict)
    failures: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["scenario", "replication", "seed", "error"])
    )
    ed_timeseries: pd.DataFrame | None = None
    time_in_department: pd.DataFrame | None = None
    occupancy_levels: pd.DataFrame | None = None
    _stability: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Mean, 95% CI (Student t) and n per scenario and KPI."""
        return summarise(self.kpis)

    def compare(self, baseline: str | None = None) -> pd.DataFrame:
        """Paired differences (scenario minus baseline, replication by replication) with 95% CIs,
        each KPI's ``unit`` and ``better_when`` (higher, lower or neither, from the registry
        :data:`flowsim.kpis.KPIS`), and a verdict: better, worse, or no clear difference (see
        :func:`flowsim.kpis.verdict`)."""
        base = baseline if baseline is not None else next(iter(self.scenarios))
        table = paired_differences(self.kpis, base)
        info = [kpi_info(str(k)) for k in table["kpi"]]
        table["unit"] = [i.unit if i is not None else "" for i in info]
        table["better_when"] = [i.better if i is not None else "" for i in info]
        table["verdict"] = [
            verdict(k, lo, hi)
            for k, lo, hi in zip(table["kpi"], table["ci_low"], table["ci_high"], strict=True)
        ]
        return table

    def stability(self) -> pd.DataFrame:
        """Per scenario and replication, whether the queues settled or kept growing through the
        measured period, with measures of drift and a plain note (see :mod:`flowsim.stability`)."""
        from .stability import stability_table

        if self._stability is None:  # kept: the command line prints it and writes it
            labels = {
                name: place.label or name
                for s in self.scenarios.values()
                for name, place in s.places.items()
            }
            self._stability = stability_table(self.timeseries, labels, list(self.scenarios))
        return self._stability

    @property
    def occupancy_distribution(self) -> pd.DataFrame | None:
        """Per scenario, place and occupancy level: the share of time at that level and the
        share at that level or above (the probability that an arrival would find that many
        places taken), each the mean across replications with its 95% CI (Student t) and the
        number of replications. None when the results have no occupancy levels."""
        levels = self.occupancy_levels
        if levels is None:
            return None
        keys = ["scenario", "place", "level"]
        d = levels.sort_values(["scenario", "replication", "place", "level"], kind="stable")
        d = d.assign(
            at_or_above=d.iloc[::-1]
            .groupby(["scenario", "replication", "place"], observed=True)["share"]
            .cumsum()
            .iloc[::-1]
            .clip(upper=1.0)
        )
        at = mean_ci_by(d, keys, "share")
        above = mean_ci_by(d, keys, "at_or_above").drop(columns="n")
        out = at.rename(
            columns={"mean": "share_of_time", "ci_low": "share_ci_low", "ci_high": "share_ci_high"}
        ).merge(
            above.rename(
                columns={
                    "mean": "share_at_or_above",
                    "ci_low": "at_or_above_ci_low",
                    "ci_high": "at_or_above_ci_high",
                }
            ),
            on=keys,
        )
        cols = [c for c in out.columns if c != "n"] + ["n"]
        return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)

    def hour_of_week(self) -> pd.DataFrame:
        """Occupancy and queue per place averaged by hour of the week (0 = Monday 00:00)."""
        ts = self.timeseries
        return (
            ts.groupby(["scenario", "replication", "place", "hour_of_week"], observed=True)[
                ["occupancy", "queue", "capacity"]
            ]
            .mean()
            .reset_index()
        )


Outcome = tuple[int, ReplicationResult | BaseException]
"""A finished task: its index in the task list and its result, or the exception it raised."""


def run(
    scenarios: Scenario | Sequence[Scenario],
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    patients: bool = False,
    progress: Progress | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    checkpoint: Checkpoint | None = None,
    memory_limit_mb: int | None = None,
) -> Results:
    """Run ``replications`` of each scenario with master ``seed``.

    ``backend`` is ``"serial"``, ``"processes"`` (``jobs`` local processes, 0 meaning one per
    core; the default unless ``jobs`` is 1) or ``"dask"`` (the cluster whose scheduler is at
    ``scheduler``, e.g. ``tcp://10.0.0.5:8786``, or a local cluster of ``jobs`` workers when
    none is given). Results are identical on every backend. A replication that fails is listed
    in ``Results.failures`` with its scenario, replication, seed and error, and the others are
    kept; :class:`ReplicationError` is raised only when none succeeded. With ``checkpoint``,
    replications already saved there are not run again and each new one is saved as it ends.
    Settings left as ``None`` come from the first scenario's ``run`` block.

    ``memory_limit_mb`` caps the address space of each worker process (where the system allows
    it), so that a replication too big for the host fails alone, as a ``MemoryError`` in
    ``Results.failures``, instead of taking the host down; replications then always run in
    worker processes (or on a local Dask cluster's workers), never in this one. Worker
    processes die with the process that started them, even when it is killed.
    """
    items = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    if not items:
        raise FlowsimError("no scenarios to run")
    names = [s.name for s in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FlowsimError(
            f"scenario names must differ; repeated: {', '.join(dupes)} "
            "(give each file its own 'name')"
        )
    reps = replications if replications is not None else items[0].run.replications
    master = seed if seed is not None else items[0].run.seed
    if reps < 1:
        raise FlowsimError("replications must be at least 1")
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    if backend is None:
        backend = "serial" if workers == 1 and memory_limit_mb is None else "processes"
    if backend not in BACKENDS:
        raise FlowsimError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if memory_limit_mb is not None and (memory_limit_mb < 1 or backend == "serial"):
        raise FlowsimError(
            "a memory limit needs worker processes (the processes or dask backend) and at "
            "least 1 MB"
        )
    if scheduler is not None and backend != "dask":
        raise FlowsimError("a scheduler address is only used by the dask backend")

    tasks = [(i, r) for i in range(len(items)) for r in range(reps)]
    total = len(tasks)
    results: dict[tuple[int, int], ReplicationResult] = {}
    if checkpoint is not None:
        for i, r in tasks:
            saved = checkpoint.load(i, r)
            if saved is not None:
                results[(i, r)] = saved
    todo = [t for t in tasks if t not in results]
    failed: dict[tuple[int, int], BaseException] = {}
    done = len(results)
    if progress:
        progress(done, total)
    work = [(items[i], r, master, patients) for i, r in todo]
    for k, outcome in _execute(work, backend, workers, scheduler, memory_limit_mb):
        i, r = todo[k]
        if isinstance(outcome, BaseException):
            failed[(i, r)] = outcome
        else:
            results[(i, r)] = outcome
            if checkpoint is not None:
                checkpoint.save(i, r, outcome)
        done += 1
        if progress:
            progress(done, total)
    failures = pd.DataFrame(
        [
            (items[i].name, r, master, f"{type(e).__name__}: {e}")
            for (i, r), e in sorted(failed.items())
        ],
        columns=["scenario", "replication", "seed", "error"],
    )
    if not results:
        (i, r), e = min(failed.items())
        raise ReplicationError(items[i].name, r, master, e, failures=failures)
    ordered = [results[t] for t in tasks if t in results]
    return Results(
        scenarios={s.name: s for s in items},
        seed=master,
        replications=reps,
        kpis=_kpi_table(ordered),
        timeseries=_series_table(ordered, items),
        patients=_visit_table(ordered, items) if patients else None,
        failures=failures,
        **_ed_tables(ordered, items),
        occupancy_levels=_occupancy_table(ordered),
    )


Work = tuple[Scenario, int, int, bool]
"""One replication to run: scenario, replication, master seed, and whether to keep visits."""


def _execute(
    work: list[Work],
    backend: str,
    workers: int,
    scheduler: str | None,
    memory_limit_mb: int | None = None,
) -> Iterator[Outcome]:
    """Run every item of ``work`` on ``backend``, yielding outcomes as they finish."""
    if not work:
        return
    in_this_process = backend == "serial" or (
        backend == "processes" and min(workers, len(work)) == 1 and memory_limit_mb is None
    )
    if in_this_process:
        for k, item in enumerate(work):
            yield k, _attempt(*item)
    elif backend == "processes":
        with worker_pool(min(workers, len(work)), memory_limit_mb) as pool:
            futures = {pool.submit(_in_worker, *item): k for k, item in enumerate(work)}
            try:
                for fut in as_completed(futures):
                    exc = fut.exception()
                    yield futures[fut], exc if exc is not None else fut.result()
            finally:
                for fut in futures:
                    fut.cancel()
    else:
        yield from _execute_dask(work, workers, scheduler, memory_limit_mb)


_memory_limit_mb: int | None = None
"""This worker process's memory limit, if it has one (for the message when it is reached)."""


def worker_pool(workers: int, memory_limit_mb: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` local processes that die with this one (even when it is killed),
    each capped at ``memory_limit_mb`` if given: every pool flowsim starts is made here."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(), memory_limit_mb)
    )


def _start_worker(parent: int, memory_limit_mb: int | None) -> None:
    """Set up a worker process of a pool started by process ``parent``: it dies with it, and its
    address space is capped at ``memory_limit_mb`` if given."""
    global _memory_limit_mb
    _die_with_parent(parent)
    if memory_limit_mb is not None:
        _memory_limit_mb = memory_limit_mb
        _limit_memory(memory_limit_mb)


def _die_with_parent(parent: int) -> None:
    """Make this worker die when the process that started its pool does, even by SIGKILL (which
    gives the pool no chance to stop its workers): on Linux the kernel sends SIGKILL; elsewhere a
    thread watches for the parent to change."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # 1: PR_SET_PDEATHSIG
                # The parent may have died before the line above: then nobody will signal us.
                if os.getppid() != parent and not _alive(parent):
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass  # no usable libc: watch instead
    first = os.getppid()

    def watch() -> None:
        while os.getppid() == first:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="flowsim-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _limit_memory(memory_limit_mb: int) -> None:
    """Cap this process's address space, where the system allows it (not on Windows)."""
    try:
        import resource
    except ImportError:
        return
    limit = memory_limit_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    # A system that does not cap address space (macOS) refuses: the worker runs without the cap.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _in_worker(s: Scenario, r: int, seed: int, patients: bool) -> ReplicationResult:
    try:
        return run_replication(s, r, seed, patients)
    except MemoryError as e:
        limit = f"the {_memory_limit_mb} MB a worker may use" if _memory_limit_mb else "memory"
        raise MemoryError(
            f"this replication needed more than {limit}; run fewer days, fewer patients "
            "(lower arrival rates) or without the patient-visit table"
        ) from e


def _attempt(s: Scenario, r: int, seed: int, patients: bool) -> ReplicationResult | Exception:
    try:
        return run_replication(s, r, seed, patients)
    except Exception as e:  # noqa: BLE001 - kept and reported with where it happened
        return e


def local_cluster(workers: int, memory_limit_mb: int | None = None) -> Any:
    """A local Dask cluster of ``workers`` single-threaded worker processes whose scheduler,
    workers and dashboard listen on 127.0.0.1 only: the dashboard has no login, so it must not
    be reachable from the network."""
    import distributed

    dask: Any = distributed  # Dask's API is untyped
    return dask.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        **({} if memory_limit_mb is None else {"memory_limit": f"{memory_limit_mb}MiB"}),
    )


def _execute_dask(
    work: list[Work], workers: int, scheduler: str | None, memory_limit_mb: int | None = None
) -> Iterator[Outcome]:
    try:
        import distributed
    except ImportError as e:
        raise FlowsimError('the dask backend needs Dask: pip install "flowsim[dist]"') from e
    from . import __version__

    dask: Any = distributed  # Dask's API is untyped
    cluster = None
    try:
        if scheduler is None:
            cluster = local_cluster(min(workers, len(work)), memory_limit_mb)
            client = dask.Client(cluster)
        else:
            client = dask.Client(scheduler, timeout="30s")
    except Exception as e:  # noqa: BLE001 - any failure to start or connect, said plainly
        if cluster is not None:
            cluster.close()
        where = (
            f"reach the Dask scheduler at {scheduler}"
            if scheduler is not None
            else "start a local Dask cluster"
        )
        raise FlowsimError(f"cannot {where}: {type(e).__name__}: {e}") from e
    try:
        futures = [
            client.submit(_dask_replication, *item, __version__, pure=False) for item in work
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        try:
            for fut in dask.as_completed(futures):
                k = index[fut.key]
                if fut.status == "finished":
                    yield k, fut.result()
                else:
                    try:
                        exc = fut.exception()
                    except BaseException as e:  # noqa: BLE001 - a cancelled or lost task
                        if isinstance(e, KeyboardInterrupt):
                            raise
                        exc = e
                    yield k, exc
                fut.release()
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_replication(
    s: Scenario, r: int, seed: int, patients: bool, version: str
) -> ReplicationResult:
    """What a Dask worker runs: one replication, refusing a different flowsim version (whose
    results could differ from the ones this run's other workers send back)."""
    from . import __version__

    if __version__ != version:
        raise FlowsimError(
            f"the Dask worker has flowsim {__version__}, the client {version}; "
            "install the same version on every worker"
        )
    return run_replication(s, r, seed, patients)


def _kpi_table(results: list[ReplicationResult]) -> pd.DataFrame:
    rows = [(res.scenario, res.replication, k, v) for res in results for k, v in res.kpis.items()]
    df = pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"])
    df["scenario"] = pd.Categorical(df["scenario"], categories=list(dict.fromkeys(df["scenario"])))
    return df


def _series_table(results: list[ReplicationResult], scenarios: list[Scenario]) -> pd.DataFrame:
    starts = {s.name: pd.Timestamp(s.start) for s in scenarios}
    # Scenario and place are categorical from the start (sorted categories, shared by every
    # replication), so that 100 hospital-years of hours never become millions of strings.
    scenario_names = sorted({res.scenario for res in results})
    place_names = sorted({p for res in results for p in dict.fromkeys(res.places.tolist())})
    frames = []
    for res in results:
        start = starts[res.scenario]
        hours = res.hours.astype(np.int64)
        n = len(hours)
        frames.append(
            pd.DataFrame(
                {
                    "scenario": pd.Categorical.from_codes(
                        np.full(n, scenario_names.index(res.scenario)), categories=scenario_names
                    ),
                    "replication": np.full(n, res.replication, dtype=np.int32),
                    "time": start + pd.to_timedelta(hours, unit="h"),
                    "hour_of_week": ((start.weekday() * 24 + hours) % 168).astype(np.int16),
                    "place": pd.Categorical(res.places, categories=place_names),
                    "occupancy": res.occupancy,
                    "queue": res.queue,
                    "capacity": res.capacity,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _visit_table(results: list[ReplicationResult], scenarios: list[Scenario]) -> pd.DataFrame:
    """The patient-visit table, tens of millions of rows for a big run: built column by column
    into arrays of the final size, each replication's visits dropped once copied, and the
    names as categorical codes, so that the table and the visits are never both whole in
    memory."""
    by_name = {s.name: s for s in scenarios}
    parts: dict[str, list[tuple[list[str], np.ndarray]]] = {
        "scenario": [],
        "class": [],
        "stage": [],
        "place": [],
    }
    for res in results:
        s = by_name[res.scenario]
        v = res.visits
        assert v is not None and res.patient_class is not None
        parts["scenario"].append(([res.scenario], np.zeros(len(v["patient"]), np.int8)))
        parts["class"].append((list(s.classes), res.patient_class[v["patient"]]))
        parts["stage"].append((list(s.stages), v["stage"]))
        parts["place"].append((list(s.places) + [""], v["place"]))  # -1 -> "" (no place)
    coded = {name: _categorical(p) for name, p in parts.items()}
    del parts
    total = sum(len(res.visits["patient"]) for res in results if res.visits is not None)
    numbers: dict[str, np.ndarray] = {
        "replication": np.empty(total, np.int32),
        "patient": np.empty(total, np.int64),
        "entered": np.empty(total),
        "queued": np.empty(total),
        "started": np.empty(total),
        "ended": np.empty(total),
    }
    at = 0
    for res in results:
        v = res.visits
        assert v is not None
        n = len(v["patient"])
        numbers["replication"][at : at + n] = res.replication
        for name in ("patient", "entered", "queued", "started", "ended"):
            numbers[name][at : at + n] = v[name]
        at += n
        res.visits = None  # copied: free it now
    columns = [
        "scenario",
        "replication",
        "patient",
        "class",
        "stage",
        "place",
        "entered",
        "queued",
        "started",
        "ended",
    ]
    return pd.DataFrame({c: coded[c] if c in coded else numbers[c] for c in columns}, copy=False)


def _categorical(parts: list[tuple[list[str], np.ndarray]]) -> pd.Categorical:
    """One categorical column from parts given as names and codes into them, with the sorted
    names that occur as its categories: millions of rows without a string per row."""
    seen: set[str] = set()
    for names, codes in parts:
        seen.update(names[int(c)] for c in np.unique(codes))
    categories = sorted(seen)
    position = {name: i for i, name in enumerate(categories)}
    out = np.empty(
        sum(len(codes) for _, codes in parts), dtype=np.int8 if len(categories) < 128 else np.int32
    )
    at = 0
    for names, codes in parts:
        lut = np.array([position.get(n, -1) for n in names], dtype=out.dtype)
        out[at : at + len(codes)] = lut[codes]
        at += len(codes)
    return pd.Categorical.from_codes(out, categories=categories)


def _ed_tables(
    results: list[ReplicationResult], scenarios: list[Scenario]
) -> dict[str, pd.DataFrame]:
    """The ED time series and time-in-department distribution as tidy tables."""
    starts = {s.name: pd.Timestamp(s.start) for s in scenarios}
    warmups = {s.name: s.run.warmup for s in scenarios}
    series, cdfs = [], []
    for res in results:
        assert res.ed is not None
        boarders, ambulances, cdf = res.ed
        start = starts[res.scenario]
        hours = np.arange(len(boarders)) + int(np.ceil(warmups[res.scenario] / 60.0))
        series.append(
            pd.DataFrame(
                {
                    "scenario": res.scenario,
                    "replication": np.int32(res.replication),
                    "time": start + pd.to_timedelta(hours, unit="h"),
                    "hour_of_week": ((start.weekday() * 24 + hours) % 168).astype(np.int16),
                    "boarders": boarders,
                    "ambulance_queue": ambulances,
                }
            )
        )
        cdfs.append(
            pd.DataFrame(
                {
                    "scenario": res.scenario,
                    "replication": np.int32(res.replication),
                    "minutes": (np.arange(len(cdf)) * TIME_IN_DEPARTMENT_STEP).astype(np.int32),
                    "share_within": cdf,
                }
            )
        )
    out = {
        "ed_timeseries": pd.concat(series, ignore_index=True),
        "time_in_department": pd.concat(cdfs, ignore_index=True),
    }
    for df in out.values():
        df["scenario"] = df["scenario"].astype("category")
    return out


def _occupancy_table(results: list[ReplicationResult]) -> pd.DataFrame | None:
    """Each place's share of time at each occupancy level, per scenario and replication, with
    the levels a replication never reached (up to the highest any replication of the scenario
    reached) filled with zero, so that means across replications count them."""
    frames = []
    for res in results:
        if res.occupancy_levels is None:
            return None  # saved by a flowsim that did not record them
        place, level, share = res.occupancy_levels
        frames.append(
            pd.DataFrame(
                {
                    "scenario": res.scenario,
                    "replication": np.int32(res.replication),
                    "place": place.astype(str),
                    "level": level.astype(np.int32),
                    "share": share,
                }
            )
        )
    if not frames:
        return None
    d = pd.concat(frames, ignore_index=True)
    top = d.groupby(["scenario", "place"], sort=False)["level"].max()
    full = [
        (sc, r, p, lv)
        for (sc, p), hi in top.items()
        for r in d.loc[d["scenario"] == sc, "replication"].unique()
        for lv in range(int(hi) + 1)
    ]
    grid = pd.DataFrame(full, columns=["scenario", "replication", "place", "level"])
    grid["replication"] = grid["replication"].astype(np.int32)
    grid["level"] = grid["level"].astype(np.int32)
    d = grid.merge(d, on=["scenario", "replication", "place", "level"], how="left")
    d["share"] = d["share"].fillna(0.0)
    d["scenario"] = pd.Categorical(d["scenario"], categories=list(dict.fromkeys(d["scenario"])))
    return d
