"""`flowsim report`: one offline HTML file (and PNGs) from a results folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from flowsim import cli
from flowsim.kpis import headline_kpis, label

from .shared import TINY

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny comparison's results folder: the baseline and one change."""
    where = tmp_path_factory.mktemp("report")
    (where / "tiny.yaml").write_text(TINY)
    (where / "more_beds.yaml").write_text(
        "extends: tiny.yaml\nname: more_beds\nplaces:\n  ward: {capacity: 14}\n"
    )
    out = where / "res"
    argv = ["compare", str(where / "tiny.yaml"), str(where / "more_beds.yaml")]
    argv += ["-r", "2", "--jobs", "1", "-q", "--days", "2", "--warmup-days", "1"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def report(results: Path) -> str:
    target = results.parent / "report.html"
    assert cli.main(["report", str(results), "--out", str(target)]) == 0
    return target.read_text(encoding="utf-8")


@pytest.mark.slow
def test_report_loads_nothing_from_a_network(report: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", report, flags=re.IGNORECASE)
    assert tags, "the report has no script tags: Vega is not inlined"
    for tag in tags:
        assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", tag, re.I), tag
    assert "vegaEmbed(" in report


@pytest.mark.slow
def test_report_names_scenarios_headlines_and_verdicts(report: str, results: Path) -> None:
    assert "tiny" in report and "more_beds" in report
    comparison = pd.read_csv(results / "comparison.csv")
    headline = headline_kpis(comparison["kpi"].astype(str))
    assert headline
    for kpi in headline:
        assert f"<td>{label(kpi)}</td>" in report, kpi
    shown = comparison[comparison["kpi"].isin(headline)]
    for verdict in shown["verdict"].dropna().unique():
        assert f"<td>{verdict}</td>" in report
    manifest = json.loads((results / "manifest.json").read_text())
    for s in manifest["scenarios"]:
        assert s["hash"] in report


@pytest.mark.slow
def test_png_writes_one_picture_per_chart(results: Path, tmp_path: Path) -> None:
    pngs = tmp_path / "png"
    assert (
        cli.main(["report", str(results), "--out", str(tmp_path / "r.html"), "--png", str(pngs)])
        == 0
    )
    files = sorted(pngs.glob("*.png"))
    assert any(f.name.startswith("forest") for f in files)
    assert any(f.name.startswith("occupancy") for f in files)
    for f in files:
        data = f.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, f


def test_missing_folder_exits_2_with_a_message(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    assert cli.main(["report", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not out.exists()


def test_a_folder_that_is_not_results_exits_2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    assert cli.main(["report", str(tmp_path), "--out", str(out)]) == 2
    assert "not a flowsim results folder" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".r.html*"))


def test_a_results_folder_missing_a_file_exits_2(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "res"
    folder.mkdir()
    manifest = {"scenarios": [{"name": "tiny"}], "files": ["summary.csv", "manifest.json"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "r.html"
    assert cli.main(["report", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "summary.csv" in err
    assert not out.exists()
