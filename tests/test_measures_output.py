"""The new results files: occupancy_distribution.csv and time_in_department.csv at one-minute
points, as a results folder holds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flowsim
from flowsim.output import write_results


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[flowsim.Results, Path]:
    from .shared import TINY

    src = tmp_path_factory.mktemp("in") / "tiny.yaml"
    src.write_text(TINY.replace("length: 3d", "length: 1d").replace("per_day: 120", "per_day: 60"))
    results = flowsim.run(flowsim.load_scenario(src), replications=2)
    out = tmp_path_factory.mktemp("out") / "results"
    write_results(results, out)
    return results, out


def test_occupancy_distribution_csv_lists_every_level_of_every_place(
    folder: tuple[flowsim.Results, Path],
) -> None:
    results, out = folder
    d = pd.read_csv(out / "occupancy_distribution.csv")
    assert list(d.columns) == [
        "scenario",
        "place",
        "level",
        "share_of_time",
        "share_ci_low",
        "share_ci_high",
        "share_at_or_above",
        "at_or_above_ci_low",
        "at_or_above_ci_high",
        "n",
    ]
    # TINY: 6 cubicles and a 12-bed ward, levels 0 to capacity.
    assert d.groupby("place")["level"].apply(list).to_dict() == {
        "cubicles": list(range(7)),
        "ward": list(range(13)),
    }
    assert d.groupby("place")["share_of_time"].sum().to_numpy() == pytest.approx([1.0, 1.0])
    assert (d.loc[d["level"] == 0, "share_at_or_above"] == 1.0).all()
    assert (d["n"] == 2).all()
    # The share of time full is the KPI's time at or above 100% (a fixed capacity).
    kpis = results.summary().set_index("kpi")["mean"]
    full = d[(d["place"] == "ward") & (d["level"] == 12)]["share_at_or_above"].item()
    assert 100 * full == pytest.approx(kpis["occupancy_ge_100_pct_time.ward"])


def test_time_in_department_csv_has_a_point_every_minute(
    folder: tuple[flowsim.Results, Path],
) -> None:
    results, out = folder
    tid = pd.read_csv(out / "time_in_department.csv")
    for _, rep in tid.groupby("replication"):
        assert rep["minutes"].tolist() == list(range(1441))
        assert np.all(np.diff(rep["share_within"]) >= 0)
    k = results.kpis.set_index(["replication", "kpi"])["value"]
    at_four = tid[tid["minutes"] == 240].set_index("replication")["share_within"]
    for r in (0, 1):  # six significant figures in the file
        assert 100 * at_four[r] == pytest.approx(k[(r, "four_hour_pct")], rel=1e-5)
