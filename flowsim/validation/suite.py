"""Running the validation suite: every case file, then Little's law on the shipped scenarios.

A case is run exactly as ``flowsim run`` would run it (its own run settings, the ordinary
results tables with the patient-visit table kept), then checked by its kind (see
:mod:`flowsim.validation.kinds` and :mod:`flowsim.validation.crosscheck`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..experiment import run
from ..loader import load_scenario
from ..scenario import Scenario
from .checks import CaseResult, Check
from .crosscheck import ciw
from .kinds import KINDS, KindCheck
from .little import little_checks
from .measure_kinds import MEASURE_KINDS

DAY = 1440.0
Say = Callable[[str], None]


def case_files() -> list[Path]:
    """The shipped case files, in name order."""
    folder = resources.files("flowsim.validation") / "cases"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def case_spec(path: Path) -> dict[str, Any]:
    """The ``x-validation`` block of a case file (the loader ignores it)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = raw.get("x-validation") if isinstance(raw, dict) else None
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"{path}: no x-validation block with a 'kind'")
    return spec


def shipped_scenarios(folder: Path) -> list[Path]:
    """Scenario files under ``folder`` and ``folder/changes`` (batch files are left out)."""
    files = sorted(folder.glob("*.yaml")) + sorted((folder / "changes").glob("*.yaml"))
    out = []
    for f in files:
        raw = yaml.safe_load(f.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and "scenarios" not in raw:
            out.append(f)
    return out


def _checker(kind: str) -> KindCheck:
    if kind == "ciw":
        return ciw
    kinds = KINDS | MEASURE_KINDS
    if kind not in kinds:
        raise ValueError(f"unknown validation kind '{kind}' (known: ciw, {', '.join(kinds)})")
    return kinds[kind]


def _result(
    name: str,
    title: str,
    kind: str,
    source: str,
    s: Scenario,
    reps: int,
    seconds: float,
    checks: list[Check],
) -> CaseResult:
    return CaseResult(
        name, title, kind, source, reps, s.run.warmup / DAY, s.run.length / DAY, seconds, checks
    )


def run_case(path: Path, jobs: int = 1) -> CaseResult:
    spec = case_spec(path)
    checker = _checker(spec["kind"])
    scenario = load_scenario(path)
    t0 = time.perf_counter()
    results = run(scenario, jobs=jobs, patients=True)
    checks = checker(scenario, spec, results)
    return _result(
        scenario.name,
        spec.get("title", scenario.name),
        spec["kind"],
        f"cases/{path.name}",
        scenario,
        results.replications,
        time.perf_counter() - t0,
        checks,
    )


def run_little(path: Path, jobs: int = 1, replications: int | None = None) -> CaseResult:
    scenario = load_scenario(path)
    t0 = time.perf_counter()
    results = run(scenario, replications=replications, jobs=jobs, patients=True)
    checks = little_checks(scenario, results)
    return _result(
        f"little_{scenario.name}",
        f"Little's law, every place of {scenario.name}",
        "little",
        str(path),
        scenario,
        results.replications,
        time.perf_counter() - t0,
        checks,
    )


def run_suite(
    cases: Iterable[Path] | None = None,
    scenarios: Iterable[Path] = (),
    jobs: int = 1,
    fast_only: bool = False,
    little_replications: int | None = None,
    say: Say | None = None,
) -> list[CaseResult]:
    """Run the case files (all shipped ones by default; only those marked ``fast`` with
    ``fast_only``) and Little's law on each scenario file in ``scenarios``."""
    out = []
    for path in case_files() if cases is None else cases:
        if fast_only and not case_spec(path).get("fast", False):
            continue
        res = run_case(path, jobs)
        if say:
            say(_line(res))
        out.append(res)
    for path in scenarios:
        res = run_little(path, jobs, little_replications)
        if say:
            say(_line(res))
        out.append(res)
    return out


def _line(res: CaseResult) -> str:
    failed = [c.measure for c in res.checks if not c.passed]
    verdict = "pass" if not failed else f"FAIL ({'; '.join(failed)})"
    return f"{res.name}: {len(res.checks)} checks, {verdict} [{res.seconds:.1f} s]"
