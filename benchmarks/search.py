"""Capacity search benchmark: the shipped baseline's ward beds for a four-hour target.

    python benchmarks/search.py [--values 540:700:10] [--target four_hour_pct>=66] [--jobs 2]
                                [--replications 5] [--max-replications 40]
                                [--out benchmarks/RESULTS.md]

Runs ``flowsim search scenarios/baseline.yaml --lever places.wards.capacity`` as a user would
(a fresh process, timed from start to the folder written) and reports the wall time, the
replications the search ran, the values it tried, and what a full grid would have run: every
value at the first look's replications, and every value at the most replications the search
allows. The markdown section is printed; with ``--out FILE`` it also replaces its own section of
FILE (or is appended when FILE has none), leaving the rest as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from results_file import replace_section  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
HEADING = "## Capacity search: ward beds for a four-hour target"
TARGET_S = 180.0


def flowsim_command() -> list[str]:
    script = Path(sys.executable).with_name("flowsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flowsim.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", default="540:700:10")
    parser.add_argument("--target", default="four_hour_pct>=66")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--max-replications", type=int, default=40)
    parser.add_argument("--replications", type=int, default=5, help="the first look's")
    parser.add_argument("--out", type=Path, help="also write the section into this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "search"
        cmd = [
            *flowsim_command(),
            "search",
            str(BASELINE),
            "--lever",
            "places.wards.capacity",
            "--values",
            args.values,
            "--target",
            args.target,
            "--jobs",
            str(args.jobs),
            "--max-replications",
            str(args.max_replications),
            "--replications",
            str(args.replications),
            "--out",
            str(folder),
            "--quiet",
        ]
        load_before = os.getloadavg()
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            return done.returncode
        answer = json.loads((folder / "answer.json").read_text())
        text = (folder / "answer.txt").read_text()
        tried = (folder / "values.csv").read_text().splitlines()
    first, most = answer["looks"][0], answer["looks"][-1]
    grid = answer["grid_values"]
    shown = "flowsim search scenarios/baseline.yaml --lever places.wards.capacity"
    command = (
        f'{shown} --values {args.values} --target "{args.target}" --jobs {args.jobs} '
        f"--max-replications {args.max_replications} --replications {args.replications}"
    )
    load = [", ".join(f"{x:.2f}" for x in lo) for lo in (load_before, load_after)]
    ratio = answer["runs"] / (grid * first)
    section = "\n".join(
        [
            HEADING,
            "",
            "Written by `python benchmarks/search.py --out benchmarks/RESULTS.md`: one run of",
            f"`{command}`,",
            "timed from process start to the results folder written (chart and PNG included).",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            f"- load average (1, 5, 15 min) at start {load[0]}; at end {load[1]} (the machine "
            "may be shared)",
            "",
            "| wall time (s) | CPU seconds | replications run | values tried "
            f"| full grid at {first} each | full grid at {most} each |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {seconds:.0f} | {cpu:.0f} | {answer['runs']} | {answer['values_tried']} of {grid} "
            f"| {grid * first} | {grid * most} |",
            "",
            "CPU seconds count every process of the search (its workers too): on a shared "
            "machine they show",
            "what the search costs whatever the wall time; on 2 idle cores the wall time is "
            "about half of them.",
            f"Target: at most {TARGET_S:.0f} s on 2 cores. The search ran {ratio:.2f} times the "
            "replications of the cheapest full grid. Its answer:",
            "",
            "```",
            text.strip(),
            "```",
            "",
            "Every value tried (mean and 95% CI of the KPI, replications, decision):",
            "",
            "| value | replications | mean | CI | decision |",
            "|---:|---:|---:|---|---|",
            *_rows(tried),
            "",
        ]
    )
    print(section)
    if args.out is not None:
        replace_section(args.out, HEADING, section)
    return 0


def _rows(csv_lines: list[str]) -> list[str]:
    """The table rows of ``values.csv`` (one lever, one target) for the markdown section."""
    out = []
    for line in csv_lines[1:]:
        value, reps, decision, mean, low, high, _ = line.split(",")
        out.append(
            f"| {value} | {reps} | {float(mean):.2f} | {float(low):.2f} to {float(high):.2f} "
            f"| {decision} |"
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
