"""Named random streams: one independent generator per random process, per replication.

The stream called ``name`` in replication ``r`` of a run with master ``seed`` is seeded by
``SeedSequence(seed, spawn_key=(r, crc32(name)))``: the ``r``-th child of the master seed, and of
that the child numbered by the stream's name. Because the number comes from the name rather than
from the order streams are created, adding a stage or an arrival stream to a scenario leaves every
other stream's draws unchanged, so two scenarios run with the same seed differ only by the change
itself (common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

BLOCK = 4096


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for stream ``name`` in ``replication``."""
    key = (replication, zlib.crc32(name.encode("utf-8")))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class Draws:
    """Values from one stream, drawn in blocks of :data:`BLOCK` and handed out one at a time.

    Drawing in blocks is much faster than one call per value and gives the same sequence for a
    given stream whatever the block size, for distributions numpy samples element by element.
    """

    __slots__ = ("_rng", "_draw", "_buf", "_i")

    def __init__(
        self, rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]
    ):
        self._rng = rng
        self._draw = draw
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._draw(self._rng, BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


def uniforms(rng: np.random.Generator) -> Draws:
    """Uniform draws on [0, 1) from ``rng``."""
    return Draws(rng, lambda g, n: g.random(n))
