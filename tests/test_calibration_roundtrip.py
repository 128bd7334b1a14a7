"""calibrate -> validate -> run: the scenario written from a log is one flowsim accepts and runs,
every fitted value carries its comment, and nothing patient-level is in it."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flowsim import cli, load_scenario

from .shared import REPO

GENERATOR = REPO / "examples" / "eventlog" / "generate.py"


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five weeks from the shipped generator (which is not flowsim), written as CSV."""
    spec = importlib.util.spec_from_file_location("eventlog_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    folder = tmp_path_factory.mktemp("log")
    attendances, spells = gen.generate(dict(gen.TRUTH, days=35))
    attendances.to_csv(folder / "attendances.csv", index=False)
    spells.to_csv(folder / "spells.csv", index=False)
    return folder


@pytest.mark.slow
def test_calibrate_validate_run(small_log: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "trust.yaml"
    code = cli.main(
        [
            "calibrate",
            str(small_log / "attendances.csv"),
            "--spells",
            str(small_log / "spells.csv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "beds ASSUMED" in captured.err  # no capacity file: beds inferred and said so
    assert cli.main(["validate", str(out)]) == 0
    scenario = load_scenario(out)
    assert set(scenario.arrivals) == {"ambulance", "walk_in", "direct_admissions"}
    assert scenario.places["amu"].capacity != "unlimited"

    text = out.read_text()
    assert "ASSUMPTION: inferred as the 99th percentile" in text
    # Every fitted number has its comment: each duration line and routing line says n=.
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("per_day:", "class_mix:", "share:")) and "direct: 1.0" not in line:
            assert "# n=" in line, line
        if "{dist:" in line and "ASSUMPTION" not in line:
            assert "# n=" in line and ("AIC" in line or "mean only" in line), line
    # Nothing patient-level: no attendance or spell id, no timestamp.
    assert "A000" not in text and "S000" not in text
    assert not any(ch in text for ch in ("2025-01-06 0", "2025-01-06T"))

    res = tmp_path / "res"
    args = ["run", str(out), "--days", "3", "--warmup-days", "2", "-r", "1", "-j", "1"]
    assert cli.main([*args, "--out", str(res), "-q"]) == 0
    manifest = json.loads((res / "manifest.json").read_text())
    assert manifest


@pytest.mark.slow
def test_from_and_to_keep_only_those_days(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.yaml"
    argv = ["calibrate", str(small_log / "attendances.csv"), "--out", str(out)]
    assert cli.main([*argv, "--from", "2025-01-13", "--to", "2025-01-19"]) == 0
    head = out.read_text().split("\nname:")[0]
    assert "Period: 2025-01-13 to 2025-01-19 (7 days)" in head
    assert "outside --from/--to were left out" in head
    data = yaml.safe_load(out.read_text())
    assert data["run"]["length"] == "7d"


def test_to_before_from_is_refused(tmp_path: Path, capsys) -> None:
    p = tmp_path / "a.csv"
    p.write_text("x\n")
    argv = ["calibrate", str(p), "--out", str(tmp_path / "s.yaml")]
    assert cli.main([*argv, "--from", "2025-02-01", "--to", "2025-01-01"]) == 2
    assert "--to 2025-01-01 is before --from 2025-02-01" in capsys.readouterr().err


def test_prediction_interval_by_hand() -> None:
    from flowsim.calibration.against import prediction_interval

    # Values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653; half-width 4.302653 * sqrt(4/3).
    mean, lo, hi = prediction_interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 * math.sqrt(4 / 3), rel=1e-6)
    assert mean - lo == pytest.approx(hi - mean)
    assert math.isnan(prediction_interval(np.array([5.0]))[1])


@pytest.mark.slow
def test_report_puts_model_beside_observed(small_log: Path, tmp_path: Path, capsys) -> None:
    report = tmp_path / "report"
    argv = [
        "calibrate",
        str(small_log / "attendances.csv"),
        "--spells",
        str(small_log / "spells.csv"),
        "--out",
        str(tmp_path / "trust.yaml"),
        "--report",
        str(report),
        "-r",
        "3",
    ]
    assert cli.main(argv) == 0
    assert "prediction interval for" in capsys.readouterr().out
    measures = pd.read_csv(report / "measures.csv")
    row = measures.set_index("measure").loc["ED attendances per day"]
    # An input: fitted from the same log, so the observed rate must lie inside.
    assert row["pi_low"] <= row["observed"] <= row["pi_high"] and bool(row["inside"])
    units = set(measures.loc[measures["measure"] == "occupancy, mean", "group"])
    assert units == {"AMU", "MEDWARD"}
    assert len(pd.read_csv(report / "arrivals_by_hour_of_week.csv")) == 168
    page = (report / "model-vs-observed.html").read_text()
    assert "<script src=" not in page and "What this does not show" in page
    for f in report.iterdir():
        text = f.read_text()
        assert not re.search(r"\b[AS]\d{7}\b", text), f"{f.name} holds patient or spell ids"


@pytest.mark.slow
def test_dated_beds_become_capacity_changes(small_log: Path, tmp_path: Path) -> None:
    beds = tmp_path / "beds.csv"
    beds.write_text(
        "unit,beds,from,to\nAMU,60,,\nMEDWARD,520,,\nMEDWARD,490,2025-01-20,2025-01-26\n"
    )
    out = tmp_path / "trust.yaml"
    argv = [
        "calibrate",
        str(small_log / "attendances.csv"),
        "--spells",
        str(small_log / "spells.csv"),
    ]
    assert cli.main([*argv, "--capacity", str(beds), "--out", str(out)]) == 0
    ward = load_scenario(out).places["medward"]
    assert ward.capacity == 520
    change = ward.changes["line_4"]
    assert (change.start.isoformat(), change.end.isoformat(), change.to_capacity) == (
        "2025-01-20",
        "2025-01-26",
        490,
    )
