"""calibrate -> validate -> run: the scenario written from a log is one flowsim accepts and runs,
every fitted value carries its comment, and nothing patient-level is in it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
