"""Cross-checks against Ciw, an independent open-source queueing-network simulator.

Used where no closed form exists (blocking between finite stages) and as a second opinion on
networks that have one. The scenario is translated into a Ciw network: one node per stage,
exponential durations, servers from the stage's staff count (or its place's capacity when the
stage has no staff). A stage with a limited place and no staff that is entered from another
stage gets no waiting room in Ciw (queue capacity 0), so the patient stays in the node they are
in until a server is free: the same blocking as flowsim's "keep your place until the next is
granted". Ciw is a test-only dependency and is imported only when a cross-check runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..distributions import Exponential
from ..experiment import Results
from ..scenario import Scenario
from .checks import Check
from .kinds import arrival_rate, servers
from .measures import kpi, time_in_system, window

CIW_MISSING = (
    "Ciw is not installed, so the cross-checks against it cannot run; install the "
    'development extra: pip install -e ".[dev]"'
)


class CiwMissing(RuntimeError):
    """Ciw, the independent simulator used by cross-checks, is not installed."""


def _ciw() -> Any:
    try:
        import ciw
    except ImportError as e:
        raise CiwMissing(CIW_MISSING) from e
    return ciw


def ciw_network(s: Scenario) -> Any:
    """The scenario as a Ciw network (one node per stage, in the scenario's order)."""
    ciw = _ciw()
    names = list(s.stages)
    entered_from_stage = {t for st in s.stages.values() for t in st.next if t != "exit"}
    arrivals: list[Any] = []
    services: list[Any] = []
    counts: list[float] = []
    queues: list[float] = []
    routing: list[list[float]] = []
    for name in names:
        st = s.stages[name]
        if (
            not isinstance(st.duration, Exponential)
            or st.next_by_class
            or st.overflow
            or st.leave_without_being_seen
            or st.delayed_discharge
            or st.discharge_window
        ):
            raise ValueError(
                f"stage '{name}' cannot be translated to Ciw (exponential "
                "durations and plain routing only)"
            )
        lam = arrival_rate(s, first_stage=name)
        arrivals.append(ciw.dists.Exponential(rate=lam) if lam > 0 else None)
        services.append(ciw.dists.Exponential(rate=1.0 / st.duration.expected()))
        c = servers(s, name)
        place = s.places[st.place] if st.place else None
        limited = place is not None and not place.unlimited
        if not math.isinf(c):
            if limited:
                raise ValueError(f"stage '{name}' has both staff and a limited place")
            counts.append(int(c))
            queues.append(float("inf"))
        elif limited:
            assert place is not None and isinstance(place.capacity, int)
            counts.append(place.capacity)
            queues.append(0 if name in entered_from_stage else float("inf"))
        else:
            counts.append(float("inf"))
            queues.append(float("inf"))
        routing.append([st.next.get(t, 0.0) for t in names])
    return ciw.create_network(
        arrival_distributions=arrivals,
        service_distributions=services,
        number_of_servers=counts,
        queue_capacities=queues,
        routing=routing,
    )


def ciw_replication(s: Scenario, seed: int) -> dict[str, float]:
    """One Ciw run of the scenario: mean wait per stage (waiting to start it, blocking
    included) over visits starting in the window, and mean time in system over customers
    leaving in the window."""
    ciw = _ciw()
    ciw.seed(seed)
    sim = ciw.Simulation(ciw_network(s))
    sim.simulate_until_max_time(s.horizon)
    recs = pd.DataFrame([r._asdict() for r in sim.get_all_records() if r.record_type == "service"])
    recs = recs.sort_values(["id_number", "arrival_date"], kind="stable")
    same = recs["id_number"].shift(1) == recs["id_number"]
    recs["wait"] = recs["waiting_time"] + np.where(same, recs["time_blocked"].shift(1), 0.0)
    w0, w1 = window(s)
    out = {}
    started = recs[(recs["service_start_date"] >= w0) & (recs["service_start_date"] < w1)]
    for i, name in enumerate(s.stages):
        out[f"wait_mean.{name}"] = float(started[started["node"] == i + 1]["wait"].mean())
    per = recs.groupby("id_number").agg(
        arrived=("arrival_date", "min"),
        left=("exit_date", "max"),
        leaves=("destination", lambda d: bool((d == -1).any())),
    )
    done = per[per["leaves"] & (per["left"] >= w0) & (per["left"] < w1)]
    out["time_in_system"] = float((done["left"] - done["arrived"]).mean())
    return out


def ciw(s: Scenario, spec: dict[str, Any], res: Results) -> list[Check]:
    """Each stage's mean wait and the mean time in system, flowsim against Ciw (each over
    the scenario's replications; Ciw seeded from the scenario's seed)."""
    ref = pd.DataFrame([ciw_replication(s, s.run.seed * 1000 + r) for r in range(res.replications)])
    # Stages with infinitely many servers (no staff, unlimited place) never wait: left out.
    checks = [
        Check.overlap(
            f"{name}: mean wait (min), wait_mean.{name}",
            kpi(res, f"wait_mean.{name}"),
            ref[f"wait_mean.{name}"].to_numpy(),
            "Ciw",
        )
        for name, st in s.stages.items()
        if not (st.staff is None and (st.place is None or s.places[st.place].unlimited))
    ]
    checks.append(
        Check.overlap(
            "mean total time in system (min)",
            time_in_system(res, s),
            ref["time_in_system"].to_numpy(),
            "Ciw",
        )
    )
    return checks
