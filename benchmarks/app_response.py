"""How fast the browser page answers the default comparison, cold and from the cache.

The page (``app.py``) is driven headless with Streamlit's AppTest, as a person would use it:
press "Run the comparison" with the page's default settings (the baseline and one shipped
change), once with an empty result cache (cold: simulation, tables and charts) and once more
with the same settings (cached: the page redrawn from the stored result). The time is from the
click until the page's script has finished drawing everything; the browser's own drawing is not
included. Each is repeated and the median reported, next to the time of the simulation alone.

    python benchmarks/app_response.py [--repeats 3] [--browser] [--out benchmarks/APP_RESULTS.md]

With ``--browser`` the same is timed in Chromium as well (``/usr/bin/chromium`` driven by
Playwright, against ``streamlit run app.py``): from the click until the table and all five
charts are on the screen, cold on a fresh server, and cached by opening the page again in a
new tab and pressing Run with the same settings.

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
    from flowsim.scenario import with_run_length

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
        scenarios = [
            with_run_length(
                flowsim.load_scenario(files[n]), webapp.DEFAULT_DAYS, webapp.DEFAULT_WARMUP
            )
            for n in ("baseline.yaml", webapp.DEFAULT_CHANGE)
        ]
        t = time.perf_counter()
        flowsim.run(
            scenarios, replications=webapp.DEFAULT_REPLICATIONS, seed=webapp.DEFAULT_SEED, jobs=0
        )
        out["simulation"].append(time.perf_counter() - t)
    return out


BROWSER_NOTE = (
    "The Chromium rows include the browser's own work: it runs headless on the same 2 cores as "
    "the server and the worker processes, drawing without a GPU; in the cached case the table "
    "is on the screen after about half a second and the five charts follow."
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CHARTS_DRAWN = (
    'document.querySelectorAll(\'[data-testid="stVegaLiteChart"] canvas, '
    '[data-testid="stVegaLiteChart"] svg\').length >= 5'
)


def measure_browser(repeats: int) -> dict[str, list[float]]:
    import socket
    import subprocess
    import tempfile
    import urllib.request

    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"browser_cold": [], "browser_cached": [], "browser_again": []}

    def answer(page: object, url: str) -> float:
        page.goto(url)  # type: ignore[attr-defined]
        run = page.get_by_role("button", name="Run the comparison")  # type: ignore[attr-defined]
        run.wait_for(timeout=60_000)
        t = time.perf_counter()
        run.click()
        page.get_by_text("Each change against").wait_for(timeout=300_000)  # type: ignore
        page.wait_for_function(CHARTS_DRAWN, timeout=300_000)  # type: ignore[attr-defined]
        return time.perf_counter() - t

    def again(page: object) -> float:
        # Run pressed again in the same tab: until the script has finished (Streamlit's
        # running indicator has gone) and the charts are there.
        page.wait_for_timeout(1000)  # type: ignore[attr-defined]
        t = time.perf_counter()
        page.get_by_role("button", name="Run the comparison").click()  # type: ignore
        page.wait_for_timeout(50)  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
        )
        page.wait_for_function(CHARTS_DRAWN, timeout=60_000)  # type: ignore[attr-defined]
        return time.perf_counter() - t

    for _ in range(repeats):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO / "app.py"),
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.3)
            with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
                browser = p.chromium.launch_persistent_context(
                    profile,
                    executable_path="/usr/bin/chromium",
                    headless=True,
                    args=CHROMIUM_ARGS,
                    viewport={"width": 1400, "height": 4200},
                )
                try:
                    out["browser_cold"].append(answer(browser.new_page(), url))
                    page = browser.new_page()
                    out["browser_cached"].append(answer(page, url))
                    out["browser_again"].append(again(page))
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    return out


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished worker processes."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def report(times: dict[str, list[float]], repeats: int) -> str:
    from flowsim import webapp

    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        ("Cold: press Run, simulate, draw table and charts", "cold", f"≤ {COLD_TARGET:g} s"),
        ("Cached: press Run again with the same settings", "cached", f"≤ {CACHED_TARGET:g} s"),
        ("Simulation alone (`flowsim.run`, same settings)", "simulation", ""),
        ("CPU seconds of a cold answer (page and workers)", "cpu", ""),
        (
            "In Chromium, cold: click to table and charts drawn",
            "browser_cold",
            f"≤ {COLD_TARGET:g} s",
        ),
        (
            "In Chromium, cached: new tab, same settings, click to drawn",
            "browser_cached",
            f"≤ {CACHED_TARGET:g} s",
        ),
        (
            "In Chromium, cached: Run pressed again in the same tab",
            "browser_again",
            f"≤ {CACHED_TARGET:g} s",
        ),
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
        if key not in times:
            continue
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
        *([BROWSER_NOTE, ""] if "browser_cold" in times else []),
        f"Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "APP_RESULTS.md")
    p.add_argument("--browser", action="store_true", help="also time it in Chromium")
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    times = measure(args.repeats)
    if args.browser:
        times.update(measure_browser(args.repeats))
    text = report(times, args.repeats)
    text += (
        f"Load average (1 min) before and after: {load_before:.1f} and "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; above the core count, other "
        "work was sharing the processors and the times are longer than on a quiet "
        "machine.\n"
    )
    args.out.write_text(text, encoding="utf-8")
    print(text)
    cold, cached = statistics.median(times["cold"]), statistics.median(times["cached"])
    return 0 if cold <= COLD_TARGET and cached <= CACHED_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
