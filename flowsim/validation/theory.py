"""Closed-form queueing results that the validation cases are checked against.

Every formula here is textbook material, written out from the sources named in each docstring:

- Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed. (Wiley, 2008),
  cited as GSTH: M/M/c (section 2.3), Erlang's loss formula (2.5), Jackson networks (4.1-4.2),
  M/G/1 (5.1).
- Kleinrock, *Queueing Systems, Volume 1: Theory* (Wiley, 1975): Pollaczek-Khinchine (5.6).
- Cobham, "Priority assignment in waiting line problems", *Operations Research* 2(1), 1954:
  mean waits under non-preemptive priority.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of an M/G/c/c loss system with offered load ``a`` (GSTH 2.5), by the
    stable recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)). Insensitive to the service
    distribution beyond its mean."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a = lambda / mu < c`` (GSTH 2.3):
    C = B / (1 - (a / c)(1 - B)) with B the Erlang B value."""
    if a >= c:
        raise ValueError(f"offered load {a} must be below the number of servers {c}")
    b = erlang_b(c, a)
    return b / (1.0 - (a / c) * (1.0 - b))


def mmc_wait(lam: float, mean_service: float, c: int) -> float:
    """Mean wait in queue of M/M/c: W_q = C(c, a) / (c mu - lambda) (GSTH 2.3)."""
    mu = 1.0 / mean_service
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_number(lam: float, mean_service: float, c: int) -> float:
    """Mean number present in M/M/c (waiting and in service): L = lambda (W_q + 1/mu)."""
    return lam * (mmc_wait(lam, mean_service, c) + mean_service)


def mmc_time_within(lam: float, mean_service: float, c: int, t: float) -> float:
    """P(T <= t) for the time in system T = W_q + S of M/M/c, first come first served.

    W_q is 0 with probability 1 - C and otherwise exponential with rate theta = c mu - lambda
    (GSTH 2.3); S is exponential with rate mu, independent of it. Convolving,
    P(T > t) = e^{-mu t} [1 + C (1 - e^{-(theta - mu) t}) / (c - 1 - a)], and
    e^{-mu t} (1 + C mu t) when theta = mu.
    """
    mu = 1.0 / mean_service
    a = lam / mu
    cw = erlang_c(c, a)
    theta = c * mu - lam
    if math.isclose(theta, mu):
        tail = math.exp(-mu * t) * (1.0 + cw * mu * t)
    else:
        tail = math.exp(-mu * t) * (1.0 + cw * (1.0 - math.exp(-(theta - mu) * t)) / (c - 1.0 - a))
    return 1.0 - tail


def pollaczek_khinchine_wait(lam: float, mean: float, second_moment: float) -> float:
    """Mean wait in queue of M/G/1: W_q = lambda E[S^2] / (2 (1 - rho)) (Kleinrock 5.6)."""
    rho = lam * mean
    if rho >= 1:
        raise ValueError(f"utilisation {rho} must be below 1")
    return lam * second_moment / (2.0 * (1.0 - rho))


def traffic_equations(external: Sequence[float] | np.ndarray, routing: np.ndarray) -> np.ndarray:
    """Total arrival rate at each station of an open Jackson network: lambda = gamma + lambda P,
    solved as lambda = gamma (I - P)^{-1} (GSTH 4.2). ``routing[i, j]`` is the probability of
    going from station i to station j."""
    p = np.asarray(routing, dtype=float)
    return np.linalg.solve((np.eye(len(p)) - p).T, np.asarray(external, dtype=float))


def cobham_waits(
    rates: Sequence[float], means: Sequence[float], second_moments: Sequence[float]
) -> list[float]:
    """Mean wait in queue per class of a single server with non-preemptive priority, class 0
    first (Cobham 1954; GSTH 3.4.1): W_k = W0 / ((1 - s_{k-1})(1 - s_k)), where
    W0 = sum_i lambda_i E[S_i^2] / 2 is the mean residual work found in service and s_k is the
    utilisation of classes 0..k."""
    w0 = sum(lam * m2 for lam, m2 in zip(rates, second_moments, strict=True)) / 2.0
    out, below = [], 0.0
    for lam, mean in zip(rates, means, strict=True):
        above = below + lam * mean
        out.append(w0 / ((1.0 - below) * (1.0 - above)))
        below = above
    return out
