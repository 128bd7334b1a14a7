"""Start-up benchmark: how long the command line takes before and around the simulation.

    python benchmarks/startup.py [--runs 5] [--out benchmarks/RESULTS.md]

1. ``validate``: wall time of ``flowsim validate scenarios/baseline.yaml``, process start to
   exit, beside a bare ``python -c pass`` (the interpreter's own start-up, which no change to
   flowsim can remove).
2. ``run``: wall time of ``flowsim run scenarios/baseline.yaml --days 365 -r 1 --jobs 1 --quiet
   --out <fresh folder>``, process start to results written, against the simulation alone:
   one replication of the same 42 + 365-day baseline in a fresh process, timed inside it around
   simulation, KPIs and hourly series (as the ``year`` part of ``benchmarks/run.py`` does).

Every run is a fresh process and the kinds take turns within each run, so a busy spell on a
shared machine falls on all of them. Figures are medians; the ratio is taken run by run.
The markdown section is printed; with ``--out FILE`` it also replaces its own section of FILE
(or is appended when FILE has none), leaving the rest of FILE as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results_file import replace_section  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
DAYS = 365
HEADING = "## Start-up: `flowsim validate` and an end-to-end `flowsim run`"
VALIDATE_TARGET_S = 0.5
RUN_TARGET_RATIO = 1.5


def flowsim_command() -> list[str]:
    """The installed ``flowsim`` script beside this interpreter, as a user runs it; else the
    module."""
    script = Path(sys.executable).with_name("flowsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flowsim.cli"]


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds from starting ``cmd`` to its exit, and the CPU seconds it used (which other
    work on a shared machine disturbs far less); a failed command stops the benchmark."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    return seconds, _children_cpu() - c0


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def simulation_alone() -> dict[str, Any]:
    """In a fresh process (see ``--child``): seconds of simulation, KPIs and hourly series."""
    done = subprocess.run(
        [sys.executable, __file__, "--child"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def child() -> dict[str, Any]:
    from flowsim.batch import with_run_length
    from flowsim.engine import simulate
    from flowsim.kpis import compute_kpis, hourly_series
    from flowsim.loader import load_scenario

    scenario = with_run_length(load_scenario(BASELINE), DAYS, None)
    t0, c0 = time.perf_counter(), time.process_time()
    rec = simulate(scenario, 0)
    compute_kpis(rec)
    hourly_series(rec)
    return {
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "patients": len(rec.arrival),
        "warmup_days": scenario.run.warmup / 1440,
    }


def measure(runs: int) -> dict[str, Any]:
    cli = flowsim_command()
    kinds = ("python", "validate", "run", "simulation")
    found: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    info: dict[str, Any] = {}

    def keep(kind: str, seconds: float, cpu_seconds: float) -> None:
        found[kind].append(seconds)
        cpu[kind].append(cpu_seconds)

    with tempfile.TemporaryDirectory(prefix="flowsim-startup-") as tmp:
        for k in range(runs):
            keep("python", *timed([sys.executable, "-c", "pass"]))
            keep("validate", *timed([*cli, "validate", str(BASELINE)]))
            out = Path(tmp) / f"run-{k}"
            keep(
                "run",
                *timed(
                    [
                        *cli,
                        "run",
                        str(BASELINE),
                        "--days",
                        str(DAYS),
                        "-r",
                        "1",
                        "--jobs",
                        "1",
                        "--quiet",
                        "--out",
                        str(out),
                    ]
                ),
            )
            if not (out / "manifest.json").exists():
                raise SystemExit(f"flowsim run wrote no results to {out}")
            info = simulation_alone()
            keep("simulation", info["seconds"], info["cpu"])
            print(
                f"  run {k + 1}: validate {found['validate'][-1]:.2f} s, flowsim run "
                f"{found['run'][-1]:.2f} s, simulation alone {found['simulation'][-1]:.2f} s",
                flush=True,
            )
    return {
        "seconds": found,
        "cpu": cpu,
        "patients": info["patients"],
        "warmup_days": info["warmup_days"],
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cli)),
    }


def render(
    m: dict[str, Any], runs: int, started: datetime, load: tuple[list[float], list[float]]
) -> str:
    s, c = m["seconds"], m["cpu"]
    med = {k: statistics.median(v) for k, v in s.items()}
    cpu = {k: statistics.median(v) for k, v in c.items()}
    ratios = [r / sim for r, sim in zip(s["run"], s["simulation"], strict=True)]
    ratio = statistics.median(ratios)
    cpu_ratios = [r / sim for r, sim in zip(c["run"], c["simulation"], strict=True)]

    def join(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return "\n".join(
        [
            HEADING,
            "",
            f"Written by `python benchmarks/startup.py --runs {runs}` on "
            f"{started:%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) at start "
            f"{', '.join(f'{x:.2f}' for x in load[0])}, at end "
            f"{', '.join(f'{x:.2f}' for x in load[1])}. Medians of {runs} runs, each command a "
            "fresh process, the kinds taking turns within each run.",
            "",
            "| what | seconds (median) | runs (s) | CPU seconds (median) |",
            "|---|---:|---|---:|",
            f"| `python -c pass` (the interpreter alone) | {med['python']:.2f} | "
            f"{join(s['python'])} | {cpu['python']:.2f} |",
            f"| `{m['command']} validate scenarios/baseline.yaml` | {med['validate']:.2f} | "
            f"{join(s['validate'])} | {cpu['validate']:.2f} |",
            f"| `{m['command']} run scenarios/baseline.yaml --days {DAYS} -r 1 --jobs 1 "
            f"--quiet --out DIR`, process start to results written | {med['run']:.2f} | "
            f"{join(s['run'])} | {cpu['run']:.2f} |",
            f"| simulation alone: one replication, {m['warmup_days']:g} days' warm-up + {DAYS} "
            f"days ({m['patients']:,} patients), simulation, KPIs and hourly series, timed inside "
            f"a fresh process | {med['simulation']:.2f} | {join(s['simulation'])} | "
            f"{cpu['simulation']:.2f} |",
            "",
            f"- `flowsim validate`: {med['validate']:.2f} s; target under {VALIDATE_TARGET_S:g} s: "
            f"{verdict(med['validate'] < VALIDATE_TARGET_S)}.",
            f"- end-to-end `flowsim run` over the simulation alone: {ratio:.2f} times (run by run: "
            f"{join(ratios)}); target at most {RUN_TARGET_RATIO:g} times: "
            f"{verdict(ratio <= RUN_TARGET_RATIO)}. In CPU seconds, which a busy machine disturbs "
            f"less: {statistics.median(cpu_ratios):.2f} times (run by run: {join(cpu_ratios)}).",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (default 5)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="also write the section into FILE, replacing its own section",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child()))
        return 0
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    started = datetime.now(UTC)
    load0 = list(os.getloadavg())
    found = measure(args.runs)
    text = render(found, args.runs, started, (load0, list(os.getloadavg())))
    print(text)
    if args.out is not None:
        replace_section(args.out, HEADING, text)
        print(f"wrote the section into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
