"""``flowsim search`` end to end: the folder it writes, offline, the same patients at every
lever value (common random numbers), targets on per-stage KPIs, and targets on KPIs the
scenario does not report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowsim import load_scenario
from flowsim.cli import main
from flowsim.kpis import kpi_names
from flowsim.replication import run_replication
from flowsim.search import Lever, Search, Target, parse_target, with_lever
from flowsim.search.charts import search_chart
from flowsim.search.core import Task
from flowsim.search.output import answer_text, value_table

from .shared import MMC_BEDS, OVERFLOW_WARD


@pytest.fixture
def loss_file(tmp_path: Path) -> Path:
    path = tmp_path / "loss.yaml"
    path.write_text(OVERFLOW_WARD)
    return path


def test_every_lever_value_sees_the_same_patients(loss_file: Path) -> None:
    s = load_scenario(loss_file)
    short = s.model_copy(update={"run": s.run.model_copy(update={"length": 60 * 1440.0})})
    few, many = (
        run_replication(with_lever(short, "places.ward.capacity", c), 2, 7) for c in (3, 9)
    )
    assert few.kpis["arrivals"] == many.kpis["arrivals"] > 0
    assert few.kpis["occupancy_mean.outlier_ward"] > many.kpis["occupancy_mean.outlier_ward"]


@pytest.mark.slow
def test_the_folder(loss_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "found"
    args = ["search", str(loss_file), "--lever", "places.ward.capacity", "--values", "1:12"]
    args += ["--target", "occupancy_mean.outlier_ward<=0.45", "--jobs", "1", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    # Erlang B, 3 erlangs: B(4) = 20.6% and B(5) = 11.0%, so 0.62 and 0.33 outlier beds in use.
    assert "places.ward.capacity that meets occupancy_mean.outlier_ward <= 0.45 is 5" in printed
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "answer.json",
        "answer.txt",
        "manifest.json",
        "scenario.yaml",
        "search.html",
        "search.png",
        "values.csv",
    ]
    answer = json.loads((out / "answer.json").read_text())
    (line,) = answer["lines"]
    assert (line["status"], line["answer"]) == ("found", 5)
    assert line["below"]["setting"] == {"places.ward.capacity": 4}
    assert line["below"]["decision"] == "fails"
    assert line["above"]["setting"] == {"places.ward.capacity": 6}
    assert answer["runs"] < answer["full_grid_runs"]
    page = (out / "search.html").read_text()
    assert "<script src" not in page and "cdn" not in page.lower()
    assert (out / "answer.txt").read_text() in printed
    assert not list(tmp_path.glob(".found*"))  # no checkpoint or partial folder left
    # Once more into the same folder needs --overwrite.
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_two_lever_chart_and_table() -> None:
    beds = Lever("places.wards.capacity", tuple(range(0, 11)))
    doctors = Lever("staff.doctors.count", (1, 2, 3))

    def evaluate(tasks: list[Task]) -> dict[Task, dict[str, float]]:
        return {(i, r): {"four_hour_pct": i % 11 + 2.0 * (i // 11)} for i, r in tasks}

    result = Search([beds, doctors], [parse_target("four_hour_pct>=8")], evaluate, 0.95, 2, 2).run()
    assert result.frontier == [(8, 1), (6, 2), (4, 3)]
    table = value_table(result)
    assert list(table.columns[:4]) == [
        "places.wards.capacity",
        "staff.doctors.count",
        "replications",
        "decision",
    ]
    spec = search_chart(result, table)
    y = spec["layer"][0]["encoding"]["y"]
    assert (y["field"], y["title"]) == ("second", "staff.doctors.count")  # no dots in fields
    assert "frontier" in answer_text(result)


def test_a_stage_kpi_target_reads_with_its_dots(tmp_path: Path) -> None:
    scenario = tmp_path / "mmc_beds.yaml"
    scenario.write_text(MMC_BEDS)
    kpis = kpi_names(load_scenario(scenario))
    assert parse_target("p_wait.bed_stay<=0.2", kpis) == Target("p_wait.bed_stay", "<=", 0.2)
    assert parse_target(" p_delay.beds <= 0.2", kpis) == Target("p_delay.beds", "<=", 0.2)


@pytest.mark.slow
def test_a_target_on_a_stage_kpi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "mmc_beds.yaml"
    scenario.write_text(MMC_BEDS)
    out = tmp_path / "beds"
    args = ["search", str(scenario), "--lever", "places.beds.capacity", "--values", "5:9"]
    args += ["--target", "p_wait.bed_stay<=0.2", "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(args) == 0
    assert "places.beds.capacity that meets p_wait.bed_stay <= 0.2 is 7" in capsys.readouterr().out
    (line,) = json.loads((out / "answer.json").read_text())["lines"]
    assert (line["status"], line["answer"]) == ("found", 7)
    assert "p_wait.bed_stay" in (out / "values.csv").read_text().splitlines()[0]


@pytest.mark.parametrize(
    ("target", "said", "close"),
    [
        # The loss file's ward stage waits when full (no when_full: lost): no lost_pct for it.
        (
            "lost_pct.ward_stay<=1",
            "lost_pct is reported only for stages with when_full: lost",
            "p_wait.ward_stay",
        ),
        # An outlier ward without a capacity limit is never full: no p_delay for it.
        (
            "p_delay.outlier_ward<=0.1",
            "p_delay is reported only for places with a capacity limit",
            "p_delay.ward",
        ),
        # A place's name where a stage's belongs.
        ("p_wait.ward<=0.2", "close names:", "p_wait.ward_stay"),
    ],
)
def test_a_target_kpi_the_scenario_does_not_report(
    loss_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    said: str,
    close: str,
) -> None:
    out = tmp_path / "o"
    args = ["search", str(loss_file), "--lever", "places.ward.capacity", "--values", "1:12"]
    code = main([*args, "--target", target, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    kpi = target.split("<")[0]
    assert f"no KPI called '{kpi}'" in err and said in err
    assert close in err
    assert not out.exists()
