"""Per-replication measures computed from the ordinary results tables (KPIs and the
patient-visit table), for the validation checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiment import Results
from ..scenario import Scenario


def kpi(results: Results, name: str) -> np.ndarray:
    """One KPI's value per replication, in replication order."""
    k = results.kpis
    values: np.ndarray = k[k["kpi"] == name].sort_values("replication")["value"].to_numpy(float)
    return values


def visits(results: Results) -> pd.DataFrame:
    if results.patients is None:
        raise ValueError("the run did not keep the patient-visit table (patients=True)")
    return results.patients


def per_replication(results: Results, frame: pd.DataFrame, values: pd.Series) -> np.ndarray:
    """Mean of ``values`` per replication (NaN where a replication has none)."""
    reps = pd.RangeIndex(results.replications)
    means: np.ndarray = (
        values.groupby(frame["replication"], observed=True).mean().reindex(reps).to_numpy(float)
    )
    return means


def window(scenario: Scenario) -> tuple[float, float]:
    return scenario.run.warmup, scenario.horizon


def visits_starting_in_window(
    results: Results, scenario: Scenario, stage: str | None = None
) -> pd.DataFrame:
    v = visits(results)
    w0, w1 = window(scenario)
    keep = (v["started"] >= w0) & (v["started"] < w1)
    if stage is not None:
        keep &= v["stage"] == stage
    return v[keep]


def time_in_system(results: Results, scenario: Scenario) -> np.ndarray:
    """Mean time from arrival to leaving, per replication, over patients leaving in the
    window (arrival is the first visit's ``queued``, leaving the last visit's ``ended``)."""
    v = visits(results)
    keys = [v["replication"], v["patient"]]
    g = v.groupby(keys, observed=True, sort=False)
    per = pd.DataFrame(
        {
            "arrived": g["queued"].min(),
            "left": g["ended"].max(),
            "open": v["ended"].isna().groupby(keys, observed=True, sort=False).any(),
        }
    )
    per.index.names = ["replication", "patient"]
    w0, w1 = window(scenario)
    per = per[~per["open"] & (per["left"] >= w0) & (per["left"] < w1)].reset_index()
    return per_replication(results, per, per["left"] - per["arrived"])


def place_stays(results: Results) -> pd.DataFrame:
    """One row per stay in a place: ``replication, patient, place, entered, left_place``.

    A stay starts when the place is granted (``entered``) and ends when the next place is
    granted, or when the patient leaves (their last visit's end); NaN if still there at the end.
    A room released on completion is left at the end of its visit.
    """
    v = visits(results)
    v = v[v["place"] != ""]
    # A room released on completion (``release: on_completion``) is its own stay, from entering
    # to the visit's end; the other stays chain from one place to the next.
    rooms = {
        (scenario, name)
        for scenario, s in results.scenarios.items()
        for name, st in s.stages.items()
        if st.release == "on_completion"
    }
    in_room = pd.Series(False, index=v.index)
    if rooms:
        pairs = pd.MultiIndex.from_arrays([v["scenario"].astype(str), v["stage"].astype(str)])
        in_room = pd.Series(pairs.isin(list(rooms)), index=v.index)
    key = ["replication", "patient", "place", "entered"]
    stays = (
        v[~in_room]
        .drop_duplicates(key, keep="last")[key + ["ended"]]
        .sort_values(["replication", "patient", "entered"], kind="stable")
    )
    same_patient = (stays["replication"].shift(-1) == stays["replication"]) & (
        stays["patient"].shift(-1) == stays["patient"]
    )
    stays["left_place"] = np.where(same_patient, stays["entered"].shift(-1), stays["ended"])
    if rooms:
        room_stays = v[in_room][key + ["ended"]].rename(columns={"ended": "left_place"})
        stays = pd.concat([stays, room_stays], ignore_index=True)
    return stays[["replication", "patient", "place", "entered", "left_place"]]
