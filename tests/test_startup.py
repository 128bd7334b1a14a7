"""Start-up: the quick commands and ``import flowsim`` leave the heavy libraries unimported.

Structural checks on ``sys.modules`` in a fresh interpreter, never timings (those live in
``benchmarks/startup.py``): a module-level import of pandas or scipy creeping back into the
command line's path fails here whatever the machine's speed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import flowsim
from flowsim.stats import mean_ci

from .shared import REPO, SCENARIOS

BASELINE = SCENARIOS / "baseline.yaml"

# Libraries that only running, summarising, writing or serving results need.
HEAVY = ("pandas", "scipy", "pyarrow", "rich", "altair", "streamlit", "dask", "distributed")


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return which of ``HEAVY`` it left imported."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_package_imports_none_of_the_heavy_libraries() -> None:
    assert _loaded_after("import flowsim") == []


def test_importing_the_command_line_imports_none_of_the_heavy_libraries() -> None:
    assert _loaded_after("import flowsim.cli") == []


def test_validate_imports_none_of_the_heavy_libraries() -> None:
    code = (
        "import flowsim.cli\n"
        f"code = flowsim.cli.main(['validate', {str(BASELINE)!r}])\n"
        "assert code == 0, code"
    )
    assert _loaded_after(code) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The checks above would pass vacuously if the probe could not see an import at all.
    assert "pandas" in _loaded_after("import flowsim.experiment")


@pytest.mark.parametrize("name", flowsim.__all__)
def test_every_public_name_resolves_from_the_package(name: str) -> None:
    value = getattr(flowsim, name)
    home = flowsim._LAZY.get(name)
    if home is not None:
        assert value is getattr(importlib.import_module(f"flowsim.{home}"), name)
    assert name in dir(flowsim)


def test_lazy_names_are_the_objects_of_their_modules() -> None:
    from flowsim import KPI_DEFINITIONS, Results, Scenario, load_scenario, run
    from flowsim.experiment import Results as ExperimentResults
    from flowsim.experiment import run as experiment_run
    from flowsim.kpis import KPI_DEFINITIONS as KPIS
    from flowsim.loader import load_scenario as loader_load_scenario
    from flowsim.scenario import Scenario as ScenarioModel

    assert run is experiment_run and Results is ExperimentResults
    assert KPI_DEFINITIONS is KPIS and Scenario is ScenarioModel
    assert load_scenario is loader_load_scenario


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        flowsim.no_such_thing  # noqa: B018 - the look-up itself is what is tested
    with pytest.raises(ImportError):
        exec("from flowsim import no_such_thing")


def test_the_t_quantile_is_scipy_stats_to_the_bit() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    for n in (2, 3, 5, 10, 30, 200):
        x = rng.normal(10.0, 3.0, n)
        for confidence in (0.9, 0.95, 0.99):
            m, lo, hi, _ = mean_ci(x, confidence)
            half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
            assert (lo, hi) == (m - half, m + half)


def _benchmark(name: str) -> ModuleType:
    """A script of ``benchmarks/`` loaded as it runs (its folder first on the path)."""
    folder = str(REPO / "benchmarks")
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(f"{name}_benchmark", f"{folder}/{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


def test_the_benchmark_replaces_only_its_own_section(tmp_path: Path) -> None:
    bench = _benchmark("startup")
    put = bench.replace_section  # benchmarks/results_file.py, shared by every benchmark script
    head = bench.HEADING
    results = tmp_path / "RESULTS.md"
    before = "# Benchmark results\n\nintro\n\n## 1. Other part\n\nits table\n"
    results.write_text(before)
    put(results, head, f"{head}\n\nfirst figures\n")
    assert results.read_text() == f"{before}\n{head}\n\nfirst figures\n"
    put(results, head, f"{head}\n\nsecond figures\n")
    assert results.read_text() == f"{before}\n{head}\n\nsecond figures\n"
    # A section followed by another keeps the one after it.
    results.write_text(f"# R\n\n{head}\n\nold\n\n## 9. Later part\n\nkept\n")
    put(results, head, f"{head}\n\nnew\n")
    assert results.read_text() == f"# R\n\n{head}\n\nnew\n\n## 9. Later part\n\nkept\n"
