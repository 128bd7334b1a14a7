"""`flowsim report`: one offline HTML file (and PNGs) from a results folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from flowsim import cli
from flowsim.kpis import headline_kpis, label

from .shared import REPO, TINY

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


@pytest.mark.slow
def test_report_says_what_each_change_alters_and_checks_stability(report: str) -> None:
    # The change file sets the ward to 14 beds; TINY has 12.
    assert "<li>Ward: 12 → 14</li>" in report
    assert "<h2>Stability check</h2>" in report
    # TINY runs 2 days here, too few to judge a trend, and the report says so.
    assert "not judged: fewer than 4 whole days were measured" in report


@pytest.mark.slow
def test_report_links_the_validation_report_relatively(report: str, results: Path) -> None:
    (href,) = re.findall(r'<a href="([^"]+)">docs/validation.md</a>', report)
    assert not re.match(r"[a-z]+:", href), "the link must open offline, as a relative path"
    assert (results.parent / href).resolve() == (REPO / "docs" / "validation.md").resolve()


@pytest.mark.slow
def test_report_draws_exit_block_and_ambulance_queue(results: Path, tmp_path: Path) -> None:
    pngs = tmp_path / "png"
    assert (
        cli.main(["report", str(results), "--out", str(tmp_path / "r.html"), "--png", str(pngs)])
        == 0
    )
    assert (pngs / "exit_block.png").is_file()
    assert (pngs / "ambulance_queue.png").is_file()


@pytest.mark.slow
def test_report_warns_of_a_scenario_that_is_not_steady(results: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "res"
    shutil.copytree(results, copy)
    st = pd.read_csv(copy / "stability.csv", dtype={"grows_most": str})
    changed = st["scenario"] == "more_beds"
    st.loc[changed, ["steady", "days"]] = [False, 30]
    st.loc[changed, ["waiting_first_batch", "waiting_last_batch"]] = [5.0, 280.0]
    st.loc[changed, "grows_most"] = "Ward"
    st.to_csv(copy / "stability.csv", index=False)
    out = tmp_path / "r.html"
    assert cli.main(["report", str(copy), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "more_beds is not in a steady state in 2 of 2 replications" in text
    assert "rose from about 5 to 280" in text
    assert "NOT STEADY in 2 of 2 replications" in text


@pytest.mark.parametrize(
    ("value", "unit", "signed", "shown"),
    [
        (201.4, "minutes", False, "3 h 21 min"),
        (120.0, "minutes", False, "120.0"),
        (-145.3, "minutes", True, "-2 h 25 min"),
        (150.0, "%", False, "150.0"),
    ],
)
def test_minutes_over_120_read_as_hours_and_minutes(
    value: float, unit: str, signed: bool, shown: str
) -> None:
    from flowsim.report.build import _value

    assert _value(value, unit, signed) == shown
