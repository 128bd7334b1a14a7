"""flowsim: test changes to urgent and emergency care virtually before trying them on patients.

A discrete-event simulation (SimPy) of patient flow along urgent and emergency care pathways, in
which the emergency department and the beds are coupled. The Python API:

>>> import flowsim
>>> baseline = flowsim.load_scenario("scenarios/baseline.yaml")          # doctest: +SKIP
>>> change = flowsim.load_scenario("scenarios/changes/discharge_before_noon.yaml")  # doctest: +SKIP
>>> results = flowsim.run([baseline, change], replications=10, jobs=2)  # doctest: +SKIP
>>> results.compare()                                                  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import FlowsimError, Problem, ScenarioError

if TYPE_CHECKING:
    from .experiment import Results, run
    from .kpis import KPI_DEFINITIONS
    from .loader import load_scenario, scenario_hash, scenario_yaml
    from .scenario import Scenario

# The rest of the API is imported on first use (PEP 562), so that ``import flowsim`` and the
# command line's quick commands do not pay for pandas, scipy and the engine up front.
_LAZY = {
    "Results": "experiment",
    "run": "experiment",
    "KPI_DEFINITIONS": "kpis",
    "load_scenario": "loader",
    "scenario_hash": "loader",
    "scenario_yaml": "loader",
    "Scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = version("flowsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"


def compare(
    baseline: Scenario,
    *changes: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
) -> Results:
    """Run a baseline and change scenarios with common random numbers; ``.compare()`` the result."""
    from .experiment import run

    return run([baseline, *changes], replications=replications, seed=seed, jobs=jobs)


__all__ = [
    "KPI_DEFINITIONS",
    "FlowsimError",
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "compare",
    "load_scenario",
    "run",
    "scenario_hash",
    "scenario_yaml",
]
