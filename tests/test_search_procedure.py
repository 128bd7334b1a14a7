"""The capacity search's sequential test and bisection, on synthetic KPIs whose truth is known.

The synthetic ``evaluate`` gives replication ``r`` of value ``x`` the KPI ``f(x)`` plus normal
noise drawn from a generator seeded by ``(x, r)``: common random numbers, and answers known by
construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from flowsim.errors import FlowsimError
from flowsim.search import Lever, Search, TargetError, parse_target, parse_values
from flowsim.search.core import Evaluate, SearchBudgetError, Task
from flowsim.search.procedure import Target, decide, looks


def synthetic(
    levers: list[Lever], f: object, sd: float = 1.0, seed: int = 0, kpi: str = "four_hour_pct"
) -> tuple[Evaluate, list[Task]]:
    calls: list[Task] = []
    width = len(levers[0].values)

    def evaluate(tasks: list[Task]) -> dict[Task, dict[str, float]]:
        out = {}
        for i, r in tasks:
            calls.append((i, r))
            setting = [levers[0].values[i % width]]
            if len(levers) == 2:
                setting.append(levers[1].values[i // width])
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(r,)))
            noise = rng.normal(0, sd) if sd else 0.0
            out[(i, r)] = {kpi: f(*setting) + noise}  # type: ignore[operator]
        return out

    return evaluate, calls


def test_parse_target() -> None:
    assert parse_target("four_hour_pct>=76") == Target("four_hour_pct", ">=", 76.0)
    assert parse_target(" wait_mean.triage <= 5 ") == Target("wait_mean.triage", "<=", 5.0)
    with pytest.raises(TargetError, match="KPI>=VALUE"):
        parse_target("four_hour_pct > 76")
    with pytest.raises(TargetError, match="no KPI called 'four_hours'"):
        parse_target("four_hours>=76")
    with pytest.raises(TargetError, match="the KPIs are: four_hour_pct"):
        parse_target("wait_mean.nowhere<=5", {"four_hour_pct"})


def test_parse_values() -> None:
    assert parse_values("540:560:10", whole=True) == (540, 550, 560)
    assert parse_values("1:3") == (1.0, 2.0, 3.0)
    assert parse_values("0.5:1:0.25") == (0.5, 0.75, 1.0)
    assert parse_values("1:4:2", whole=True) == (1, 3)  # HIGH only when a step lands on it
    for bad in ("5", "5:1", "1:5:0", "a:b", "1:nan", "1:2:3:4"):
        with pytest.raises(FlowsimError, match="values"):
            parse_values(bad)
    with pytest.raises(FlowsimError, match="whole numbers"):
        parse_values("1:5:0.5", whole=True)


def test_looks_double_up_to_the_most() -> None:
    assert looks(10, 40) == [10, 20, 40]
    assert looks(10, 50) == [10, 20, 40, 50]
    assert looks(5, 5) == [5]
    with pytest.raises(FlowsimError):
        looks(1, 10)


def test_decision_by_hand() -> None:
    # Values 1..5: mean 3, s = 1.5811, se = 0.70711. The one-sided 95% bound uses the t
    # quantile 2.1318 for 4 degrees of freedom (any t table), so the lower bound is 1.4926
    # and the upper 4.5074.
    x = {"four_hour_pct": np.arange(1.0, 6.0)}

    def one(op: str, value: float) -> str:
        t = parse_target(f"four_hour_pct{op}{value}")
        decision, est = decide(x, [t], 0.9, 0.05)
        e = est[str(t)]
        assert e.mean == pytest.approx(3.0)
        # The two-sided 90% CI uses the same quantile: the same bounds either side.
        assert (e.ci_low, e.ci_high) == pytest.approx((1.4926, 4.5074), abs=1e-4)
        return decision

    assert one(">=", 1.49) == "meets"
    assert one(">=", 1.5) == "unsure"
    assert one(">=", 4.6) == "fails"
    assert one("<=", 4.51) == "meets"
    assert one("<=", 4.5) == "unsure"
    assert one("<=", 1.4) == "fails"


def test_bisection_finds_the_known_answer_with_fewer_runs() -> None:
    lever = Lever("places.wards.capacity", tuple(range(0, 101)))
    evaluate, calls = synthetic([lever], lambda x: float(x), sd=0.5)
    result = Search([lever], [parse_target("four_hour_pct>=60.5")], evaluate, 0.95, 5, 40).run()
    (line,) = result.lines
    assert (line.status, line.value) == ("found", 61)
    assert result.points[line.below].setting == (60,)  # type: ignore[index]
    assert result.points[line.above].setting == (62,)  # type: ignore[index]
    assert result.runs == len(calls) < 101 * 5 / 2
    assert result.warnings == []


def test_every_value_meets_and_no_value_meets() -> None:
    lever = Lever("staff.doctors.count", tuple(range(5, 11)))
    evaluate, _ = synthetic([lever], lambda x: 10.0 * x, sd=0.5)
    all_meet = Search([lever], [parse_target("four_hour_pct>=20")], evaluate, 0.95, 5, 20).run()
    assert (all_meet.lines[0].status, all_meet.lines[0].value, all_meet.lines[0].below) == (
        "found",
        5,
        None,
    )
    none = Search([lever], [parse_target("four_hour_pct>=200")], evaluate, 0.95, 5, 20).run()
    assert none.lines[0].status == "none"
    assert len(none.points) == 2  # both ends, nothing between


def test_too_close_to_call_is_unsure() -> None:
    # Noise so large, and so few replications allowed, that values within about 10 of the
    # target cannot be told from it.
    lever = Lever("places.wards.capacity", tuple(range(0, 41)))
    evaluate, _ = synthetic([lever], lambda x: float(x), sd=5.0)
    result = Search([lever], [parse_target("four_hour_pct>=10")], evaluate, 0.95, 2, 4).run()
    line = result.lines[0]
    assert line.status == "unsure"
    assert line.low is not None and line.high is not None
    assert line.low <= 10 <= line.high
    assert result.points[line.at].decision == "meets"  # type: ignore[index]


def test_two_targets_must_both_hold() -> None:
    lever = Lever("places.wards.capacity", tuple(range(0, 51)))

    def evaluate(tasks: list[Task]) -> dict[Task, dict[str, float]]:
        return {(i, r): {"four_hour_pct": float(i), "twelve_hour_pct": 40.0 - i} for i, r in tasks}

    targets = [parse_target("four_hour_pct>=10"), parse_target("twelve_hour_pct<=5")]
    result = Search([lever], targets, evaluate, 0.95, 2, 4).run()
    assert result.lines[0].value == 35


def test_two_levers_give_the_frontier() -> None:
    beds = Lever("places.wards.capacity", tuple(range(0, 21)))
    doctors = Lever("staff.doctors.count", (0, 1, 2, 3, 4, 5, 6))
    # Every doctor is worth two beds; more than 4 doctors help no further.
    evaluate, _ = synthetic([beds, doctors], lambda a, b: a + 2 * min(b, 4), sd=0.0)
    result = Search(
        [beds, doctors], [parse_target("four_hour_pct>=12")], evaluate, 0.95, 2, 4
    ).run()
    assert result.frontier == [(12, 0), (10, 1), (8, 2), (6, 3), (4, 4)]
    assert [line.value for line in result.lines] == [12, 10, 8, 6, 4, 4, 4]


@pytest.mark.slow
def test_wrong_decisions_are_rare_at_the_stated_confidence() -> None:
    # 100 searches with independent noise; the answer is wrong only if the value below the
    # true answer is found to meet the target or the answer itself to fail: each at most 5%.
    lever = Lever("places.wards.capacity", tuple(range(0, 21)))
    wrong = 0
    for seed in range(100):
        evaluate, _ = synthetic([lever], lambda x: float(x), sd=2.0, seed=seed)
        line = Search([lever], [parse_target("four_hour_pct>=9.5")], evaluate, 0.95, 5, 40).run()
        answer = line.lines[0]
        wrong += answer.status == "found" and answer.value != 10
    # At most 10% in truth; 100 searches at 10% give at most 18 wrong with 99% probability.
    assert wrong <= 18


def test_a_lever_that_hurts_is_warned_about() -> None:
    lever = Lever("places.wards.capacity", tuple(range(0, 21)))
    # Clearly better at 5 than at 10: not monotone (the bisection tries both).
    evaluate, _ = synthetic([lever], lambda x: 12.0 if x == 5 else float(x), sd=0.5)
    result = Search([lever], [parse_target("four_hour_pct>=8")], evaluate, 0.95, 5, 20).run()
    assert any("not monotone" in w or "not at a higher" in w for w in result.warnings)


def test_search_refuses_bad_settings() -> None:
    lever = Lever("x", (1, 2))
    evaluate, _ = synthetic([lever], lambda x: x)
    t = [parse_target("four_hour_pct>=1")]
    with pytest.raises(FlowsimError, match="confidence"):
        Search([lever], t, evaluate, confidence=1.0)
    with pytest.raises(FlowsimError, match="at least one target"):
        Search([lever], [], evaluate)
    with pytest.raises(FlowsimError, match="one or two levers"):
        Search([lever] * 3, t, evaluate)


def test_a_search_stops_at_its_budget() -> None:
    lever = Lever("places.wards.capacity", tuple(range(0, 101)))
    evaluate, calls = synthetic([lever], lambda x: float(x), sd=0.5)
    search = Search(
        [lever], [parse_target("four_hour_pct>=60.5")], evaluate, 0.95, 5, 40, max_runs=30
    )
    with pytest.raises(SearchBudgetError, match="past its budget of 30"):
        search.run()
    assert len(calls) <= 30


def test_a_kpi_without_a_value_is_a_clear_error() -> None:
    lever = Lever("places.wards.capacity", (0, 1, 2))
    evaluate, _ = synthetic([lever], lambda x: float("nan") if x == 0 else 1.0)
    with pytest.raises(
        FlowsimError, match=r"four_hour_pct has no value at places\.wards\.capacity = 0"
    ):
        Search([lever], [parse_target("four_hour_pct>=0.5")], evaluate, 0.95, 2, 4).run()
