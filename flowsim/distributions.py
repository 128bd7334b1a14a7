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


def _shorthand(value: Any) -> Any:
    """A bare duration (``15min``, ``30``) is a fixed distribution."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


Distribution = Annotated[
    Annotated[
        Fixed | Exponential | Lognormal | Gamma | Erlang | Triangular | Uniform | Empirical,
        Field(discriminator="dist"),
    ],
    BeforeValidator(_shorthand),
]
"""Any duration distribution, chosen by its ``dist`` key."""
