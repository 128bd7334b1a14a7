"""Named random streams: independent of creation order and of block size."""

from __future__ import annotations

import numpy as np

from flowsim import streams
from flowsim.streams import Draws, stream


def test_a_stream_depends_only_on_seed_replication_and_name() -> None:
    a = stream(1, 0, "duration.triage.P3").random(5)
    stream(1, 0, "something.else").random(100)  # creating others changes nothing
    assert np.array_equal(a, stream(1, 0, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(1, 1, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(2, 0, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(1, 0, "duration.triage.P4").random(5))


def test_a_stream_is_the_named_child_of_the_replication_seed() -> None:
    # Documented: SeedSequence(seed, spawn_key=(replication, crc32(name))).
    import zlib

    ss = np.random.SeedSequence(9, spawn_key=(3, zlib.crc32(b"routing.ward")))
    expected = np.random.Generator(np.random.PCG64(ss)).random(4)
    assert np.array_equal(stream(9, 3, "routing.ward").random(4), expected)


def test_draws_give_the_same_sequence_whatever_the_block_size(monkeypatch) -> None:
    def take(n: int) -> list[float]:
        d = Draws(stream(5, 0, "x"), lambda g, k: g.exponential(3.0, k))
        return [d() for _ in range(n)]

    big = take(50)
    monkeypatch.setattr(streams, "BLOCK", 7)
    assert take(50) == big
