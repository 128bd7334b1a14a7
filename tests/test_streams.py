"""Named random streams: keyed by seed, replication and name; one of its own for every random
process of a model; the same sequence whatever the block size."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from flowsim import engine, streams
from flowsim.loader import load_scenario
from flowsim.streams import Draws, stream

from .shared import SCENARIO_FILES, SCENARIOS


def test_a_stream_depends_only_on_seed_replication_and_name() -> None:
    a = stream(1, 0, "duration.triage.P3").random(5)
    assert np.array_equal(a, stream(1, 0, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(1, 1, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(2, 0, "duration.triage.P3").random(5))
    assert not np.array_equal(a, stream(1, 0, "duration.triage.P4").random(5))


def test_streams_drawn_in_turn_give_what_each_gives_alone() -> None:
    # The engine draws from many streams interleaved, in an order that any change to the
    # scenario shifts; each stream's sequence must not depend on that order.
    alone = {name: stream(1, 0, name).random(20) for name in ("routing.triage", "arrivals.x")}
    live = {name: stream(1, 0, name) for name in alone}
    interleaved: dict[str, list[float]] = {name: [] for name in alone}
    for i in range(20):
        for name in list(alone) if i % 3 else reversed(list(alone)):
            interleaved[name].append(float(live[name].random()))
    for name, values in alone.items():
        assert interleaved[name] == values.tolist()


def test_a_stream_is_the_named_child_of_the_replication_seed() -> None:
    # Documented: the replication-th child of the master seed, and of that the child numbered
    # by the crc32 of the stream's name.
    replication = np.random.SeedSequence(9).spawn(4)[3]
    ss = np.random.SeedSequence(
        replication.entropy, spawn_key=(*replication.spawn_key, zlib.crc32(b"routing.ward"))
    )
    expected = np.random.Generator(np.random.PCG64(ss)).random(4)
    assert np.array_equal(stream(9, 3, "routing.ward").random(4), expected)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_every_random_process_of_a_model_has_a_stream_of_its_own(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes sharing a name, or two names sharing a crc32, would draw the same numbers:
    # perfectly correlated durations or routes, which no check on means would notice.
    names: list[str] = []

    def spy(seed: int, replication: int, name: str) -> np.random.Generator:
        names.append(name)
        return stream(seed, replication, name)

    monkeypatch.setattr(engine, "stream", spy)
    scenario = load_scenario(path)
    engine.Model(scenario)
    # At least a duration and a routing stream for every stage, and arrivals for every stream.
    assert len(names) >= 2 * len(scenario.stages) + len(scenario.arrivals)
    assert len(set(names)) == len(names)
    assert len({zlib.crc32(n.encode("utf-8")) for n in names}) == len(names)


def test_draws_give_the_same_sequence_whatever_the_block_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks: list[int] = []

    def take(n: int) -> list[float]:
        def draw(g: np.random.Generator, k: int) -> np.ndarray:
            blocks.append(k)
            return g.exponential(3.0, k)

        d = Draws(stream(5, 0, "x"), draw)
        return [d() for _ in range(n)]

    big = take(50)
    assert big == stream(5, 0, "x").exponential(3.0, 50).tolist()  # as one call would give
    blocks.clear()
    monkeypatch.setattr(streams, "BLOCK", 7)
    assert take(50) == big
    assert blocks == [7] * 8  # the small blocks were really used
