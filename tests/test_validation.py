"""The validation suite: its closed forms against textbook values, its case files as ordinary
scenarios, the fast cases run in full (each check must pass under the suite's rule), Little's
law on the baseline, the Ciw translation, and the report and exit codes of the command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from flowsim.cli import main
from flowsim.loader import load_scenario
from flowsim.validation import case_files, run_suite, write_report
from flowsim.validation.checks import Check
from flowsim.validation.kinds import expected_arrivals_by_hour, jackson_rates
from flowsim.validation.suite import case_spec, run_little, shipped_scenarios
from flowsim.validation.theory import (
    cobham_waits,
    erlang_b,
    erlang_c,
    mmc_number,
    mmc_time_within,
    mmc_wait,
    pollaczek_khinchine_wait,
    traffic_equations,
)

from .shared import SCENARIOS


# -- closed forms ---------------------------------------------------------------------------
def test_erlang_formulas_against_hand_values() -> None:
    assert erlang_b(1, 0.5) == pytest.approx(0.5 / 1.5)  # B(1, a) = a / (1 + a)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)  # Erlang B tables
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert mmc_wait(0.5, 1.0, 1) == pytest.approx(1.0)  # rho / (mu - lambda)
    assert mmc_number(0.5, 1.0, 1) == pytest.approx(1.0)  # rho / (1 - rho)
    with pytest.raises(ValueError):
        erlang_c(2, 2.0)


def test_mmc_time_in_system_tail() -> None:
    # M/M/1: T is exponential with rate mu - lambda.
    assert mmc_time_within(0.5, 1.0, 1, 2.0) == pytest.approx(1 - math.exp(-1.0))
    # The special case theta = mu (c = 2, a = 1) joins the general formula continuously.
    assert mmc_time_within(1.0, 1.0, 2, 3.0) == pytest.approx(
        mmc_time_within(1.0 - 1e-7, 1.0, 2, 3.0), abs=1e-6
    )
    # Against numerical integration of P(T > t) = P(S > t) + int P(S in ds) P(Wq > t - s).
    lam, mean, c, t = 0.25, 10.0, 3, 25.0
    mu, cw = 1 / mean, erlang_c(c, lam * mean)
    s = np.linspace(0, t, 200_001)
    f = mu * np.exp(-mu * s) * cw * np.exp(-(c * mu - lam) * (t - s))
    tail = math.exp(-mu * t) + float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(s)))
    assert mmc_time_within(lam, mean, c, t) == pytest.approx(1 - tail, abs=1e-8)


def test_pollaczek_khinchine_and_cobham_reduce_to_known_cases() -> None:
    # Exponential service (E[S^2] = 2/mu^2): P-K gives the M/M/1 wait.
    assert pollaczek_khinchine_wait(0.5, 1.0, 2.0) == pytest.approx(mmc_wait(0.5, 1.0, 1))
    # Fixed service halves it (M/D/1).
    assert pollaczek_khinchine_wait(0.5, 1.0, 1.0) == pytest.approx(0.5)
    # One class, or two identical classes averaged by rate, give the M/G/1 wait.
    assert cobham_waits([0.5], [1.0], [2.0]) == pytest.approx([1.0])
    w = cobham_waits([0.2, 0.3], [1.0, 1.0], [2.0, 2.0])
    assert (0.2 * w[0] + 0.3 * w[1]) / 0.5 == pytest.approx(mmc_wait(0.5, 1.0, 1))
    # W0 = (0.2 * 2 + 0.3 * 2) / 2 = 0.5; first class W0 / (1 - 0.2), second W0 / (0.8 * 0.5).
    assert w == pytest.approx([0.625, 1.25])


def test_traffic_equations() -> None:
    p = np.array([[0.0, 0.3, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    assert traffic_equations([3.0, 0.0, 0.0], p) == pytest.approx([3.0, 0.9, 0.45])
    assert traffic_equations([3.0], np.array([[0.25]])) == pytest.approx([4.0])  # feedback


# -- the case files ---------------------------------------------------------------------------
def test_every_case_is_an_ordinary_scenario_file(capsys: pytest.CaptureFixture[str]) -> None:
    files = case_files()
    assert len(files) >= 18
    kinds = {case_spec(f)["kind"] for f in files}
    assert kinds == {
        "mmc",
        "loss",
        "mg1",
        "jackson",
        "priority",
        "arrivals",
        "deterministic",
        "ciw",
        "jackson_rooms",
        "stay_by_next",
        "occupancy_mmc",
        "fifo_classes",
    }
    assert main(["validate", *map(str, files)]) == 0
    capsys.readouterr()
    for f in files:
        load_scenario(f)


def test_case_parameters_read_from_the_scenario() -> None:
    folder = case_files()[0].parent
    rates = jackson_rates(load_scenario(folder / "jackson_routing.yaml"))
    assert [r * 60 for r in rates.values()] == pytest.approx([3.0, 0.9, 0.45])  # per hour
    arr = load_scenario(folder / "arrivals_by_hour_and_weekday.yaml")
    exp = expected_arrivals_by_hour(arr)
    # 8 weeks measured at 200 a day, two of them at 1.4 times: 200 * 7 * (6 + 2 * 1.4).
    assert exp["expected"].sum() == pytest.approx(200 * 7 * (6 + 2 * 1.4))


@pytest.mark.slow
def test_fast_cases_pass() -> None:
    """The fast cases, run exactly as the full suite runs them: every check must pass."""
    results = run_suite(fast_only=True, jobs=2)
    assert len(results) >= 5
    failed = [
        (r.name, c.measure, c.expected, c.band) for r in results for c in r.checks if not c.passed
    ]
    assert not failed


@pytest.mark.slow
def test_littles_law_on_the_baseline() -> None:
    res = run_little(SCENARIOS / "baseline.yaml", jobs=2, replications=2)
    places = load_scenario(SCENARIOS / "baseline.yaml").places
    assert len(res.checks) == 2 * len(places)
    assert all(c.passed for c in res.checks), [c.measure for c in res.checks if not c.passed]


def test_shipped_scenarios_leave_out_the_batch_file() -> None:
    names = {p.name for p in shipped_scenarios(SCENARIOS)}
    assert "baseline.yaml" in names and "winter.yaml" in names
    assert "ci-batch.yaml" not in names
    assert len(names) == 2 + len(list((SCENARIOS / "changes").glob("*.yaml")))


# -- pass rule --------------------------------------------------------------------------------
def test_pass_rule_can_fail() -> None:
    x = np.array([9.8, 10.1, 10.0, 9.9, 10.2])
    assert Check.in_ci("m", 10.0, x).passed
    assert not Check.in_ci("m", 11.0, x).passed
    assert Check.overlap("m", x, x + 0.05, "other").passed
    assert not Check.overlap("m", x, x + 5.0, "other").passed
    assert Check.exact("m", 5.0, np.array([5.0, 5.0 + 1e-9])).passed
    assert not Check.exact("m", 5.0, np.array([5.0, 5.001])).passed
    assert not Check.exact("m", 5.0, np.array([])).passed


# -- Ciw --------------------------------------------------------------------------------------
def test_ciw_translation_of_blocking() -> None:
    pytest.importorskip("ciw")
    from flowsim.validation.crosscheck import ciw_network, ciw_replication

    s = load_scenario(case_files()[0].parent / "ciw_blocking.yaml")
    net = ciw_network(s)
    assert [n.number_of_servers for n in net.service_centres] == [2, 2]
    assert [n.queueing_capacity for n in net.service_centres] == [float("inf"), 0]
    short = s.model_copy(
        update={"run": s.run.model_copy(update={"warmup": 600.0, "length": 5 * 1440.0})}
    )
    out = ciw_replication(short, 1)
    assert set(out) == {"wait_mean.assessment", "wait_mean.observation", "time_in_system"}
    assert out["time_in_system"] > 50.0  # at least the two mean durations


def test_ciw_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from flowsim.validation.crosscheck import CiwMissing, ciw_network

    real = builtins.__import__

    def no_ciw(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "ciw":
            raise ImportError("no ciw")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ciw)
    with pytest.raises(CiwMissing, match="Ciw is not installed"):
        ciw_network(load_scenario(case_files()[0].parent / "ciw_blocking.yaml"))


# -- the command ------------------------------------------------------------------------------
def test_command_writes_report_and_exits_1_on_a_failing_case(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here: Little's law checks are skipped
    good = case_files()[0].parent / "deterministic_pathway.yaml"
    out = tmp_path / "validation.md"
    assert main(["validate-model", "--case", str(good), "--out", str(out), "-j", "1"]) == 0
    report = out.read_text()
    assert "Deterministic pathway" in report and "**FAIL**" not in report
    assert "99.9%" in report and "| pass |" in report
    # The same file with a wrong hand-worked time must fail, and say so.
    data = yaml.safe_load(good.read_text())
    data["x-validation"]["time_in_system"]["admitted"] = 5896
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["validate-model", "--case", str(bad), "--out", str(out), "-j", "1"]) == 1
    assert "**FAIL**" in out.read_text()
    assert "checks passed" in capsys.readouterr().out


def test_python_module_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    # The module runs the same command: here only its help, which exits 0.
    monkeypatch.setattr("sys.argv", ["flowsim.validation", "--help"])
    with pytest.raises(SystemExit) as e:
        runpy.run_module("flowsim.validation", run_name="__main__", alter_sys=True)
    assert e.value.code == 0
    assert "validate-model" in capsys.readouterr().out


def test_report_renders_every_rule(tmp_path: Path) -> None:
    from flowsim.validation.checks import CaseResult

    x = np.array([1.0, 1.1, 0.9])
    checks = [
        Check.in_ci("a", 1.0, x),
        Check.overlap("b", x, x, "Ciw"),
        Check.exact("c", 1.0, np.ones(3)),
        Check.goodness_of_fit("d", 3.0, 4, 0.5),
    ]
    out = tmp_path / "v.md"
    write_report(
        [CaseResult("n", "A title", "mmc", "cases/n.yaml", 3, 1, 2, 0.1, checks)],
        out,
        "flowsim validate-model",
        1.0,
    )
    text = out.read_text()
    for rule in ("expected in CI", "CIs overlap", "exact", "chi-square"):
        assert f"| {rule} |" in text
    assert "4 of 4 checks pass" in text
