"""Normal, truncated normal, Weibull and log-logistic durations, and arrivals given per hour."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from flowsim.budget import estimate
from flowsim.distributions import Distribution
from flowsim.errors import FlowsimError
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario
from flowsim.schedules import arrival_times, hourly_rates

N = 400_000
ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


def dist(**spec: Any) -> Any:
    return ADAPTER.validate_python(spec)


# Each with its mean and variance in closed form, written from the textbook definitions (not
# from flowsim's code): scipy's distributions give the same figures independently.
CASES = [
    (
        {"dist": "normal", "mean": 30, "sd": 6},
        stats.norm(30, 6),  # a draw below zero is 5 sds away: the cut changes nothing visible
    ),
    (
        {"dist": "truncated_normal", "mean": 16, "sd": 3, "low": 0.5},
        stats.truncnorm((0.5 - 16) / 3, np.inf, loc=16, scale=3),
    ),
    (
        {"dist": "truncated_normal", "mean": 10, "sd": 8, "low": 0.5},
        stats.truncnorm((0.5 - 10) / 8, np.inf, loc=10, scale=8),
    ),
    ({"dist": "weibull", "shape": 1.5, "scale": 600}, stats.weibull_min(1.5, scale=600)),
    ({"dist": "weibull", "shape": 0.8, "scale": 20}, stats.weibull_min(0.8, scale=20)),
    ({"dist": "loglogistic", "shape": 4.5, "scale": 2880}, stats.fisk(4.5, scale=2880)),
]


@pytest.mark.parametrize(("spec", "truth"), CASES, ids=lambda x: str(x)[:40])
def test_sample_moments_match_closed_forms(spec: dict[str, Any], truth: Any) -> None:
    d = dist(**spec)
    assert d.expected() == pytest.approx(truth.mean(), rel=1e-7)  # normal: cut at zero
    x = d.sample(np.random.default_rng(20250106), N)
    assert x.min() >= 0
    # Mean within 4 standard errors (a false fail about 1 in 16,000 at this fixed seed).
    assert abs(x.mean() - truth.mean()) < 4 * truth.std() / math.sqrt(N)
    # Variance within 4 standard errors of the sample variance (its sd is about
    # sqrt(mu4 - sigma^4) / sqrt(N), mu4 estimated from the sample).
    mu4 = float(np.mean((x - x.mean()) ** 4))
    assert abs(x.var() - truth.var()) < 4 * math.sqrt(mu4 - x.var() ** 2) / math.sqrt(N)


def test_normal_below_zero_counts_as_zero() -> None:
    # mean 10, sd 10: 16% of draws would be negative; E[max(X, 0)] = mu Phi(1) + sigma phi(1).
    d = dist(dist="normal", mean=10, sd=10)
    want = 10 * stats.norm.cdf(1) + 10 * stats.norm.pdf(1)
    assert d.expected() == pytest.approx(want, rel=1e-12)
    x = d.sample(np.random.default_rng(1), N)
    assert x.min() == 0.0
    assert abs(x.mean() - want) < 4 * x.std() / math.sqrt(N)


def test_truncated_normal_never_below_its_cut_off() -> None:
    x = dist(dist="truncated_normal", mean=1, sd=5, low=0.5).sample(np.random.default_rng(2), N)
    assert x.min() >= 0.5


def test_durations_are_written_as_durations() -> None:
    assert dist(dist="weibull", shape=2, scale="1d").scale == 1440
    assert dist(dist="truncated_normal", mean="16min", sd="3min", low="0.5min").low == 0.5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dist": "loglogistic", "shape": 1, "scale": 10}, "greater than 1"),
        ({"dist": "weibull", "shape": 0, "scale": 10}, "greater than or equal to 0.05"),
        ({"dist": "truncated_normal", "mean": 1, "sd": 0.01, "low": 60}, "almost no draw"),
    ],
)
def test_impossible_parameters_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dist(**spec)


# -- arrivals per hour ------------------------------------------------------------------------
WEEKDAY = [2, 1, 1, 1, 1, 2, 4, 6, 10, 12, 12, 12, 11, 10, 10, 10, 9, 9, 9, 8, 7, 6, 4, 3]
SUNDAY = [3] * 24


def per_hour_scenario(stream: dict[str, Any], days: float = 14) -> Scenario:
    return load_scenario(
        copy.deepcopy(
            {
                "name": "hours",
                "start": "2025-01-06",  # a Monday
                "run": {"warmup": 0, "length": days * 1440},
                "classes": {"a": {}},
                "arrivals": {"s": {**stream, "class_mix": {"a": 1}, "first_stage": "see"}},
                "places": {"room": {"capacity": "unlimited"}},
                "stages": {"see": {"place": "room", "duration": 1}},
            }
        )
    )


def test_per_hour_rates_are_used_as_given() -> None:
    s = per_hour_scenario({"per_hour": WEEKDAY, "per_hour_on": {"Sun": SUNDAY}})
    stream = s.arrivals["s"]
    # per_day is the week's mean: six days of 160 and a Sunday of 72, over 7.
    assert sum(WEEKDAY) == 160
    assert stream.per_day == pytest.approx((6 * 160 + 72) / 7)
    rates = hourly_rates(s, stream) * 60  # arrivals an hour
    assert np.allclose(rates[:24], WEEKDAY)  # Monday
    assert np.allclose(rates[6 * 24 : 7 * 24], SUNDAY)  # Sunday
    assert np.allclose(rates[7 * 24 : 8 * 24], WEEKDAY)  # the next Monday


def test_per_day_given_with_per_hour_scales_the_rates() -> None:
    # As the demand lever writes it: 10% more than the hourly rates' own mean.
    s = per_hour_scenario({"per_hour": WEEKDAY, "per_day": 176})
    assert np.allclose(hourly_rates(s, s.arrivals["s"])[:24] * 60, np.asarray(WEEKDAY) * 1.1)


def test_per_hour_arrival_counts_match_the_rates() -> None:
    s = per_hour_scenario({"per_hour": WEEKDAY}, days=56)
    t = arrival_times(s, s.arrivals["s"], np.random.default_rng(3))
    want = 160 * 56
    assert abs(len(t) - want) < 4 * math.sqrt(want)  # a Poisson count
    at_four = ((t // 60) % 24 == 4).sum()  # 1 an hour at 04:00
    assert abs(at_four - 56) < 4 * math.sqrt(56)
    work = estimate(s, replications=1, patients=False)
    assert work.patients == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ({"per_hour": WEEKDAY, "hourly_profile": [1] * 24}, "cannot be given too"),
        ({"per_hour": [1] * 23}, "needs exactly 24 values; got 23"),
        ({"per_hour_on": {"Sun": SUNDAY}, "per_day": 10}, "'per_hour', which is missing"),
        ({}, "give 'per_day'"),
        ({"per_hour": WEEKDAY, "per_hour_on": {"Sun": [1, 2]}}, "Sun needs 24"),
    ],
)
def test_per_hour_mistakes_are_explained(stream: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowsimError, match=message):
        per_hour_scenario(stream)
