"""The measures by class, by stream and of delay (issue 12, item 5), against answers worked by
hand from records made by hand; and the names the registry, batch bounds and labels give them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flowsim import cli, load_scenario
from flowsim.engine import simulate
from flowsim.experiment import Results, _occupancy_table
from flowsim.kpis import (
    compute_kpis,
    kpi_info,
    kpi_names,
    label,
    occupancy_levels,
    requests,
)
from flowsim.replication import ReplicationResult
from flowsim.scenario import Scenario

from .shared import TINY, hand_made_records

NAN = np.nan
DAY = 1440.0


def _with_gp_referrals(tmp_path: Path) -> Scenario:
    """TINY (an ED stream of two classes) plus a stream of GP referrals straight to the ward."""
    data = yaml.safe_load(TINY)
    data["arrivals"]["gp_referral"] = {
        "per_day": 10,
        "class_mix": {"routine": 1},
        "first_stage": "ward",
    }
    path = tmp_path / "gp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_scenario(path)


def test_time_in_system_and_four_hours_by_class_and_stream(tmp_path: Path) -> None:
    s = _with_gp_referrals(tmp_path)  # classes: urgent 0, routine 1; streams: walk_in 0, gp 1
    rec = hand_made_records(
        s,
        2 * DAY,
        # A urgent ED, 3 h in the ED, leaves the ward at day+600 (600 min in system).
        # B routine ED, 5 h in the ED then home (300 min).
        # C urgent ED, 2 h in the ED, still in the ward at the end (not counted in system).
        # D routine GP referral, 1000 min in the ward, leaves in the window.
        # E routine GP referral, left before the window opened (not counted).
        # F urgent ED, 1 h in the ED and home, but arrived in the warm-up: counts (leaves in).
        arrival=np.array([DAY, DAY + 10, DAY + 20, DAY + 30, 100.0, DAY - 30]),
        stream=np.array([0, 0, 0, 1, 1, 0], np.int16),
        patient_class=np.array([0, 1, 0, 1, 1, 0], np.int16),
        ed_attendance=np.array([True, True, True, False, False, True]),
        ed_departure=np.array([DAY + 180, DAY + 310, DAY + 140, NAN, NAN, DAY + 30]),
        left=np.array([DAY + 600, DAY + 310, NAN, DAY + 1030, 500.0, DAY + 30]),
    )
    k = compute_kpis(rec)
    # Leaving in the window: A 600, B 300, D 1000, F 60.
    assert k["time_in_system_mean"] == pytest.approx((600 + 300 + 1000 + 60) / 4)
    assert k["time_in_system_mean.urgent"] == pytest.approx((600 + 60) / 2)
    assert k["time_in_system_mean.routine"] == pytest.approx((300 + 1000) / 2)
    # ED attendances leaving the ED in the window: urgent A 180, C 120, F 60; routine B 300.
    assert k["four_hour_pct.urgent"] == pytest.approx(100.0)
    assert k["four_hour_pct.routine"] == pytest.approx(0.0)
    assert k["four_hour_pct"] == pytest.approx(75.0)
    # The GP referral stream alone: D; the ED stream has no such KPI.
    assert k["direct_time_in_system_mean.gp_referral"] == pytest.approx(1000.0)
    assert "direct_time_in_system_mean.walk_in" not in k
    # Every name listed for the scenario is computed (places and staff need pool logs).
    listed = {n for n in kpi_names(s) if kpi_info(n).per not in ("place", "staff")}  # type: ignore[union-attr]
    assert set(k) == listed


def _place_log(times: list[float], in_use: list[int], waiting: list[int]) -> dict[str, np.ndarray]:
    return {
        "kind": np.array("place"),
        "time": np.array(times),
        "in_use": np.array(in_use, np.int32),
        "waiting": np.array(waiting, np.int32),
        "cap_time": np.array([0.0]),
        "cap_value": np.array([1.0]),
    }


# One cubicle over 40 minutes, each change as the pool logs it:
# 0 start; 5 X granted at once; 10 Y queues; 15 X leaves and Y is granted; 20 Y leaves;
# 25 Z granted at once; 30 W queues; 31 W gives up; 35 Z leaves.
CUBICLE = _place_log(
    [0, 5, 10, 15, 20, 25, 30, 31, 35],
    [0, 1, 1, 1, 0, 1, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 1, 0, 0],
)


def test_requests_and_the_share_that_found_the_place_full() -> None:
    assert requests(CUBICLE, 0.0, 40.0) == (4, 2)  # X, Y, Z, W; Y and W found it full
    assert requests(CUBICLE, 8.0, 40.0) == (3, 2)  # X asked before the window
    assert requests(CUBICLE, 0.0, 30.0) == (3, 1)  # W asked at the window's end


def test_p_delay_and_occupancy_levels_from_a_hand_made_log(tmp_path: Path) -> None:
    s = load_scenario(_tiny(tmp_path, warmup="8min", length="32min"))  # window 8 to 40 min
    rec = hand_made_records(s, 40.0, arrival=np.zeros(0), pools={"cubicles": CUBICLE})
    k = compute_kpis(rec)
    assert k["p_delay.cubicles"] == pytest.approx(2 / 3)
    lv = occupancy_levels(rec)
    assert list(lv.place) == ["cubicles", "cubicles"] and list(lv.level) == [0, 1]
    # In use 8-20 and 25-35 (22 min of 32), empty 20-25 and 35-40 (10 min).
    assert lv.share == pytest.approx([10 / 32, 22 / 32])


def test_an_unlimited_place_lists_levels_up_to_the_highest_reached(tmp_path: Path) -> None:
    s = load_scenario(_tiny(tmp_path, warmup="0min", length="10min"))
    log = _place_log([0, 2, 3, 6, 8], [0, 1, 2, 1, 0], [0, 0, 0, 0, 0])
    log["cap_value"] = np.array([np.inf])
    rec = hand_made_records(s, 10.0, arrival=np.zeros(0), pools={"cubicles": log})
    lv = occupancy_levels(rec)
    assert list(lv.level) == [0, 1, 2]
    assert lv.share == pytest.approx([4 / 10, 3 / 10, 3 / 10])  # 0-2, 8-10; 2-3, 6-8; 3-6
    assert "p_delay.cubicles" not in compute_kpis(rec)  # never full


def _tiny(tmp_path: Path, warmup: str, length: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(
        TINY.replace("run: {warmup: 1d, length: 3d", f"run: {{warmup: {warmup}, length: {length}")
    )
    return path


def _result(replication: int, levels: list[float]) -> ReplicationResult:
    empty = np.zeros(0)
    return ReplicationResult(
        scenario="a",
        replication=replication,
        kpis={},
        hours=empty,
        places=empty,
        occupancy=empty,
        queue=empty,
        capacity=empty,
        occupancy_levels=(
            np.array(["beds"] * len(levels), object),
            np.arange(len(levels), dtype=np.int32),
            np.array(levels),
        ),
    )


def test_the_occupancy_distribution_averages_replications_with_unreached_levels_as_zero() -> None:
    # Replication 0 never had more than one patient in; replication 1 reached two.
    table = _occupancy_table([_result(0, [0.25, 0.75]), _result(1, [0.5, 0.25, 0.25])])
    assert table is not None
    res = Results(
        scenarios={}, seed=0, replications=2, kpis=pd.DataFrame(), timeseries=pd.DataFrame()
    )
    res.occupancy_levels = table
    d = res.occupancy_distribution
    assert d is not None
    assert list(d["level"]) == [0, 1, 2]
    assert d["share_of_time"].tolist() == pytest.approx([0.375, 0.5, 0.125])
    # At or above: replication 0 [1, 0.75, 0], replication 1 [1, 0.5, 0.25].
    assert d["share_at_or_above"].tolist() == pytest.approx([1.0, 0.625, 0.125])
    # Two replications: the half-width is t(0.975, 1) x sd / sqrt(2) = 12.706 x |a - b| / 2.
    half = 12.7062047 * abs(0.75 - 0.5) / 2
    assert d.loc[1, "at_or_above_ci_low"] == pytest.approx(0.625 - half)
    assert d.loc[1, "share_ci_high"] == pytest.approx(0.5 + 12.7062047 * 0.5 / 2)
    assert d["n"].tolist() == [2, 2, 2]


def test_per_class_waits_and_the_share_that_waited_agree_with_the_visit_table(
    tmp_path: Path,
) -> None:
    """The engine's counters against the same measures worked out from every visit."""
    s = load_scenario(_tiny(tmp_path, warmup="1d", length="2d"))
    rec = simulate(s, 0, 11, record_visits=True)
    assert rec.visits is not None and rec.open_visits is not None
    k = compute_kpis(rec)
    # Visits still under way at the end count too, if they started in the window.
    v = pd.concat([pd.DataFrame(rec.visits), pd.DataFrame(rec.open_visits)])
    v = v[(v["started"] >= s.run.warmup) & (v["started"] < rec.horizon)]
    v["cls"] = rec.patient_class[v["patient"].to_numpy()]
    v["wait"] = v["started"] - v["queued"]
    for i, stage in enumerate(s.stages):
        mine = v[v["stage"] == i]
        assert len(mine) > 0
        assert k[f"p_wait.{stage}"] == pytest.approx((mine["wait"] > 0).mean())
        for c, cls in enumerate(s.classes):
            theirs = mine[mine["cls"] == c]
            assert k[f"wait_mean.{stage}.{cls}"] == pytest.approx(theirs["wait"].mean())
    waits = [k[f"wait_mean.{stage}"] for stage in s.stages]
    assert all(w > 0 for w in waits)  # the tiny ED is busy: a test that can fail


def test_names_resolve_by_how_many_parts_they_have() -> None:
    assert kpi_info("four_hour_pct").per is None  # type: ignore[union-attr]
    assert kpi_info("four_hour_pct.urgent").per == "class"  # type: ignore[union-attr]
    assert kpi_info("wait_mean.triage").per == "stage"  # type: ignore[union-attr]
    assert kpi_info("wait_mean.triage.urgent").per == "stage_class"  # type: ignore[union-attr]
    assert kpi_info("wait_mean.triage.urgent.x") is None
    assert kpi_info("wait_mean.triage.") is None
    assert kpi_info("p_delay.ward").needs_capacity  # type: ignore[union-attr]
    assert label("wait_mean.triage.urgent") == "Wait to start: triage, urgent"
    assert label("four_hour_pct.urgent") == "Within 4 hours: urgent"


def test_batch_bounds_know_the_new_names(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "batch.yaml"
    expect = (
        "      wait_mean.assess.urgent: {min: 0}\n"
        "      p_wait.assess: {min: 0, max: 1}\n"
        "      p_delay.ward: {min: 0, max: 1}\n"
        "      four_hour_pct.routine: {min: 0, max: 100}\n"
    )
    batch.write_text(
        f"replications: 2\nseed: 3\ndays: 2\nwarmup_days: 1\njobs: 1\n"
        f"scenarios:\n  - file: {tiny_file.name}\n    expect:\n{expect}"
    )
    assert cli.main(["check", str(batch), "-q"]) == 0
    assert "all 4 bounds hold" in capsys.readouterr().out
    batch.write_text(batch.read_text() + "      wait_mean.assess.nobody: {min: 0}\n")
    assert cli.main(["check", str(batch), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{batch}:13:" in err and "unknown KPI" in err
