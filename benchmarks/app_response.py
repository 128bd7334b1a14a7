"""How fast the browser page answers the default comparison, cold and from the cache.

The page (``app.py``) is driven headless with Streamlit's AppTest, as a person would use it:
press "Run the comparison" with the page's default settings (the baseline and one shipped
change), once with an empty result cache (cold: simulation, tables and charts) and once more
with the same settings (cached: the page redrawn from the stored result). The time is from the
click until the page's script has finished drawing everything; the browser's own drawing is not
included. Each is repeated and the median reported, next to the time of the simulation alone.

    python benchmarks/app_response.py [--repeats 3] [--out benchmarks/APP_RESULTS.md]

Targets: cold at most 10 s, cached at most 1 s, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLD_TARGET, CACHED_TARGET = 10.0, 1.0


def measure(repeats: int) -> dict[str, list[float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import flowsim
    from flowsim import webapp
    from flowsim.batch import with_run_length

    os.chdir(REPO)
    out: dict[str, list[float]] = {"cold": [], "cached": [], "simulation": [], "cpu": []}
    for _ in range(repeats):
        st.cache_resource.clear()
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
        cpu = _cpu()
        t = time.perf_counter()
        at.button(key="run").click().run()
        out["cold"].append(time.perf_counter() - t)
        out["cpu"].append(_cpu() - cpu)
        assert not at.exception and len(at.dataframe) > 0, "the page did not show the table"
        t = time.perf_counter()
        at.button(key="run").click().run()
        out["cached"].append(time.perf_counter() - t)
        assert not at.exception

        # The simulation alone, as the page runs it (same scenarios, settings, processes).
        files = webapp.shipped_files(webapp.scenarios_folder())
        scenarios = [with_run_length(flowsim.load_scenario(files[n]), webapp.DEFAULT_DAYS,
                                     webapp.DEFAULT_WARMUP)
                     for n in ("baseline.yaml", webapp.DEFAULT_CHANGE)]
        t = time.perf_counter()
        flowsim.run(scenarios, replications=webapp.DEFAULT_REPLICATIONS,
                    seed=webapp.DEFAULT_SEED, jobs=0)
        out["simulation"].append(time.perf_counter() - t)
    return out


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def report(times: dict[str, list[float]], repeats: int) -> str:
    from flowsim import webapp

    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        ("Cold: press Run, simulate, draw table and charts", "cold", f"≤ {COLD_TARGET:g} s"),
        ("Cached: press Run again with the same settings", "cached", f"≤ {CACHED_TARGET:g} s"),
        ("Simulation alone (`flowsim.run`, same settings)", "simulation", ""),
        ("CPU seconds of a cold answer (page and workers)", "cpu", ""),
    ]
    lines = [
        "# Browser page response times",
        "",
        "Measured by `python benchmarks/app_response.py` (Streamlit AppTest drives `app.py`; "
        "time from pressing *Run the comparison* until the page has drawn everything, the "
        "browser's own drawing excluded). Default comparison: `baseline.yaml` against "
        f"`{webapp.DEFAULT_CHANGE}`, {webapp.DEFAULT_DAYS} days measured after "
        f"{webapp.DEFAULT_WARMUP} days' warm-up, {webapp.DEFAULT_REPLICATIONS} replications, "
        f"one worker process per core ({os.cpu_count()} here). Medians of {repeats} runs; the "
        "machine is shared, so compare ratios rather than single times.",
        "",
        "| what | median (s) | all runs (s) | target |",
        "|---|---:|---|---|",
    ]
    for text, key, target in rows:
        runs = ", ".join(f"{x:.2f}" for x in times[key])
        lines.append(f"| {text} | {med[key]:.2f} | {runs} | {target} |")
    lines += [
        "",
        f"Cold page over simulation alone: {med['cold'] / med['simulation']:.2f}x; cached over "
        f"cold: {med['cached'] / med['cold']:.3f}x. A cold answer needs "
        f"{med['cpu']:.1f} CPU seconds; shared by {os.cpu_count()} otherwise idle cores that "
        f"is about {med['cpu'] / (os.cpu_count() or 1):.1f} s, the time to expect on a quiet "
        "machine.",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "APP_RESULTS.md")
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    times = measure(args.repeats)
    text = report(times, args.repeats)
    text += (f"Load average (1 min) before and after: {load_before:.1f} and "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; above the core count, other "
             "work was sharing the processors and the times are longer than on a quiet "
             "machine.\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)
    cold, cached = statistics.median(times["cold"]), statistics.median(times["cached"])
    return 0 if cold <= COLD_TARGET and cached <= CACHED_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
