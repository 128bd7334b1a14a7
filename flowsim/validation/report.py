"""The validation report: a Markdown page with every case's checks and the pass rule."""

from __future__ import annotations

import datetime as dt
import math
import platform
from collections.abc import Sequence
from pathlib import Path

from .checks import CHECK_CONFIDENCE, EXACT_TOLERANCE, STATISTICAL_RULES, CaseResult, Check

SOURCES = """\
- Erlang B and C, M/M/c waiting-time distribution, Jackson networks, M/G/1: D. Gross,
  J. F. Shortle, J. M. Thompson and C. M. Harris, *Fundamentals of Queueing Theory*, 4th ed.,
  Wiley, 2008 (sections 2.3, 2.5, 4.1-4.2, 5.1).
- Pollaczek-Khinchine mean wait: L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley,
  1975, section 5.6.
- Non-preemptive priority: A. Cobham, "Priority assignment in waiting line problems",
  *Operations Research* 2(1), 70-76, 1954.
- Little's law on a sample path: S. Stidham, "A last word on L = lambda W", *Operations
  Research* 22(2), 417-421, 1974.
- Truncated normal moments: N. L. Johnson, S. Kotz and N. Balakrishnan, *Continuous Univariate
  Distributions*, vol. 1, 2nd ed., Wiley, 1994, section 13.10.1.
- Cross-checks: Ciw, an independent open-source queueing-network simulator (G. I. Palmer,
  V. A. Knight, P. R. Harper and A. L. Hawa, "Ciw: An open-source discrete event simulation
  library", *Journal of Simulation* 13(1), 68-82, 2019).
"""


KIND_SOURCES = {
    "mmc": "Erlang C, M/M/c waiting-time distribution",
    "loss": "Erlang B (insensitive to the stay distribution)",
    "mg1": "Pollaczek-Khinchine",
    "jackson": "Jackson network product form, Little's law",
    "jackson_rooms": "Jackson network of rooms released on completion (M/M/c per station)",
    "stay_by_next": "Little's law, mean stay by destination",
    "priority": "Cobham's non-preemptive priority waits",
    "arrivals": "integral of the arrival rate",
    "deterministic": "times worked by hand",
    "ciw": "Ciw, an independent simulator",
    "little": "Little's law, and exact bookkeeping",
    "occupancy_mmc": "M/M/c birth-death distribution, Erlang C",
    "fifo_classes": "M/M/1 mean wait, the same for every class",
}


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _ci(lo: float, hi: float) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "-"
    return f"({_num(lo)}, {_num(hi)})"


def _row(c: Check) -> str:
    expected = c.expected_text or _num(c.expected)
    simulated = c.simulated_text or f"{_num(c.mean)} {_ci(*c.ci95)}"
    band = "-" if c.rule in ("exact", "chi-square") else _ci(*c.band)
    return (
        f"| {c.measure} | {expected} | {simulated} | {band} | {c.rule} | "
        f"{'pass' if c.passed else '**FAIL**'} |"
    )


def render(results: Sequence[CaseResult], command: str, seconds: float) -> str:
    n_checks = sum(len(r.checks) for r in results)
    n_failed = sum(not c.passed for r in results for c in r.checks)
    n_stat = sum(c.rule in STATISTICAL_RULES for r in results for c in r.checks)
    n_little = sum(
        c.rule in STATISTICAL_RULES for r in results if r.kind == "little" for c in r.checks
    )
    level = 100 * CHECK_CONFIDENCE
    lines = [
        "# Validation",
        "",
        "flowsim's numbers checked against answers that do not come from flowsim: queueing "
        "theory's closed forms, hand-worked times, Little's law and a second simulator (Ciw). "
        "Every case is an ordinary scenario file in `flowsim/validation/cases/` (its "
        "`x-validation` block says what it is checked against and is ignored when the file is "
        "run), so `flowsim run` and `flowsim validate` work on each of them. Simulated "
        "figures come from the ordinary results: the KPI table and the patient-visit table.",
        "",
        f"This page is written by `{command}`. Result: **{n_checks - n_failed} of {n_checks} "
        f"checks pass** ({len(results)} cases, {seconds:.0f} s).",
        "",
        "## The pass rule",
        "",
        f"- **Expected in CI**: the independent value lies inside the {level:g}% Student t "
        "confidence interval of the replication means (the *pass interval* column). The "
        "table also shows the usual 95% interval next to the mean.",
        f"- **CIs overlap** (cross-checks with Ciw): the two simulators' {level:g}% intervals "
        "overlap; Ciw's mean and 95% interval are in the expected column.",
        f"- **Chi-square** (arrival counts): Pearson's statistic over the cells, with the "
        f"expected counts from the scenario's rates, has a p-value of at least "
        f"{1 - CHECK_CONFIDENCE:.3g}.",
        f"- **Exact** (deterministic runs, bookkeeping): every simulated value equals the "
        f"hand-worked one to {EXACT_TOLERANCE:g} (minutes, or relative for the bookkeeping).",
        "",
        f"Why {level:g}% and not 95%: there are {n_stat} statistical checks here, and at 95% "
        f"a correct engine would fail about {0.05 * n_stat:.0f} of them by chance. At "
        f"{level:g}% the chance of any false fail is at most {n_stat} x "
        f"{100 * (1 - CHECK_CONFIDENCE):.3g}% = {100 * n_stat * (1 - CHECK_CONFIDENCE):.0f}% "
        f"(Bonferroni), and less in fact: {n_little} of them are Little's law on the places "
        "of shipped scenarios, which share their runs. The level was fixed before the cases "
        "were run, is the same for every check, and no case was tuned to pass; seeds are "
        "fixed (each case file's `run.seed`), so the result is repeatable. The 95% "
        "interval's width, shown for each check, is the precision the check achieves.",
        "",
        "Steady-state cases use their scenario's warm-up (`run.warmup`); measures cover the "
        "window after it. Waits are per visit starting in the window; times in system are "
        "per patient leaving in the window.",
        "",
        "## Summary",
        "",
        "| case | checked against | checks | replications x days | result |",
        "|---|---|---|---|---|",
        *[
            f"| {r.title} | {KIND_SOURCES.get(r.kind, r.kind)} | {len(r.checks)} | "
            f"{r.replications} x {r.length_days:g} | {'pass' if r.passed else '**FAIL**'} |"
            for r in results
        ],
        "",
        "## Results",
        "",
    ]
    for r in results:
        status = "pass" if r.passed else "**FAIL**"
        lines += [
            f"### {r.title} — {status}",
            "",
            f"`{r.source}`: {r.replications} replications, warm-up {r.warmup_days:g} days, "
            f"{r.length_days:g} days measured ({r.seconds:.1f} s).",
            "",
            "| measure | expected | simulated mean (95% CI) | pass interval | rule | result |",
            "|---|---|---|---|---|---|",
            *[_row(c) for c in r.checks],
            "",
        ]
    lines += [
        "## Sources",
        "",
        SOURCES,
        f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with Python "
        f"{platform.python_version()}.",
        "",
    ]
    return "\n".join(lines)


def write_report(results: Sequence[CaseResult], path: Path, command: str, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render(results, command, seconds), encoding="utf-8")
    tmp.replace(path)
