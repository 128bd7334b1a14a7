"""The calibrated model against the shipped synthetic year: the waits, time in department and
four-hour performance the log shows are reproduced within the model's 95% prediction interval.

The year (examples/eventlog/, made by numpy, not flowsim) draws its waits at random, not from a
queue; a calibration that fits only service times and leaves waits to queues for cubicles and
beds gave 86% within four hours against 60% observed. This pins the fix (waits the queues cannot
make fitted as delays, see docs/calibration.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowsim import cli

from .shared import REPO

EXAMPLE = REPO / "examples" / "eventlog"


@pytest.fixture(scope="module")
def measures(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("year")
    argv = [
        "calibrate",
        str(EXAMPLE / "attendances.csv.gz"),
        "--spells",
        str(EXAMPLE / "spells.csv.gz"),
        "--capacity",
        str(EXAMPLE / "capacity.csv"),
        "--out",
        str(folder / "year.yaml"),
        "--report",
        str(folder / "report"),
        "-r",
        "4",
        "-j",
        "2",
    ]
    assert cli.main(argv) == 0
    return pd.read_csv(folder / "report" / "measures.csv").set_index("measure")


def _boundary_minute_pct() -> float:
    """Percent of attendances whose recorded time in department is exactly 240 minutes.

    The log records to the minute, so 'within four hours' on its stamps also counts patients
    whose true time was up to about half a minute over; the model's times are not rounded.
    The share on the boundary minute bounds that difference."""
    a = pd.read_csv(EXAMPLE / "attendances.csv.gz", usecols=["arrival", "departure"])
    tid = (pd.to_datetime(a["departure"]) - pd.to_datetime(a["arrival"])).dt.total_seconds()
    return float(100 * np.mean(tid == 240 * 60))


def _close(row: pd.Series, allowance: float = 0.0) -> None:
    half = (row["pi_high"] - row["pi_low"]) / 2
    gap = abs(row["observed"] - row["simulated_mean"])
    assert gap <= half + allowance, (
        f"observed {row['observed']:.4g}, model {row['simulated_mean']:.4g} "
        f"(95% PI {row['pi_low']:.4g} to {row['pi_high']:.4g}, allowance {allowance:.3g})"
    )


@pytest.mark.slow
def test_waits_and_time_in_department_are_inside_the_prediction_interval(
    measures: pd.DataFrame,
) -> None:
    for name in (
        "time in department, mean",
        "time to first clinician, mean",
        "decision to admit to leaving the ED, mean",
    ):
        row = measures.loc[name]
        assert bool(row["inside"]), f"{name}: {row.to_dict()}"
        _close(row)


@pytest.mark.slow
def test_four_hour_performance_is_within_the_interval_and_the_recording_minute(
    measures: pd.DataFrame,
) -> None:
    row = measures.loc["four-hour performance"]
    allowance = _boundary_minute_pct()
    assert 0 < allowance < 1
    _close(row, allowance)
