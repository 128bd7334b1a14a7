"""flowsim's benchmarks, measured side by side in one run and written to benchmarks/RESULTS.md.

    python benchmarks/run.py [--runs 3] [--batch-runs 1] [--only mmc,year,batch,memory]

1. ``mmc``: an M/M/c stage (9 arrivals an hour, mean service 1 h, 10 servers, 200,000 patients)
   in flowsim, in a plain SimPy model written here (generator processes and a ``Resource``) and
   in Ciw, the three taking turns in each run; patients per second and the ratios.
2. ``year``: one replication of the shipped baseline, 365 days after its warm-up, as a worker runs
   it (simulation, KPIs and hourly series), each run in a fresh process: seconds, patients per
   second, SimPy events per patient and peak memory.
3. ``batch``: 100 replications of a 90-day baseline in 1 process, in 2 processes and on a
   2-worker Dask ``LocalCluster``: seconds, speed-up and Dask's overhead over processes.
4. ``memory``: peak memory of the process that holds the results of 100 hospital-year
   replications (KPIs and hourly series; then with the patient-visit table too).

Figures are medians over ``--runs`` runs (``--batch-runs`` for the batches, which take minutes).
The machine may be shared, so the load average is recorded, and ratios measured side by side
count for more than absolute times. Speed targets live here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import simpy

HERE = Path(__file__).resolve().parent
BASELINE = HERE.parent / "scenarios" / "baseline.yaml"
PARTS = ("mmc", "year", "batch", "memory")

# The M/M/c stage (times in minutes).
ARRIVALS_PER_HOUR, MEAN_SERVICE, SERVERS, PATIENTS = 9.0, 60.0, 10, 200_000


# -- 1. M/M/c side by side ----------------------------------------------------------------------
def erlang_c_wait(lam: float, mean_service: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C), for checking the three models agree."""
    a = lam * mean_service
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c / mean_service - lam)


def flowsim_mmc(patients: int, seed: int) -> tuple[int, float, float]:
    """flowsim: one replication of an M/M/c scenario long enough for ``patients`` arrivals.
    Returns (patients, seconds, mean wait); the time covers building, running and the records."""
    from flowsim.engine import simulate
    from flowsim.loader import load_scenario

    lam = ARRIVALS_PER_HOUR / 60.0
    scenario = load_scenario(
        {
            "name": "mmc",
            "run": {"warmup": 0, "length": patients / lam, "seed": seed},
            "classes": {"patient": {}},
            "arrivals": {
                "poisson": {
                    "per_day": lam * 1440,
                    "class_mix": {"patient": 1.0},
                    "first_stage": "service",
                }
            },
            "staff": {"servers": {"count": SERVERS}},
            "stages": {
                "service": {
                    "staff": "servers",
                    "next": {},
                    "duration": {"dist": "exponential", "mean": MEAN_SERVICE},
                }
            },
        }
    )
    t0 = time.perf_counter()
    rec = simulate(scenario)
    seconds = time.perf_counter() - t0
    return len(rec.arrival), seconds, float(rec.stage_wait_sum[0] / rec.stage_wait_count[0])


def simpy_mmc(patients: int, seed: int) -> tuple[int, float, float]:
    """The same queue as an idiomatic SimPy model: a source process starting one process per
    patient, which requests a ``Resource``, holds it for its service time and releases it."""
    rng = np.random.default_rng(seed)
    lam = ARRIVALS_PER_HOUR / 60.0
    t0 = time.perf_counter()
    gaps = rng.exponential(1.0 / lam, patients).tolist()
    services = rng.exponential(MEAN_SERVICE, patients).tolist()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits: list[float] = []

    def patient(i: int):  # type: ignore[no-untyped-def]
        arrived = env.now
        with servers.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(services[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(patients):
            yield env.timeout(gaps[i])
            env.process(patient(i))

    env.process(source())
    env.run()
    seconds = time.perf_counter() - t0
    return patients, seconds, float(np.mean(waits))


def ciw_mmc(patients: int, seed: int) -> tuple[int, float, float]:
    """The same queue in Ciw, until ``patients`` have finished."""
    import ciw

    lam = ARRIVALS_PER_HOUR / 60.0
    t0 = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE)],
        number_of_servers=[SERVERS],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(patients, method="Finish")
    seconds = time.perf_counter() - t0
    records = sim.get_all_records()
    return len(records), seconds, float(np.mean([r.waiting_time for r in records]))


MMC_MODELS: dict[str, Callable[[int, int], tuple[int, float, float]]] = {
    "flowsim": flowsim_mmc,
    "SimPy": simpy_mmc,
    "Ciw": ciw_mmc,
}


def bench_mmc(runs: int, patients: int = PATIENTS) -> dict[str, Any]:
    rates: dict[str, list[float]] = {m: [] for m in MMC_MODELS}
    waits: dict[str, list[float]] = {m: [] for m in MMC_MODELS}
    names = list(MMC_MODELS)
    for run in range(runs):
        for name in names[run % 3 :] + names[: run % 3]:  # take turns going first
            n, seconds, wait = MMC_MODELS[name](patients, 1000 + run)
            rates[name].append(n / seconds)
            waits[name].append(wait)
            print(f"  mmc run {run + 1}: {name:8s} {n / seconds:10,.0f} patients/s", flush=True)
    ratio = {
        other: [f / o for f, o in zip(rates["flowsim"], rates[other], strict=True)]
        for other in ("SimPy", "Ciw")
    }
    return {
        "rates": rates,
        "waits": waits,
        "ratio": ratio,
        "patients": patients,
        "theory_wait": erlang_c_wait(ARRIVALS_PER_HOUR / 60.0, MEAN_SERVICE, SERVERS),
    }


# -- 2. a hospital-year, in fresh processes -----------------------------------------------------
def child_year(replication: int) -> dict[str, Any]:
    import flowsim
    from flowsim.engine import simulate
    from flowsim.kpis import compute_kpis, hourly_series
    from flowsim.scenario import with_run_length

    scenario = with_run_length(flowsim.load_scenario(BASELINE), 365, None)
    before = _peak_rss_mb()
    t0 = time.perf_counter()
    rec = simulate(scenario, replication)
    compute_kpis(rec)
    hourly_series(rec)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "patients": len(rec.arrival),
        "events": rec.events,
        "peak_mb": _peak_rss_mb(),
        "start_mb": before,
        "warmup_days": scenario.run.warmup / 1440,
    }


def bench_year(runs: int) -> dict[str, Any]:
    out = [_child("year", str(r)) for r in range(runs)]
    for r, o in enumerate(out):
        print(f"  year run {r + 1}: {o['seconds']:.2f} s", flush=True)
    return {"runs": out}


# -- 3. batches: 1 process, 2 processes, Dask ----------------------------------------------------
def bench_batch(runs: int, replications: int = 100, days: float = 90) -> dict[str, Any]:
    import flowsim
    from flowsim.scenario import with_run_length

    scenario = with_run_length(flowsim.load_scenario(BASELINE), days, None)
    ways = {
        "1 process": {"jobs": 1, "backend": "serial"},
        "2 processes": {"jobs": 2, "backend": "processes"},
        "Dask, 2-worker LocalCluster": {"jobs": 2, "backend": "dask"},
    }
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    reference = None
    for run in range(runs):
        for way, options in ways.items():
            t0, c0 = time.perf_counter(), _cpu_seconds()
            results = flowsim.run(scenario, replications=replications, seed=run + 1, **options)
            seconds[way].append(time.perf_counter() - t0)
            cpu[way].append(_cpu_seconds() - c0)
            print(
                f"  batch run {run + 1}: {way:28s} {seconds[way][-1]:.1f} s, "
                f"{cpu[way][-1]:.1f} CPU s",
                flush=True,
            )
            if way == "1 process":
                reference = results.kpis
            elif reference is not None and not results.kpis.equals(reference):
                raise SystemExit(f"{way} gave different results from 1 process")
    return {
        "seconds": seconds,
        "cpu": cpu,
        "replications": replications,
        "days": days,
        "warmup_days": scenario.run.warmup / 1440,
    }


# -- 4. memory of results --------------------------------------------------------------------------
def child_memory(patients: bool, replications: int = 100, simulated: int = 2) -> dict[str, Any]:
    """Peak memory of a process holding the worker results of ``replications`` hospital-year
    replications and the tables built from them, as the parent of a run does. To save time,
    ``simulated`` replications are run and each is used ``replications / simulated`` times as a
    copy (numbered as its own replication, sharing no memory): the sizes are those of distinct
    replications."""
    import copy
    from concurrent.futures import ProcessPoolExecutor

    import flowsim
    from flowsim.experiment import _kpi_table, _series_table, _visit_table, run_replication
    from flowsim.scenario import with_run_length

    scenario = with_run_length(flowsim.load_scenario(BASELINE), 365, None)
    start = _peak_rss_mb()
    with ProcessPoolExecutor(1) as pool:  # simulated elsewhere, as in a run
        made = list(
            pool.map(
                run_replication,
                [scenario] * simulated,
                range(simulated),
                [1] * simulated,
                [patients] * simulated,
            )
        )
    results = []
    for r in range(replications):
        res = copy.deepcopy(made[r % simulated])
        res.replication = r
        results.append(res)
    del made
    kpis = _kpi_table(results)
    series = _series_table(results, [scenario])
    visits = _visit_table(results, [scenario]) if patients else None
    table_mb = (
        sum(
            float(df.memory_usage(deep=True).sum())
            for df in (kpis, series, visits)
            if df is not None
        )
        / 2**20
    )
    return {
        "peak_mb": _peak_rss_mb(),
        "start_mb": start,
        "tables_mb": table_mb,
        "series_rows": len(series),
        "visit_rows": 0 if visits is None else len(visits),
    }


def bench_memory() -> dict[str, Any]:
    out = {"without": _child("memory", "0"), "with": _child("memory", "1")}
    for k, o in out.items():
        print(f"  memory {k} patient visits: peak {o['peak_mb']:,.0f} MB", flush=True)
    return out


# -- plumbing ------------------------------------------------------------------------------------
def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(part: str, arg: str) -> dict[str, Any]:
    """Run one measurement in a fresh Python process, so that its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", part, arg], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _versions() -> str:
    names = ["flowsim", "simpy", "numpy", "pandas", "ciw", "dask", "distributed"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - a package that is not installed is just left out
            continue
    return f"Python {platform.python_version()}, " + ", ".join(found)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def render(
    found: dict[str, Any],
    runs: int,
    batch_runs: int,
    started: datetime,
    load: tuple[list[float], list[float]],
    wall: float,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py`; every figure below comes from the one run "
        "described here. Times are medians; ratios measured side by side are what carry over "
        "to other machines.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; whole benchmark {wall / 60:.1f} min",
        f"- machine: {_cpu()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- versions: {_versions()}",
        f"- load average (1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in load[0])}; "
        f"at end {', '.join(f'{x:.2f}' for x in load[1])} (the machine may be shared)",
        "",
    ]
    if "mmc" in found:
        m = found["mmc"]
        lines += [
            f"## 1. M/M/c stage: {ARRIVALS_PER_HOUR:g} arrivals an hour, mean service "
            f"{MEAN_SERVICE / 60:g} h, {SERVERS} servers, {m['patients']:,} patients",
            "",
            f"Medians of {runs} runs; in each run the three models take turns. flowsim's time "
            "covers building the model, sampling, running and its records; the SimPy model "
            "(written in `benchmarks/run.py`: a source process, one process per patient and a "
            "`Resource`) and Ciw are timed from sampling to the end of the run. Mean waits are "
            f"checked against Erlang C ({m['theory_wait']:.1f} min).",
            "",
            "| model | patients per second | flowsim is ... times as fast | mean wait (min) |",
            "|---|---:|---:|---:|",
        ]
        for name in MMC_MODELS:
            ratio = "-" if name == "flowsim" else f"{_med(m['ratio'][name]):.2f}"
            lines.append(
                f"| {name} | {_med(m['rates'][name]):,.0f} | {ratio} | "
                f"{_med(m['waits'][name]):.1f} |"
            )
        lines += [
            "",
            "Targets: flowsim at least 1.0 times bare SimPy and 3 times Ciw. "
            f"Per-run ratios to SimPy: {_join(m['ratio']['SimPy'])}; to Ciw: "
            f"{_join(m['ratio']['Ciw'])}.",
            "",
        ]
    if "year" in found:
        runs_y = found["year"]["runs"]
        secs = [r["seconds"] for r in runs_y]
        med = _med(secs)
        n = runs_y[0]["patients"]
        lines += [
            f"## 2. Hospital-year: the shipped baseline, {runs_y[0]['warmup_days']:g} days' "
            "warm-up + 365 days, one replication",
            "",
            "Simulation, KPIs and hourly series, as a worker runs them; each run in a fresh "
            "process.",
            "",
            "| seconds (median) | runs (s) | patients | patients per second | SimPy events "
            "per patient | peak memory (MB) |",
            "|---:|---|---:|---:|---:|---:|",
            f"| {med:.2f} | {_join(secs)} | {n:,} | {n / med:,.0f} | "
            f"{runs_y[0]['events'] / n:.2f} | {_med([r['peak_mb'] for r in runs_y]):,.0f} |",
            "",
            "Target: at most 5 s.",
            "",
        ]
    if "batch" in found:
        b = found["batch"]
        s = {k: _med(v) for k, v in b["seconds"].items()}
        one, two, dask = s["1 process"], s["2 processes"], s["Dask, 2-worker LocalCluster"]
        c = {k: _med(v) for k, v in b.get("cpu", {}).items()}
        lines += [
            f"## 3. {b['replications']} replications of a {b['days']:g}-day baseline "
            f"(+ {b['warmup_days']:g} days' warm-up)",
            "",
            f"Median of {batch_runs} run(s) of each, taking turns; every way gives the same "
            "results (checked).",
            "",
            "CPU seconds count every process of the run (its workers too): on a machine that "
            "other work shares, they show what the parallel runs cost, whatever the wall time.",
            "",
            "| how | seconds | replications per second | speed-up over 1 process | CPU seconds |",
            "|---|---:|---:|---:|---:|",
        ]
        for way, sec in s.items():
            lines.append(
                f"| {way} | {sec:.1f} | {b['replications'] / sec:.2f} | "
                f"{one / sec:.2f} | {c.get(way, math.nan):.0f} |"
            )
        lines += [
            "",
            f"Target: 2 processes at least 1.85 times 1 process (here {one / two:.2f}). "
            f"Dask's overhead over 2 processes: {100 * (dask / two - 1):+.0f}%.",
            "",
        ]
    if "memory" in found:
        mem = found["memory"]
        lines += [
            "## 4. Memory of the results of 100 hospital-year replications",
            "",
            "Peak memory of a process holding 100 replications' worker results and the tidy "
            "tables built from them, as the parent of a run does (2 replications are simulated "
            "and each is copied 50 times, numbered as its own replication, so the sizes are "
            "those of 100 distinct replications).",
            "",
            "| results | hourly series rows | patient-visit rows | tables (MB) | "
            "peak memory (MB) |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in (
            ("KPIs and hourly series", "without"),
            ("... and the patient-visit table", "with"),
        ):
            o = mem[key]
            lines.append(
                f"| {label} | {o['series_rows']:,} | {o['visit_rows']:,} | "
                f"{o['tables_mb']:,.0f} | {o['peak_mb']:,.0f} |"
            )
        lines += [
            "",
            "Target: KPIs and hourly series of 100 hospital-year replications within "
            "1 GB (1,024 MB) peak.",
            "",
        ]
    return "\n".join(lines)


def _join(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the M/M/c and year parts")
    parser.add_argument("--batch-runs", type=int, default=1, help="runs of each batch")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        part, arg = args.child
        result = child_year(int(arg)) if part == "year" else child_memory(arg == "1")
        print(json.dumps(result))
        return 0
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}; choose from {PARTS}")
    started = datetime.now(UTC)
    load0 = list(os.getloadavg())
    t0 = time.perf_counter()
    found: dict[str, Any] = {}
    steps = {
        "mmc": lambda: bench_mmc(args.runs),
        "year": lambda: bench_year(args.runs),
        "batch": lambda: bench_batch(args.batch_runs),
        "memory": bench_memory,
    }
    for part in parts:
        print(f"{part} ...", flush=True)
        found[part] = steps[part]()
    text = render(
        found,
        args.runs,
        args.batch_runs,
        started,
        (load0, list(os.getloadavg())),
        time.perf_counter() - t0,
    )
    kept = other_sections(args.out)
    args.out.write_text(text.rstrip("\n") + "\n" + ("\n" + kept if kept else ""))
    print(text)
    return 0


def other_sections(path: Path) -> str:
    """The sections of ``path`` that other benchmark scripts wrote (every "## " section from the
    first that is not one of this script's numbered ones), kept when this script rewrites the
    file."""
    if not path.exists():
        return ""
    lines = path.read_text().splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.startswith("## ") and not re.match(r"## \d+\. ", line)
        ),
        None,
    )
    return "" if start is None else "\n".join(lines[start:]).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.exit(main())
