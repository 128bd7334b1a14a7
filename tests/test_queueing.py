"""The engine against queueing theory: M/M/c waits (Erlang C) and Little's law.

An M/M/c stage is one class, one flat Poisson arrival stream, an unlimited place (or none), a
staff group of ``c`` and exponential durations, leaving afterwards. Each check runs independent
replications and asks that the theoretical value lie inside the Student t 95% confidence
interval of the replication means (so, for a correct engine and a fresh seed, each check fails
about one time in twenty; the seeds are fixed, so a pass is repeatable).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flowsim.engine import simulate
from flowsim.kpis import compute_kpis
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario
from flowsim.stats import mean_ci

DAY = 1440.0


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a = lambda/mu``
    (Erlang's C formula; e.g. Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing
    Theory*, 4th ed., section 2.3, "Multiple servers in parallel (M/M/c)"):

        C(c, a) = (a^c / c!) * c / (c - a)
                  / ( sum_{k=0}^{c-1} a^k / k!  +  (a^c / c!) * c / (c - a) )
    """
    assert a < c
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wait(lam: float, mean_service: float, c: int) -> float:
    """Mean wait in queue: W_q = C(c, a) / (c mu - lambda)."""
    mu = 1.0 / mean_service
    return erlang_c(c, lam / mu) / (c * mu - lam)


def test_erlang_c_textbook_values() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # a = 1, c = 2: 1 / (2 + 1)
    assert mmc_wait(0.5, 1.0, 1) == pytest.approx(1.0)  # M/M/1: rho / (mu - lambda)


def mmc(
    lam: float, mean_service: float, c: int, days: float, warmup_days: float, place: bool = False
) -> Scenario:
    stage: dict[str, Any] = {
        "staff": "servers",
        "duration": {"dist": "exponential", "mean": mean_service},
        "next": {},
    }
    data: dict[str, Any] = {
        "name": "mmc",
        "run": {"warmup": warmup_days * DAY, "length": days * DAY},
        "classes": {"a": {}},
        "arrivals": {
            "poisson": {"per_day": lam * DAY, "class_mix": {"a": 1.0}, "first_stage": "service"}
        },
        "staff": {"servers": {"count": c}},
        "stages": {"service": stage},
    }
    if place:
        data["places"] = {"room": {"capacity": "unlimited"}}
        stage["place"] = "room"
    return load_scenario(data)


@pytest.mark.parametrize(
    ("c", "rho", "mean_service", "days"),
    [
        (3, 0.70, 20.0, 40),  # W_q about 10.9 min
        (2, 0.85, 10.0, 60),  # W_q about 26 min: heavy traffic, slow to settle, so a longer run
        (1, 0.90, 6.0, 60),  # W_q = 54 min
    ],
)
@pytest.mark.slow
def test_mmc_mean_wait_matches_erlang_c(c: int, rho: float, mean_service: float, days: int) -> None:
    lam = rho * c / mean_service
    scenario = mmc(lam, mean_service, c, days, warmup_days=2)
    waits = np.array(
        [compute_kpis(simulate(scenario, r, seed=4242))["wait_mean.service"] for r in range(16)]
    )
    m, lo, hi, _ = mean_ci(waits)
    theory = mmc_wait(lam, mean_service, c)
    assert lo <= theory <= hi, f"Erlang C {theory:.3f} outside 95% CI ({lo:.3f}, {hi:.3f})"
    # A sanity bound that a wrong model would break even with a wide interval: within 10%.
    assert m == pytest.approx(theory, rel=0.10)


@pytest.mark.slow
def test_littles_law_in_an_mm1_place() -> None:
    lam, mean_service = 0.8 / 15.0, 15.0  # rho = 0.8: L = 4, W = 75 min
    scenario = mmc(lam, mean_service, 1, days=100, warmup_days=3, place=True)
    w0, w1 = scenario.run.warmup, scenario.horizon
    occupancy, lam_w, identity_gap = [], [], []
    for r in range(12):
        rec = simulate(scenario, r, seed=777)
        k = compute_kpis(rec)
        occupancy.append(k["occupancy_mean.room"])
        # Time in place of patients arriving in the window (the place is unlimited, so it is
        # entered on arrival). Only arrivals up to a day before the end are taken, so that all
        # of them have left (W is 75 min) and the long stays are not selected out.
        arrived = (rec.arrival >= w0) & (rec.arrival < w1 - DAY)
        assert not np.isnan(rec.left[arrived]).any()
        lam_w.append(lam * float(np.mean(rec.left[arrived] - rec.arrival[arrived])))
        # Exact bookkeeping: the time-average occupancy is the sum of each patient's time in
        # the place inside the window, divided by the window.
        left = np.where(np.isnan(rec.left), w1, rec.left)
        inside = np.clip(left, w0, w1) - np.clip(rec.arrival, w0, w1)
        identity_gap.append(k["occupancy_mean.room"] - inside.sum() / (w1 - w0))
    assert np.allclose(identity_gap, 0.0, atol=1e-9)
    # L = lambda W: the paired difference per replication has a 95% CI containing 0 ...
    _, lo, hi, _ = mean_ci(np.array(occupancy) - np.array(lam_w))
    assert lo <= 0.0 <= hi
    # ... and the M/M/1 value L = rho / (1 - rho) = 4 lies in the 95% CI of the occupancy.
    _, lo, hi, _ = mean_ci(np.array(occupancy))
    assert lo <= 4.0 <= hi


def test_mmc_utilisation_matches_rho() -> None:
    lam, mean_service, c = 0.75 * 4 / 30.0, 30.0, 4
    scenario = mmc(lam, mean_service, c, days=20, warmup_days=1)
    busy = np.array(
        [compute_kpis(simulate(scenario, r, seed=11))["busy_mean_pct.servers"] for r in range(10)]
    )
    _, lo, hi, _ = mean_ci(busy)
    assert lo <= 75.0 <= hi  # 95% CI of the busy share contains rho = 75%
