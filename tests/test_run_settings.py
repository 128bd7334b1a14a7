"""Run-settings tools: MSER-5 on series with a known truncation point, Welch's moving average by
hand, and the confidence-interval method for replications against a known variance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowsim.cli import main
from flowsim.loader import load_scenario
from flowsim.run_settings import (
    daily_series,
    mser,
    replications_needed,
    replications_table,
    warmup_study,
    welch,
)


def test_mser5_cuts_a_start_up_ramp_at_its_end() -> None:
    # 40 observations climbing from 0 to 39, then 400 at 40 +/- 1: the ramp is 8 batches of 5.
    ramp = np.arange(40.0)
    steady = 40.0 + np.tile([1.0, -1.0], 200)
    result = mser(np.concatenate([ramp, steady]))
    assert result.truncate == 40 and result.batch == 5 and result.reliable


def test_mser5_keeps_everything_of_a_series_already_steady() -> None:
    rng = np.random.default_rng(1)
    assert mser(rng.normal(10, 1, 500)).truncate <= 25  # at most a few batches


def test_mser_statistic_by_hand() -> None:
    # Batches of 1 on [10, 0, 0, 0]: d=0 -> var-sum 75 / 16; d=1 -> 0 / 9; d=2 -> 0 / 4.
    result = mser([10.0, 0.0, 0.0, 0.0], batch=1)
    assert result.statistic == pytest.approx([75 / 16, 0.0, 0.0])
    assert result.truncate == 1


def test_mser_refuses_a_series_too_short() -> None:
    with pytest.raises(ValueError, match="at least 20"):
        mser([1.0] * 19)


def test_mser_flags_a_minimum_in_the_second_half() -> None:
    # Still climbing at the end: the best cut is late, so the advice is to run longer.
    assert not mser(np.arange(100.0) ** 2).reliable


def test_welch_moving_average_by_hand() -> None:
    y = np.array([[1.0, 2, 3, 4, 5, 6, 7], [3.0, 4, 5, 6, 7, 8, 9]])  # means 2..8
    # w = 2: period 1 -> mean(2) = 2; 2 -> mean(2,3,4) = 3; 3..5 -> centred 5-means.
    assert welch(y, 2) == pytest.approx([2.0, 3.0, 4.0, 5.0, 6.0])
    with pytest.raises(ValueError, match="window"):
        welch(y, 4)


def test_replications_by_hand() -> None:
    # Alternating 9, 11: the 95% half-width t_{n-1} s / sqrt(n) must be within 5% of the mean.
    # n = 18: mean 10, s = sqrt(18/17) = 1.029, t_17 = 2.110: 0.512, 5.12% of the mean.
    # n = 19: mean 189/19 = 9.947, s = sqrt(18.95/18) = 1.026, t_18 = 2.101: 0.4945, 4.97%.
    # (t from standard tables.)
    values = np.tile([9.0, 11.0], 30)
    advice = replications_table({"x": values}, precision=0.05, look_ahead=0)
    assert advice.recommended == 19
    pct = advice.table.set_index("replications")["half_width_pct"]
    assert pct[18] == pytest.approx(5.12, abs=0.01)
    assert pct[19] == pytest.approx(4.97, abs=0.01)


def test_replications_for_a_known_variance_match_the_normal_approximation() -> None:
    # KPI values ~ N(100, 20^2): 5% of the mean needs (1.96 * 20 / 5)^2 = 61.5 replications,
    # a little more with t. The estimate from a sample varies with s; with 2 KPIs the
    # noisier decides. Tolerance: s/sigma from 60 draws lies in (0.8, 1.2) with 92% chance.
    rng = np.random.default_rng(20)
    a, b = rng.normal(100, 20, 200), rng.normal(50, 2, 200)
    advice = replications_table({"a": a, "b": b}, precision=0.05)
    assert advice.recommended is not None
    assert 0.8**2 * 61.5 <= advice.recommended <= 1.2**2 * 66
    assert set(advice.table["kpi"]) == {"a", "b"}


def test_replications_none_when_precision_is_never_reached() -> None:
    rng = np.random.default_rng(3)
    advice = replications_table({"x": rng.normal(1, 5, 30)}, precision=0.01)
    assert advice.recommended is None


def _mm1() -> dict[str, object]:
    return {
        "name": "mm1",
        "run": {"warmup": "1d", "length": "10d", "replications": 4, "seed": 5},
        "classes": {"a": {}},
        "arrivals": {"p": {"per_day": 60, "class_mix": {"a": 1}, "first_stage": "see"}},
        "places": {"room": {"capacity": "unlimited", "area": "ed"}},
        "staff": {"doc": {"count": 1}},
        "stages": {
            "see": {
                "place": "room",
                "staff": "doc",
                "duration": {"dist": "exponential", "mean": 12},
            }
        },
    }


def test_daily_series_from_an_empty_start() -> None:
    s = load_scenario(_mm1())
    daily = daily_series(s, "arrivals", replications=3, days=8)
    assert list(daily.columns) == ["day", "replication_0", "replication_1", "replication_2"]
    assert len(daily) == 8
    assert daily.drop(columns="day").to_numpy().mean() == pytest.approx(60, rel=0.15)
    study = warmup_study(s, "occupancy_mean.room", replications=2, days=40, window=3)
    assert 0 <= study.warmup_days <= 20 and study.mser.truncate % 5 == 0
    assert {"day", "mean", "welch"} <= set(study.series.columns)


def test_replications_needed_runs_until_precise() -> None:
    s = load_scenario(_mm1())
    advice = replications_needed(s, ["arrivals"], precision=0.05, max_replications=12, look_ahead=2)
    # Arrivals in 10 days ~ Poisson(600): sd 24.5, so 5% (30) is met from about n = 3.
    assert advice.recommended is not None and advice.recommended <= 6


@pytest.mark.slow
def test_cli_warmup_and_replications(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import yaml

    f = tmp_path / "mm1.yaml"
    f.write_text(yaml.safe_dump(_mm1()))
    out = tmp_path / "welch.csv"
    assert (
        main(
            [
                "warmup",
                str(f),
                "--kpi",
                "occupancy_mean.room",
                "-r",
                "2",
                "--days",
                "30",
                "--jobs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "MSER-5 warm-up:" in text and out.exists()
    assert (
        main(
            [
                "replications",
                str(f),
                "--kpi",
                "arrivals",
                "--precision",
                "5%",
                "--max",
                "10",
                "--look-ahead",
                "1",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    shown = capsys.readouterr()
    assert "replications needed:" in shown.out
    assert "replications run (at most 10)" in shown.err  # progress, on stderr
    assert main(["warmup", str(f), "--kpi", "wait_mean.see"]) == 2  # not measurable by day
    assert "cannot be measured day by day" in capsys.readouterr().err


def test_the_welch_chart_is_one_file_that_loads_nothing_from_the_network(tmp_path: Path) -> None:
    import re

    import yaml

    f = tmp_path / "mm1.yaml"
    f.write_text(yaml.safe_dump(_mm1()))
    out = tmp_path / "welch.csv"
    argv = ["warmup", str(f), "--kpi", "occupancy_mean.room", "-r", "2", "--days", "20"]
    assert main([*argv, "--jobs", "1", "--out", str(out)]) == 0
    html = out.with_suffix(".html").read_text()
    # Before, the page loaded Vega from a CDN and was blank offline.
    sources = re.findall(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=[\"']?([^\"' >]+)", html)
    assert not [s for s in sources if re.match(r"(https?:)?//", s)], sources
    assert "vegaEmbed" in html and "Welch plot of occupancy_mean.room" in html


def test_warmup_and_replications_use_pools_whose_workers_die_with_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowsim import experiment, run_settings

    made: list[int] = []

    def spy(workers: int, memory_limit_mb: int | None = None):  # type: ignore[no-untyped-def]
        made.append(workers)
        return experiment.worker_pool(workers, memory_limit_mb)

    monkeypatch.setattr(run_settings, "worker_pool", spy)
    s = load_scenario(_mm1())
    warmup_study(s, "occupancy_mean.room", replications=2, days=25, window=1, jobs=2)
    replications_needed(s, ["arrivals"], precision=0.5, max_replications=2, look_ahead=0, jobs=2)
    assert made == [2, 2]
