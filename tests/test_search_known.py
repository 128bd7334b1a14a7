"""The capacity search on cases whose answers are known from queueing theory, on every backend
and after an interruption.

- Erlang B: the fewest beds of a loss system (a patient finding every bed taken goes to an
  outlier ward) for which at most 1% are turned away. With 3 erlangs offered, B(7) = 2.19% and
  B(8) = 0.81% (Erlang's loss formula; any Erlang B table), so the answer is 8 beds. The share
  turned away is measured by Little's law: outlier beds occupied = 3 x blocking, so "at most 1%"
  is ``occupancy_mean.outlier_ward <= 0.03``.
- Erlang C: the fewest clinicians of an M/M/c stage (4 arrivals an hour, 1-hour treatments) for
  which the mean wait is at most 5 minutes. W_q = C(c, a) / (c mu - lambda) gives 8.54 minutes
  for 6 clinicians and 2.70 for 7 (the probability of waiting 28% and 14%), so the answer is 7.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsim import experiment, load_scenario
from flowsim.checkpoint import Checkpoint
from flowsim.search import Lever, Search, parse_target, parse_values
from flowsim.search.core import Evaluate, Task
from flowsim.search.runner import checkpoint_plan, make_evaluate
from flowsim.validation.theory import erlang_b, mmc_wait

LOSS = """
name: loss
run: {warmup: 20d, length: 1000d, replications: 5, seed: 7}
classes: {admission: {}}
arrivals:
  admissions: {per_day: 3, class_mix: {admission: 1}, first_stage: ward_stay}
places:
  ward: {capacity: 20, area: ward, queue: first_come}
  outlier_ward: {capacity: unlimited, area: ward}
stages:
  ward_stay: {place: ward, duration: {dist: exponential, mean: 1d}, overflow: outlier_stay}
  outlier_stay: {place: outlier_ward, duration: {dist: exponential, mean: 1d}}
"""

MMC = """
name: mmc
run: {warmup: 5d, length: 100d, replications: 5, seed: 11}
classes: {patient: {}}
arrivals:
  walk_in: {per_day: 96, class_mix: {patient: 1}, first_stage: treatment}
places:
  department: {capacity: unlimited, area: ed}
staff:
  clinicians: {count: 3}
stages:
  treatment: {place: department, staff: clinicians, duration: {dist: exponential, mean: 60min}}
"""


def _scenario(tmp_path: Path, text: str, name: str) -> object:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_scenario(path)


def _loss_search(tmp_path: Path, evaluate_for: object = None, **run: object) -> object:
    s = _scenario(tmp_path, LOSS, "loss")
    levers = [Lever("places.ward.capacity", parse_values("1:15", whole=True))]
    evaluate = make_evaluate(s, levers, 7, **run)  # type: ignore[arg-type]
    if evaluate_for is not None:
        evaluate = evaluate_for(evaluate)  # type: ignore[operator]
    targets = [parse_target("occupancy_mean.outlier_ward<=0.03")]
    return Search(levers, targets, evaluate, 0.95, 5, 40).run()


@pytest.mark.slow
def test_erlang_b_fewest_beds(tmp_path: Path) -> None:
    assert erlang_b(7, 3.0) > 0.01 > erlang_b(8, 3.0)
    result = _loss_search(tmp_path)
    (line,) = result.lines  # type: ignore[attr-defined]
    assert (line.status, line.value) == ("found", 8)
    assert result.runs < 15 * 5  # type: ignore[attr-defined]


@pytest.mark.slow
def test_erlang_c_fewest_clinicians(tmp_path: Path) -> None:
    assert mmc_wait(4 / 60, 60, 6) > 5 > mmc_wait(4 / 60, 60, 7)
    s = _scenario(tmp_path, MMC, "mmc")
    levers = [Lever("staff.clinicians.count", parse_values("3:12", whole=True))]
    evaluate = make_evaluate(s, levers, 11, backend="processes", jobs=2)
    result = Search(levers, [parse_target("wait_mean.treatment<=5")], evaluate, 0.95, 5, 40).run()
    (line,) = result.lines
    assert (line.status, line.value) == ("found", 7)


@pytest.mark.slow
def test_every_backend_gives_the_same_answer(tmp_path: Path) -> None:
    serial = _loss_search(tmp_path, backend="serial")
    processes = _loss_search(tmp_path, backend="processes", jobs=2)
    dask = _loss_search(tmp_path, backend="dask", jobs=2)
    for other in (processes, dask):
        assert other.lines == serial.lines  # type: ignore[attr-defined]
        assert other.runs == serial.runs  # type: ignore[attr-defined]
        for i, p in serial.points.items():  # type: ignore[attr-defined]
            assert other.points[i].values == p.values  # type: ignore[attr-defined]


@pytest.mark.slow
def test_resume_after_an_interruption_gives_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _scenario(tmp_path, LOSS, "loss")
    levers = [Lever("places.ward.capacity", parse_values("1:15", whole=True))]
    plan = checkpoint_plan(s, levers, 7)  # type: ignore[arg-type]
    out = tmp_path / "search"
    whole = _loss_search(tmp_path)
    ran: list[Task] = []

    def stop_after(n: int) -> object:
        def wrap(evaluate: Evaluate) -> Evaluate:
            def limited(tasks: list[Task]) -> dict[Task, dict[str, float]]:
                if len(ran) + len(tasks) > n:
                    raise KeyboardInterrupt
                ran.extend(tasks)
                return evaluate(tasks)

            return limited

        return wrap

    first = Checkpoint.open(out, plan, resume=False)
    with pytest.raises(KeyboardInterrupt):
        _loss_search(tmp_path, stop_after(25), checkpoint=first)
    assert 0 < len(ran) <= 25
    done = len(ran)
    assert len(list(out.parent.glob(".search.checkpoint/*.npz"))) == done
    executed: list[int] = []
    real = experiment.run_replication

    def counting(*args: object) -> object:
        executed.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(experiment, "run_replication", counting)
    again = Checkpoint.open(out, plan, resume=True)
    resumed = _loss_search(tmp_path, checkpoint=again)
    assert resumed.lines == whole.lines  # type: ignore[attr-defined]
    assert resumed.runs == whole.runs  # type: ignore[attr-defined]
    # Only the replications the interrupted search had not finished were run again.
    assert len(executed) == whole.runs - done  # type: ignore[attr-defined]
    saved = len(list(again.folder.glob("*.npz")))
    assert saved == whole.runs >= done  # type: ignore[attr-defined]
