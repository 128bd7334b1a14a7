"""The independent value each kind of case is checked against, and the simulated measure.

Every parameter (arrival rate, servers, mean and spread of durations, routing) is read from the
case's own scenario, so a case file says each number once. Each function takes the scenario,
its ``x-validation`` block and the results of running it, and returns its checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..distributions import (
    Distribution,
    Erlang,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    TruncatedNormal,
    Weibull,
)
from ..experiment import Results
from ..scenario import WEEKDAYS, Scenario
from . import theory
from .checks import Check
from .measures import (
    kpi,
    per_replication,
    time_in_system,
    visits,
    visits_starting_in_window,
    window,
)

DAY = 1440.0
Spec = dict[str, Any]
KindCheck = Callable[[Scenario, Spec, Results], list[Check]]


def second_moment(d: Distribution) -> float:
    """E[S^2] of a duration distribution, from its parameters."""
    if isinstance(d, Fixed):
        return d.value**2
    if isinstance(d, Exponential):
        return 2.0 * d.mean**2
    if isinstance(d, Lognormal | Gamma):
        return d.mean**2 + d.sd**2
    if isinstance(d, Erlang):
        return d.mean**2 * (1.0 + 1.0 / d.k)
    if isinstance(d, Weibull):
        return d.scale**2 * math.gamma(1.0 + 2.0 / d.shape)
    if isinstance(d, TruncatedNormal) and d.sd > 0:
        # X = mu + sigma Z, Z standard normal truncated below at alpha: E[Z] = lam = phi(alpha)/Q
        # and E[Z^2] = 1 + alpha lam (Johnson, Kotz & Balakrishnan, vol. 1, 13.10.1).
        alpha = (d.low - d.mean) / d.sd
        lam = (d.expected() - d.mean) / d.sd
        return d.mean**2 + 2.0 * d.mean * d.sd * lam + d.sd**2 * (1.0 + alpha * lam)
    raise ValueError(f"no second moment written for {type(d).__name__} durations")


def arrival_rate(
    scenario: Scenario, first_stage: str | None = None, patient_class: str | None = None
) -> float:
    """Arrivals per minute of flat Poisson streams (optionally to one stage, of one class)."""
    total = 0.0
    for stream in scenario.arrivals.values():
        if (
            len(set(stream.hourly_profile)) > 1
            or len(set(stream.weekday_factors)) > 1
            or stream.surges
            or stream.per_hour is not None
        ):
            raise ValueError("closed-form cases need flat arrival rates")
        if first_stage is not None and stream.first_stage != first_stage:
            continue
        share = 1.0 if patient_class is None else stream.class_mix.get(patient_class, 0.0)
        total += stream.per_day * share / DAY
    return total


def servers(scenario: Scenario, stage: str) -> float:
    """Staff count of the stage, or infinitely many when it needs no staff; for a stage without
    staff whose place is released on completion (rooms), the number of rooms."""
    st = scenario.stages[stage]
    if st.staff is None and st.release == "on_completion" and st.place is not None:
        rooms = scenario.places[st.place].capacity
        return math.inf if rooms == "unlimited" else float(rooms)
    if st.staff is None:
        return math.inf
    count = scenario.staff[st.staff].count
    if count is None:
        raise ValueError(f"stage '{stage}' needs a constant staff count for a closed form")
    return count


# -- M/M/c -----------------------------------------------------------------------------------
def mmc(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    stage = spec["stage"]
    st = s.stages[stage]
    lam, mean, c = arrival_rate(s), st.duration.expected(), int(servers(s, stage))
    v = visits_starting_in_window(res, s, stage)
    waited = (v["started"] - v["queued"] > 1e-9).astype(float)
    return [
        Check.in_ci(
            f"mean wait (min), wait_mean.{stage}",
            theory.mmc_wait(lam, mean, c),
            kpi(res, f"wait_mean.{stage}"),
        ),
        Check.in_ci(
            "probability of waiting",
            theory.erlang_c(c, lam * mean),
            per_replication(res, v, waited),
        ),
        Check.in_ci(
            "P(time in system <= 4h) %, four_hour_pct",
            100.0 * theory.mmc_time_within(lam, mean, c, 240.0),
            kpi(res, "four_hour_pct"),
        ),
        Check.in_ci(
            f"mean number present, occupancy_mean.{st.place}",
            theory.mmc_number(lam, mean, c),
            kpi(res, f"occupancy_mean.{st.place}"),
        ),
    ]


# -- Erlang loss -----------------------------------------------------------------------------
def loss(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    if "overflow_stage" not in spec:
        return loss_lost(s, spec, res)
    stage, overflow = spec["stage"], spec["overflow_stage"]
    st = s.stages[stage]
    assert st.place is not None
    c = s.places[st.place].capacity
    assert isinstance(c, int)
    a = arrival_rate(s) * st.duration.expected()
    b = theory.erlang_b(c, a)
    v = visits(res)
    w0, w1 = window(s)
    first = v[v["stage"].isin([stage, overflow]) & (v["queued"] >= w0) & (v["queued"] < w1)]
    blocked = (first["stage"] == overflow).astype(float)
    return [
        Check.in_ci(
            "blocking probability (share sent to overflow)", b, per_replication(res, first, blocked)
        ),
        Check.in_ci(
            f"mean beds occupied, occupancy_mean.{st.place}",
            a * (1.0 - b),
            kpi(res, f"occupancy_mean.{st.place}"),
        ),
    ]


def loss_lost(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    """Erlang B stated directly: the stage turns patients away when full (``when_full: lost``)."""
    stage = spec["stage"]
    st = s.stages[stage]
    if st.place is None or st.when_full == "wait":
        raise ValueError(f"stage '{stage}' needs a place and when_full: lost (or divert)")
    c = s.places[st.place].capacity
    assert isinstance(c, int)
    a = arrival_rate(s) * st.duration.expected()
    b = theory.erlang_b(c, a)
    return [
        Check.in_ci(
            f"blocking probability %, lost_pct.{stage}", 100.0 * b, kpi(res, f"lost_pct.{stage}")
        ),
        Check.in_ci(
            f"mean beds occupied, occupancy_mean.{st.place}",
            a * (1.0 - b),
            kpi(res, f"occupancy_mean.{st.place}"),
        ),
    ]


# -- M/G/1 -----------------------------------------------------------------------------------
def mg1(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    stage = spec["stage"]
    st = s.stages[stage]
    if servers(s, stage) != 1:
        raise ValueError("an M/G/1 case needs one server")
    lam, d = arrival_rate(s), st.duration
    wq = theory.pollaczek_khinchine_wait(lam, d.expected(), second_moment(d))
    return [
        Check.in_ci(f"mean wait (min), wait_mean.{stage}", wq, kpi(res, f"wait_mean.{stage}")),
        Check.in_ci(
            f"mean number present, occupancy_mean.{st.place}",
            lam * (wq + d.expected()),
            kpi(res, f"occupancy_mean.{st.place}"),
        ),
    ]


# -- Jackson networks ------------------------------------------------------------------------
def jackson_rates(s: Scenario) -> dict[str, float]:
    """Visit rate per minute at each stage, from the traffic equations."""
    names = list(s.stages)
    gamma = np.array([arrival_rate(s, first_stage=n) for n in names])
    p = np.zeros((len(names), len(names)))
    for i, n in enumerate(names):
        for target, prob in s.stages[n].next.items():
            if target != "exit":
                p[i, names.index(target)] = prob
    return dict(zip(names, theory.traffic_equations(gamma, p).tolist(), strict=True))


def jackson(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    rates = jackson_rates(s)
    checks, total_l = [], 0.0
    for stage, lam in rates.items():
        st = s.stages[stage]
        if not isinstance(st.duration, Exponential):
            raise ValueError("a Jackson network needs exponential durations")
        mean, c = st.duration.expected(), servers(s, stage)
        number = lam * mean if math.isinf(c) else theory.mmc_number(lam, mean, int(c))
        total_l += number
        checks.append(
            Check.in_ci(
                f"{stage}: mean number present, occupancy_mean.{st.place}",
                number,
                kpi(res, f"occupancy_mean.{st.place}"),
            )
        )
        if not math.isinf(c):
            checks.append(
                Check.in_ci(
                    f"{stage}: mean wait per visit (min)",
                    theory.mmc_wait(lam, mean, int(c)),
                    kpi(res, f"wait_mean.{stage}"),
                )
            )
    checks.append(
        Check.in_ci(
            "mean total time in system (min)", total_l / arrival_rate(s), time_in_system(res, s)
        )
    )
    return checks


# -- rooms released on completion ------------------------------------------------------------
def jackson_rooms(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    """An open Jackson network of rooms given back when the activity ends (``release:
    on_completion``): between rooms the patient holds none, so no station blocks another and each
    is an M/M/c queue with c rooms, fed at its rate from the traffic equations (GSTH 4.1)."""
    rates = jackson_rates(s)
    checks, total = [], 0.0
    for stage, lam in rates.items():
        st = s.stages[stage]
        if not isinstance(st.duration, Exponential) or st.release != "on_completion":
            raise ValueError("rooms need exponential durations and release: on_completion")
        mean, c = st.duration.expected(), int(servers(s, stage))
        wq = theory.mmc_wait(lam, mean, c)
        total += lam * (wq + mean)
        checks += [
            Check.in_ci(
                f"{stage}: mean wait (min), wait_mean.{stage}", wq, kpi(res, f"wait_mean.{stage}")
            ),
            Check.in_ci(
                f"{stage}: mean rooms in use, occupancy_mean.{st.place}",
                lam * mean,
                kpi(res, f"occupancy_mean.{st.place}"),
            ),
            Check.in_ci(
                f"{stage}: mean number waiting, queue_mean.{st.place}",
                lam * wq,
                kpi(res, f"queue_mean.{st.place}"),
            ),
        ]
    checks.append(
        Check.in_ci(
            "mean total time in system (min)", total / arrival_rate(s), time_in_system(res, s)
        )
    )
    return checks


# -- stays by destination --------------------------------------------------------------------
def stay_by_next(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    """Stays that depend on where the patient goes next: Little's law for the place (mean number
    present = arrival rate x mean stay, the mean taken over destinations by their routing
    shares), and each destination's mean stay, from the visits that went there."""
    stage = spec["stage"]
    st = s.stages[stage]
    if st.place is None or st.next_by_class:
        raise ValueError(f"stage '{stage}' needs a place and one routing table")
    means = {t: st.duration_by_next.get(t, st.duration).expected() for t in st.next}
    lam = arrival_rate(s, first_stage=stage)
    checks = [
        Check.in_ci(
            f"mean number present (Little's law), occupancy_mean.{st.place}",
            lam * sum(p * means[t] for t, p in st.next.items()),
            kpi(res, f"occupancy_mean.{st.place}"),
        )
    ]
    v = visits(res).sort_values(["replication", "patient", "queued"], kind="stable")
    same = (v["replication"].shift(-1) == v["replication"]) & (
        v["patient"].shift(-1) == v["patient"]
    )
    v = v.assign(went=np.where(same, v["stage"].shift(-1).astype(object), "exit"))
    w0, w1 = window(s)
    mine = v[(v["stage"] == stage) & (v["started"] >= w0) & (v["started"] < w1)]
    mine = mine[mine["ended"].notna()]
    for target, mean in means.items():
        to = mine[mine["went"] == target]
        checks.append(
            Check.in_ci(
                f"mean stay (min) of patients going to {target}",
                mean,
                per_replication(res, to, to["ended"] - to["started"]),
            )
        )
    return checks


# -- priorities ------------------------------------------------------------------------------
def priority(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    stage = spec["stage"]
    if servers(s, stage) != 1:
        raise ValueError("the priority case needs one server")
    order = sorted(s.classes, key=lambda c: s.classes[c].priority)
    dists = [s.stages[stage].duration_for(c) for c in order]
    rates = [arrival_rate(s, patient_class=c) for c in order]
    waits = theory.cobham_waits(
        rates, [d.expected() for d in dists], [second_moment(d) for d in dists]
    )
    v = visits_starting_in_window(res, s, stage)
    checks = []
    for cls, w in zip(order, waits, strict=True):
        mine = v[v["class"] == cls]
        checks.append(
            Check.in_ci(
                f"mean wait (min), class {cls}",
                w,
                per_replication(res, mine, mine["started"] - mine["queued"]),
            )
        )
    return checks


# -- time-varying arrivals -------------------------------------------------------------------
def expected_arrivals_by_hour(s: Scenario) -> pd.DataFrame:
    """Expected arrivals in each whole hour of the measurement window: the integral of the
    rate per_day x weekday shape x hour shape x surge over the hour, written out from the
    scenario's definition."""
    w0, w1 = window(s)
    hours = np.arange(int(w0 // 60), int(w1 // 60))
    day = hours // 24
    dates = [s.start + pd.Timedelta(days=int(d)) for d in day]
    weekday = np.array([d.weekday() for d in dates])
    total = np.zeros(len(hours))
    for stream in s.arrivals.values():
        if stream.per_hour is not None:
            # Absolute hourly rates by weekday, scaled to per_day (equal to their own mean
            # unless the file gives both).
            rows = np.array([stream.per_hour_on.get(d, stream.per_hour) for d in WEEKDAYS])
            scale = stream.per_day / (rows.sum() / 7.0)
            surge = np.ones(len(hours))
            for sg in stream.surges.values():
                surge *= np.array([sg.factor if sg.start <= d <= sg.end else 1.0 for d in dates])
            total += rows[weekday, hours % 24] * scale * surge
            continue
        hp = np.asarray(stream.hourly_profile) / np.mean(stream.hourly_profile)
        wf = np.asarray(stream.weekday_factors) / np.mean(stream.weekday_factors)
        surge = np.ones(len(hours))
        for sg in stream.surges.values():
            surge *= np.array([sg.factor if sg.start <= d <= sg.end else 1.0 for d in dates])
        total += stream.per_day / 24.0 * wf[weekday] * hp[hours % 24] * surge
    return pd.DataFrame({"hour_of_day": hours % 24, "weekday": weekday, "expected": total})


def arrivals(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    exp = expected_arrivals_by_hour(s)
    v = visits(res)
    w0, w1 = window(s)
    first = v.groupby(["replication", "patient"], observed=True)["queued"].min()
    t = first[(first >= w0) & (first < w1)].to_numpy()
    hour = (t // 60).astype(int)
    days = [(s.start.weekday() + int(h // 24)) % 7 for h in hour]
    seen = pd.DataFrame({"hour_of_day": hour % 24, "weekday": days})
    reps = res.replications
    checks = [
        Check.in_ci(
            "arrivals in the window, arrivals", float(exp["expected"].sum()), kpi(res, "arrivals")
        )
    ]
    for by, labels in (
        ("hour_of_day", [f"{h:02d}:00" for h in range(24)]),
        ("weekday", list(WEEKDAYS)),
    ):
        want = exp.groupby(by)["expected"].sum() * reps
        got = seen.groupby(by).size().reindex(want.index, fill_value=0)
        chi2 = float((((got - want) ** 2) / want).sum())
        df = len(want)  # expected counts come from the scenario, not from the data
        check = Check.goodness_of_fit(
            f"counts by {by.replace('_', ' ')} ({len(labels)} cells, {reps} replications pooled)",
            chi2,
            df,
            float(stats.chi2.sf(chi2, df)),
        )
        worst = float(((got - want) / np.sqrt(want)).abs().max())
        check.simulated_text += f"; largest cell deviation {worst:.1f} sd"
        checks.append(check)
    return checks


# -- deterministic ---------------------------------------------------------------------------
def deterministic(s: Scenario, spec: Spec, res: Results) -> list[Check]:
    v = visits(res)
    g = v.groupby(["replication", "patient"], observed=True)
    per = pd.DataFrame(
        {
            "arrived": g["queued"].min(),
            "left": g["ended"].max(),
            "stages": g["stage"].nunique(),
            "open": v["ended"]
            .isna()
            .groupby([v["replication"], v["patient"]], observed=True)
            .any(),
        }
    )
    per = per[~per["open"]]
    tis = (per["left"] - per["arrived"]).to_numpy()
    admitted = (per["stages"] == 3).to_numpy()
    want = spec["time_in_system"]
    checks = [
        Check.exact("time in system (min), discharged from ED", want["discharged"], tis[~admitted]),
        Check.exact("time in system (min), admitted", want["admitted"], tis[admitted]),
        Check.exact(
            "time in department (min), time_in_department_mean",
            spec["time_in_department"],
            kpi(res, "time_in_department_mean"),
        ),
        Check.exact(
            "time in department (min), time_in_department_p95",
            spec["time_in_department"],
            kpi(res, "time_in_department_p95"),
        ),
        Check.exact("four_hour_pct", 100.0, kpi(res, "four_hour_pct")),
    ]
    for stage, st in s.stages.items():
        mine = v[(v["stage"] == stage) & v["ended"].notna()]
        # Fixed durations: the mean is the value; a delayed discharge (share 1) adds its delay.
        length = st.duration.expected() + (
            st.delayed_discharge.delay.expected() if st.delayed_discharge else 0.0
        )
        checks.append(
            Check.exact(
                f"{stage}: each visit, start to end (min)",
                length,
                (mine["ended"] - mine["started"]).to_numpy(),
            )
        )
    return checks


KINDS: dict[str, KindCheck] = {
    "mmc": mmc,
    "loss": loss,
    "mg1": mg1,
    "jackson": jackson,
    "jackson_rooms": jackson_rooms,
    "stay_by_next": stay_by_next,
    "priority": priority,
    "arrivals": arrivals,
    "deterministic": deterministic,
}
