"""Duration distributions: small frozen objects with a known mean and a vectorised sampler.

Each is written in a scenario file as a mapping with a ``dist`` key (``{dist: lognormal, mean: 5d,
sd: 4d}``) or, for a fixed duration, as the bare duration (``15min``). Parameters are durations, so
``mean: 4h`` and ``mean: 240`` mean the same. Lognormal and gamma take a mean and a standard
deviation, the figures a length-of-stay table gives, rather than their shape parameters.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from .durations import DURATION_HINT, format_duration, parse_duration

MAX_CV = 100.0
"""The largest coefficient of variation (sd / mean) of a lognormal or gamma duration. Lengths
of stay have about 1 to 3; far beyond, the shape parameter underflows to zero."""
MAX_EMPIRICAL = 10_000
"""The most values of an empirical distribution (a histogram has tens)."""
MAX_PHASES = 1_000
"""The most phases of an Erlang distribution."""
MIN_SHAPE, MAX_SHAPE = 0.05, 100.0
"""The range of a Weibull or log-logistic shape: fitted lengths of stay have about 0.5 to 5;
outside the range the mean overflows or the draws are all but fixed."""

Minutes = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    Field(json_schema_extra={"description": DURATION_HINT}),
]
"""A duration in minutes, read from ``45min`` / ``4h`` / ``7d`` or a bare number of minutes."""


class _Dist(BaseModel, ABC):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @abstractmethod
    def expected(self) -> float:
        """The distribution's mean, in minutes."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent durations in minutes, drawn from ``rng``."""


class Fixed(_Dist):
    """Always the same duration."""

    dist: Literal["fixed"]
    value: Minutes

    def expected(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(_Dist):
    """Memoryless durations with the given mean (M in queueing notation)."""

    dist: Literal["exponential"]
    mean: Minutes

    def expected(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


class _MeanSd(_Dist):
    mean: Minutes
    sd: Minutes

    def expected(self) -> float:
        return self.mean

    @model_validator(mode="after")
    def _positive_mean(self) -> _MeanSd:
        if self.mean <= 0 and self.sd > 0:
            raise ValueError("mean must be above zero when sd is above zero")
        if self.sd > MAX_CV * self.mean:
            raise ValueError(
                f"sd is more than {MAX_CV:g} times the mean, beyond any real duration "
                "(and the shape parameter could not be computed)"
            )
        return self


class Lognormal(_MeanSd):
    """Right-skewed durations (lengths of stay), given by their mean and standard deviation."""

    dist: Literal["lognormal"]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sd == 0:
            return np.full(n, self.mean)
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_MeanSd):
    """Gamma durations given by mean and standard deviation (shape = (mean/sd)^2)."""

    dist: Literal["gamma"]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sd == 0:
            return np.full(n, self.mean)
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.mean / shape, n)


class Erlang(_Dist):
    """The sum of ``k`` exponential phases with the given overall mean."""

    dist: Literal["erlang"]
    k: int = Field(ge=1, le=MAX_PHASES, description=f"phases, at most {MAX_PHASES:,}")
    mean: Minutes

    def expected(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.k, self.mean / self.k, n)


class Triangular(_Dist):
    """Durations between ``low`` and ``high``, most often near ``mode``."""

    dist: Literal["triangular"]
    low: Minutes
    mode: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("triangular needs low <= mode <= high")
        return self

    def expected(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, n)


class Uniform(_Dist):
    """Durations equally likely anywhere between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("uniform needs low <= high")
        return self

    def expected(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Empirical(_Dist):
    """Durations drawn from observed values, with optional weights (e.g. a histogram's midpoints)."""  # noqa: E501

    dist: Literal["empirical"]
    values: list[Minutes] = Field(
        min_length=1, max_length=MAX_EMPIRICAL, description=f"at most {MAX_EMPIRICAL:,} values"
    )
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            total = sum(self.weights)
            if not math.isfinite(total):
                raise ValueError("weights add up to more than a number can hold; scale them down")
            if total <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w: np.ndarray = np.asarray(self.weights, dtype=float)
        return w / float(w.sum())

    def expected(self) -> float:
        p = self._p()
        return float(np.average(self.values, weights=p))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._p())


def _normal_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z, accurate far into the upper tail."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


class Normal(_Dist):
    """Symmetric durations around ``mean`` (a timed task). A draw below zero counts as zero, so
    the expected duration is that of the normal cut off at zero (a little above ``mean`` when
    ``sd`` is more than about a third of it)."""

    dist: Literal["normal"]
    mean: Minutes
    sd: Minutes

    def expected(self) -> float:
        if self.sd == 0:
            return max(self.mean, 0.0)
        # E[max(X, 0)] = mu Phi(mu / sigma) + sigma phi(mu / sigma) for X ~ N(mu, sigma^2).
        z = self.mean / self.sd
        return self.mean * (1.0 - _normal_sf(z)) + self.sd * _normal_pdf(z)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.maximum(rng.normal(self.mean, self.sd, n), 0.0)


class TruncatedNormal(_Dist):
    """A normal (``mean``, ``sd``) redrawn until at least ``low``: treat-sim's examination time,
    normal (16, 3) minutes truncated at 0.5, is ``{dist: truncated_normal, mean: 16min, sd: 3min,
    low: 0.5min}``. ``mean`` and ``sd`` are those of the normal before truncation."""

    dist: Literal["truncated_normal"]
    mean: Minutes
    sd: Minutes
    low: Minutes = Field(
        default=0.0, json_schema_extra={"description": "the shortest duration; " + DURATION_HINT}
    )

    @model_validator(mode="after")
    def _reachable(self) -> TruncatedNormal:
        if self.sd == 0 and self.mean < self.low:
            raise ValueError("with sd 0, mean must be at least low")
        if self.sd > 0 and _normal_sf((self.low - self.mean) / self.sd) < 1e-12:
            raise ValueError(
                "low is so far above mean (in sds) that almost no draw would reach it; "
                "check mean, sd and low"
            )
        return self

    def _tail(self) -> tuple[float, float]:
        """(alpha, Q): the cut-off in sds from the mean, and the share of the normal above it."""
        alpha = (self.low - self.mean) / self.sd
        return alpha, _normal_sf(alpha)

    def expected(self) -> float:
        if self.sd == 0:
            return self.mean
        # Mean of a normal truncated below at alpha sds: mu + sigma phi(alpha) / (1 - Phi(alpha)).
        alpha, q = self._tail()
        return self.mean + self.sd * _normal_pdf(alpha) / q

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sd == 0:
            return np.full(n, self.mean)
        from scipy.special import ndtri  # lazily: SciPy costs start-up time for every command

        # Inverse transform on the upper tail: one uniform per draw (so a stream's values do not
        # depend on the block size), and exact however far out the cut-off is.
        _, q = self._tail()
        u = 1.0 - rng.random(n)  # in (0, 1]
        x: np.ndarray = self.mean - self.sd * ndtri(u * q)
        out: np.ndarray = np.maximum(x, self.low)  # rounding at the cut-off itself
        return out


class Weibull(_Dist):
    """Weibull durations with ``shape`` k and ``scale`` (a common fit for lengths of stay):
    P(T > t) = exp(-(t / scale)^k). Mean: scale x Gamma(1 + 1/k)."""

    dist: Literal["weibull"]
    shape: float = Field(
        ge=MIN_SHAPE, le=MAX_SHAPE, description=f"k, from {MIN_SHAPE:g} to {MAX_SHAPE:g}"
    )
    scale: Minutes

    def expected(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, n)


class LogLogistic(_Dist):
    """Log-logistic durations with ``shape`` b (above 1) and ``scale`` (the median):
    P(T > t) = 1 / (1 + (t / scale)^b). Mean: scale x (pi / b) / sin(pi / b)."""

    dist: Literal["loglogistic"]
    shape: float = Field(
        gt=1.0,
        le=MAX_SHAPE,
        description=f"b, above 1 (at 1 or below the mean stay is infinite), at most {MAX_SHAPE:g}",
    )
    scale: Minutes

    def expected(self) -> float:
        t = math.pi / self.shape
        return self.scale * t / math.sin(t)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(n)
        with np.errstate(divide="ignore"):
            # Inverse of the distribution function; u = 0 gives 0, never reached in practice.
            return self.scale * (u / (1.0 - u)) ** (1.0 / self.shape)


def _shorthand(value: Any) -> Any:
    """A bare duration (``15min``, ``30``) is a fixed distribution."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


Distribution = Annotated[
    Annotated[
        Fixed
        | Exponential
        | Lognormal
        | Gamma
        | Erlang
        | Triangular
        | Uniform
        | Empirical
        | Normal
        | TruncatedNormal
        | Weibull
        | LogLogistic,
        Field(discriminator="dist"),
    ],
    BeforeValidator(_shorthand),
]
"""Any duration distribution, chosen by its ``dist`` key."""
