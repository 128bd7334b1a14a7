"""Calibration benchmark: `flowsim calibrate` on a year of about 110,000 attendances and 40,000
spells, wall time and peak memory, process start to scenario written.

    python benchmarks/calibrate.py [--runs 3] [--out benchmarks/RESULTS.md]

The log is made once by the shipped generator (examples/eventlog/generate.py, not flowsim), with
its arrival rates raised by 8% and its direct admissions to 19 a day so that a year holds the
sizes the issue names; it is written as gzipped CSV, as a trust's extract would be. Each run is
a fresh process; the peak memory is that process's maximum resident set size. Figures are
medians. The markdown section is printed; with ``--out FILE`` it also replaces its own section
of FILE (or is appended when FILE has none).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from results_file import replace_section  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATOR = ROOT / "examples" / "eventlog" / "generate.py"
HEADING = "## Calibration: `flowsim calibrate` on a year's event log"
TARGET_S = 30.0
TARGET_MB = 2048.0


def make_log(folder: Path) -> tuple[int, int]:
    spec = importlib.util.spec_from_file_location("eventlog_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    truth = dict(gen.TRUTH)
    truth["per_day"] = {k: v * 1.08 for k, v in truth["per_day"].items()}
    truth["direct_admissions_per_day"] = 19.0
    attendances, spells = gen.generate(truth)
    attendances.to_csv(folder / "attendances.csv.gz", index=False)
    spells.to_csv(folder / "spells.csv.gz", index=False)
    return len(attendances), len(spells)


def run_once(folder: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one ``flowsim calibrate`` in a fresh process."""
    script = Path(sys.executable).with_name("flowsim")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "flowsim.cli"]
    cmd += [
        "calibrate",
        str(folder / "attendances.csv.gz"),
        "--spells",
        str(folder / "spells.csv.gz"),
        "--out",
        str(folder / "trust.yaml"),
    ]
    # A wrapper process measures the child alone: RUSAGE_CHILDREN keeps the largest child seen.
    probe = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "s = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(json.dumps([r.returncode, s, m, r.stderr]))"
    )
    done = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    code, seconds, mb, err = json.loads(done.stdout)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{err}")
    return float(seconds), float(mb)


def render(n_att: int, n_spells: int, seconds: list[float], mbs: list[float]) -> str:
    med_s, med_mb = statistics.median(seconds), statistics.median(mbs)
    ok = med_s <= TARGET_S and max(mbs) <= TARGET_MB
    cpu = os.cpu_count() or 0
    return "\n".join(
        [
            HEADING,
            "",
            f"Written by `python benchmarks/calibrate.py --runs {len(seconds)}` on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({platform.processor() or 'cpu'}, {cpu} "
            f"cores, load average at end {os.getloadavg()[0]:.2f}; the machine may be shared).",
            "",
            f"Log: {n_att:,} attendances and {n_spells:,} spells over 364 days, gzipped CSV, "
            "from `examples/eventlog/generate.py` with arrivals raised 8% and 19 direct "
            "admissions a day. Command: `flowsim calibrate attendances.csv.gz --spells "
            "spells.csv.gz --out trust.yaml`, process start to scenario written.",
            "",
            "| seconds (median) | runs (s) | peak memory (MB, median) | runs (MB) |",
            "|---:|---|---:|---|",
            f"| {med_s:.1f} | {', '.join(f'{s:.1f}' for s in seconds)} | {med_mb:.0f} | "
            f"{', '.join(f'{m:.0f}' for m in mbs)} |",
            "",
            f"Target: at most {TARGET_S:g} s and {TARGET_MB / 1024:g} GB: "
            + ("met." if ok else "NOT MET."),
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, metavar="FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        n_att, n_spells = make_log(folder)
        print(f"log made in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        seconds, mbs = [], []
        for _ in range(max(1, args.runs)):
            s, mb = run_once(folder)
            seconds.append(s)
            mbs.append(mb)
    section = render(n_att, n_spells, seconds, mbs)
    print(section)
    if args.out:
        replace_section(args.out, HEADING, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
