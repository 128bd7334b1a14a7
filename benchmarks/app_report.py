"""Time the browser page's report download: the report of a comparison made as the page makes
it (results written to a temporary folder, ``flowsim report`` built, the bytes read back), for
the baseline with one change and with all seven shipped changes (91 days after 42 days'
warm-up, 3 replications). Prints the medians; the figures are quoted in docs/app.md."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import flowsim
from flowsim.scenario import with_run_length
from flowsim.webapp.components.report_download import report_html

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def main(runs: int = 3) -> None:
    changes = sorted(str(p.relative_to(SCENARIOS)) for p in (SCENARIOS / "changes").glob("*.yaml"))
    names = ["baseline.yaml", *changes]
    for what, chosen in (("baseline + 1 change", names[:2]), ("baseline + 7 changes", names)):
        scenarios = [with_run_length(flowsim.load_scenario(SCENARIOS / n), 91, 42) for n in chosen]
        started = time.perf_counter()
        results = flowsim.run(scenarios, replications=3, seed=20240902, jobs=2)
        simulated = time.perf_counter() - started
        comparison = results.compare(scenarios[0].name)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            data = report_html(results, comparison)
            times.append(time.perf_counter() - started)
        print(
            f"{what}: simulation {simulated:.1f} s; report median "
            f"{statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), "
            f"{len(data) / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
