"""One replication, run and measured: what a worker process executes and what it sends back.

Kept apart from :mod:`flowsim.experiment` (which schedules replications) and
:mod:`flowsim.checkpoint` (which saves them), so that both can name the result's type without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Records, simulate
from .kpis import (
    compute_kpis,
    ed_series,
    hourly_series,
    occupancy_levels,
    time_in_department_cdf,
)
from .scenario import Scenario


@dataclass
class ReplicationResult:
    """What one worker sends back: KPIs, hourly series and (optionally) the visit table."""

    scenario: str
    replication: int
    kpis: dict[str, float]
    hours: np.ndarray
    places: np.ndarray
    occupancy: np.ndarray
    queue: np.ndarray
    capacity: np.ndarray
    visits: dict[str, np.ndarray] | None = None
    patient_class: np.ndarray | None = None
    ed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # boarders, ambulances, CDF
    # Each place's share of the window at each occupancy level: place, level, share.
    occupancy_levels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def run_replication(
    scenario: Scenario, replication: int, seed: int, patients: bool = False
) -> ReplicationResult:
    """Run and measure one replication (this is what worker processes execute)."""
    rec = simulate(scenario, replication, seed, record_visits=patients)
    series = hourly_series(rec)
    levels = occupancy_levels(rec)
    return ReplicationResult(
        scenario=scenario.name,
        replication=replication,
        kpis=compute_kpis(rec),
        hours=series.hour.astype(np.int32),
        places=series.place,
        occupancy=series.occupancy.astype(np.float32),
        queue=series.queue.astype(np.float32),
        capacity=series.capacity.astype(np.float32),
        visits=(
            None
            if rec.visits is None or rec.open_visits is None
            else {k: np.concatenate([rec.visits[k], rec.open_visits[k]]) for k in rec.visits}
        ),
        patient_class=rec.patient_class if patients else None,
        ed=_ed_measures(rec),
        occupancy_levels=(levels.place, levels.level, levels.share),
    )


def _ed_measures(rec: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    es = ed_series(rec)
    return (
        es.boarders.astype(np.float32),
        es.ambulance_queue.astype(np.float32),
        time_in_department_cdf(rec),
    )
