"""The ``flowsim`` command: outputs, exit codes and messages, as a CI pipeline sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from flowsim import cli
from flowsim.kpis import shown_decimals
from flowsim.schema import schema_text

from .shared import SCENARIOS


def test_run_writes_tidy_tables_and_manifest(tiny_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "res"
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q", "--patients"]) == 0
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "kpis.csv",
        "kpis.parquet",
        "summary.csv",
        "stability.csv",
        "timeseries.parquet",
        "hour_of_week.csv",
        "patients.parquet",
        "manifest.json",
        "ed_timeseries.parquet",
        "time_in_department.csv",
        "occupancy_distribution.csv",
        "scenarios/tiny.yaml",
    }
    ed = pd.read_parquet(out / "ed_timeseries.parquet")
    assert list(ed.columns) == [
        "scenario",
        "replication",
        "time",
        "hour_of_week",
        "boarders",
        "ambulance_queue",
    ]
    assert len(ed) == 3 * 72  # replications x hours measured
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(kpis.columns) == ["scenario", "replication", "kpi", "value"]
    assert set(kpis["replication"]) == {0, 1, 2}
    assert pd.read_parquet(out / "kpis.parquet").shape == kpis.shape
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert {
        "scenario",
        "replication",
        "time",
        "hour_of_week",
        "place",
        "occupancy",
        "queue",
        "capacity",
    } <= set(ts.columns)
    assert len(ts) == 3 * 2 * 72  # replications x places x hours measured
    how = pd.read_csv(out / "hour_of_week.csv")
    assert set(how["hour_of_week"]) == set(range(24, 96))  # 3 days measured from Tuesday 00:00
    assert how["hour_of_week"].min() == 24
    visits = pd.read_parquet(out / "patients.parquet")
    assert list(visits.columns) == [
        "scenario",
        "replication",
        "patient",
        "class",
        "stage",
        "place",
        "entered",
        "queued",
        "started",
        "ended",
    ]
    done = visits.dropna(subset=["started", "ended"])  # started is NaN for a visit given up on
    assert (done["queued"] <= done["started"]).all()
    placed = done[done["place"] != ""]
    assert (placed["entered"] <= placed["started"]).all()
    assert (done["started"] <= done["ended"]).all()
    # Visits under way at the end are kept with no end time: one per patient still inside.
    open_ = visits[visits["ended"].isna()]
    assert len(open_) == open_.groupby(["replication", "patient"]).ngroups
    inside = kpis[kpis["kpi"] == "in_system_at_end"]["value"].sum()
    assert len(open_) == inside > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["replications"] == 3
    assert len(manifest["scenarios"][0]["hash"]) == 16
    summary = capsys.readouterr().out
    assert "four_hour_pct" in summary


def test_results_folder_is_not_overwritten_by_default(
    tiny_file: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work")
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "earlier work"
    # --overwrite replaces only a results folder (one with a manifest), never other work ...
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q", "--overwrite"]) == 2
    assert "not a flowsim results folder" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "earlier work"
    # ... which it does replace.
    (out / "keep.txt").unlink()
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q"]) == 0
    (out / "extra.txt").write_text("from the earlier run")
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q", "--overwrite"]) == 0
    assert not (out / "extra.txt").exists() and (out / "kpis.csv").exists()


def test_interrupted_write_leaves_no_partial_results(
    tiny_file: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "res"

    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    assert cli.main(["run", str(tiny_file), "--out", str(out), "-q"]) == 130
    assert not out.exists()
    # Only the checkpoint of finished replications is left, for --resume; no partial results.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".res")] == [".res.checkpoint"]
    assert len(list((tmp_path / ".res.checkpoint").glob("*.npz"))) == 3


def test_an_interrupted_run_names_the_folder_to_resume_into(
    tiny_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    capsys.readouterr()
    assert cli.main(["run", str(tiny_file), "-q"]) == 130
    err = capsys.readouterr().err
    [saved] = (tmp_path / "results").glob(".*.checkpoint")
    out = Path("results") / saved.name[1 : -len(".checkpoint")]  # the default, results/<time>
    assert f"add --out {out} --resume to the same command" in err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(out), "--resume"]) == 0
    assert (tmp_path / out / "kpis.csv").exists() and not saved.exists()


def test_an_interrupt_before_the_run_does_not_promise_kept_replications(
    tiny_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    def interrupted(path, name=None, root=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_scenario", interrupted)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(tmp_path / "res")]) == 130
    assert capsys.readouterr().err == "flowsim: interrupted; no results were written\n"


def test_the_run_plan_is_settled_once_and_leaves_the_options_alone(
    tiny_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "res"
    args = cli._parser().parse_args(["run", str(tiny_file), "--days", "2", "--out", str(out)])
    parsed = dict(vars(args))
    plan = cli.RunPlan.from_args(args, args.scenarios)
    assert vars(args) == parsed
    assert plan.files == {"tiny": str(tiny_file)}
    assert plan.scenarios[0].run.length == 2 * 1440
    assert (plan.out, plan.overwrite, plan.resume) == (out, False, False)
    # Resuming replaces what the interrupted run wrote, once its checkpoint is there ...
    resume = cli._parser().parse_args(["run", str(tiny_file), "--out", str(out), "--resume"])
    assert not cli.RunPlan.from_args(resume, resume.scenarios).overwrite
    (tmp_path / ".res.checkpoint").mkdir()
    out.mkdir()
    (out / "kpis.csv").write_text("from the interrupted run")
    (out / "manifest.json").write_text("{}")
    assert cli.RunPlan.from_args(resume, resume.scenarios).overwrite
    # ... but a plain run does not.
    plain = cli._parser().parse_args(["run", str(tiny_file), "--out", str(out)])
    with pytest.raises(cli.FlowsimError, match="--overwrite"):
        cli.RunPlan.from_args(plain, plain.scenarios)


def test_compare_reports_paired_differences(
    tiny_file: Path, tiny_change_file: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "cmp"
    code = cli.main(
        [
            "compare",
            str(tiny_file),
            str(tiny_change_file),
            "--out",
            str(out),
            "-q",
            "--replications",
            "4",
            "--jobs",
            "1",
        ]
    )
    assert code == 0
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["scenario"]) == {"more_beds"}
    row = comparison.set_index("kpi").loc["occupancy_mean.cubicles"]
    assert row["n"] == 4
    assert row["difference"] == pytest.approx(row["scenario_mean"] - row["baseline_mean"])
    assert (row["unit"], row["better_when"]) == ("patients", "neither")
    four = comparison.set_index("kpi").loc["four_hour_pct"]
    assert (four["unit"], four["better_when"]) == ("%", "higher")
    printed = capsys.readouterr().out
    assert "more_beds minus baseline" in printed
    header = next(line for line in printed.splitlines() if line.lstrip().startswith("kpi"))
    assert header.split()[:5] == ["kpi", "unit", "better", "baseline", "change"]
    four_hours = next(line for line in printed.splitlines() if "four_hour_pct" in line)
    assert " % " in four_hours and " higher " in four_hours


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [
        (0.04, 0.13, "0.04 to 0.13"),  # excludes zero: never "0.0 to 0.1"
        (-0.004, -0.0031, "-0.004 to -0.003"),
        (-1.25, 3.5, "-1.2 to 3.5"),  # crosses zero: one decimal is enough
        (0.0, 0.0, "0.0 to 0.0"),
        (12.31, 12.34, "12.31 to 12.34"),  # two bounds never print alike
    ],
)
def test_a_confidence_interval_prints_with_the_decimals_it_needs(
    low: float, high: float, shown: str
) -> None:
    d = shown_decimals([low, high])
    assert f"{cli._fixed(low, d)} to {cli._fixed(high, d)}" == shown


def test_days_and_warmup_override_the_scenario(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    assert (
        cli.main(
            [
                "run",
                str(tiny_file),
                "--days",
                "2",
                "--warmup-days",
                "0.5",
                "-r",
                "1",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenarios"][0]["length_days"] == 2
    assert manifest["scenarios"][0]["warmup_days"] == 0.5


def test_validate_ok_and_bad(tiny_file: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["validate", str(tiny_file)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_file.read_text().replace("per_day: 120", "per_day: lots"))
    assert cli.main(["validate", str(tiny_file), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:9:" in err and "arrivals.walk_in.per_day" in err and "Traceback" not in err


def test_run_with_a_bad_file_exits_2_and_writes_nothing(
    tiny_file: Path, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    out = tmp_path / "res"
    assert cli.main(["run", str(tiny_file), str(bad), "--out", str(out)]) == 2
    assert f"{bad}:" in capsys.readouterr().err
    assert not out.exists()


def test_bad_option_is_a_usage_error(tiny_file: Path) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["run", str(tiny_file), "--replications", "0"])
    assert e.value.code == 2


def test_shipped_schema_is_current() -> None:
    assert (SCENARIOS / "flowsim.schema.json").read_text() == schema_text(), (
        "run: flowsim schema --out scenarios/flowsim.schema.json"
    )


def test_every_shipped_scenario_has_a_working_schema_modeline() -> None:
    files = [p for p in SCENARIOS.rglob("*.yaml") if p.name != "ci-batch.yaml"]
    assert files
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (SCENARIOS / "flowsim.schema.json").resolve(), path


def _batch(tmp_path: Path, tiny_file: Path, expect: str) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(
        f"replications: 2\nseed: 3\ndays: 2\nwarmup_days: 1\njobs: 1\n"
        f"scenarios:\n  - file: {tiny_file.name}\n    expect:\n{expect}"
    )
    return path


def test_check_passes_within_bounds(tiny_file: Path, tmp_path: Path, capsys) -> None:
    batch = _batch(tmp_path, tiny_file, "      four_hour_pct: {min: 0, max: 100}\n")
    assert cli.main(["check", str(batch), "-q"]) == 0
    assert "all 1 bounds hold" in capsys.readouterr().out


def test_check_fails_on_a_broken_bound(tiny_file: Path, tmp_path: Path, capsys) -> None:
    batch = _batch(
        tmp_path,
        tiny_file,
        "      four_hour_pct: {min: 0, max: 100}\n      occupancy_mean.cubicles: {min: 1000}\n",
    )
    assert cli.main(["check", str(batch), "-q"]) == 1
    out = capsys.readouterr().out
    assert "1 of 2 bounds broken" in out and "tiny: occupancy_mean.cubicles" in out


def test_check_bad_input_exits_2(tiny_file: Path, tmp_path: Path, capsys) -> None:
    batch = _batch(tmp_path, tiny_file, "      four_hours_pct: {min: 0}\n")
    assert cli.main(["check", str(batch), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{batch}:9:" in err and "unknown KPI" in err
    batch.write_text("replications: many\nscenarios: []\n")
    assert cli.main(["check", str(batch), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{batch}:1:" in err and f"{batch}:2:" in err


def test_kpis_lists_definitions(capsys) -> None:
    assert cli.main(["kpis"]) == 0
    out = capsys.readouterr().out
    assert "four_hour_pct" in out and "dta_over_12h_count" in out
