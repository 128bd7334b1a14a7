"""Time one hospital-year replication of the shipped baseline (365 days measured after warm-up).

    python benchmarks/hospital_year.py [--runs 3]

Prints the median wall time over ``--runs`` runs, simulated patients per second and SimPy events
per patient, and appends the figures, with the machine and versions, to benchmarks/RESULTS.md.
Speed targets live here, not in unit tests: the machine is shared and noisy, so read medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import simpy

import flowsim
from flowsim.batch import with_run_length
from flowsim.engine import simulate
from flowsim.kpis import compute_kpis

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    scenario = with_run_length(flowsim.load_scenario(HERE.parent / "scenarios" / "baseline.yaml"),
                               365, None)
    times, patients, events = [], 0, 0
    for r in range(args.runs):
        t0 = time.perf_counter()
        rec = simulate(scenario, replication=r)
        compute_kpis(rec)
        times.append(time.perf_counter() - t0)
        patients, events = len(rec.arrival), rec.events
    median = statistics.median(times)
    lines = [
        f"## Hospital-year replication, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- versions: flowsim {flowsim.__version__}, Python {platform.python_version()}, "
        f"SimPy {simpy.__version__}, numpy {np.__version__}",
        f"- scenario: baseline, {scenario.run.warmup / 1440:g} days warm-up + 365 days",
        f"- runs: {args.runs}; wall times (s): {', '.join(f'{t:.2f}' for t in times)}",
        f"- **median: {median:.2f} s per replication**; {patients:,} patients "
        f"({patients / median:,.0f} patients/s); {events / patients:.1f} SimPy events per patient",
        "",
    ]
    print("\n".join(lines))
    if not args.no_record:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
