"""Tiny SimPy stories for :class:`flowsim.resources.Pool`: who is granted a unit, and when.

Each story runs a few processes against one pool and checks a log of ``(who, when)`` grants, or
the pool's own change logs, against times worked out by hand.
"""

from __future__ import annotations

import math

import pytest
import simpy

from flowsim import simclock
from flowsim.resources import Pool


def user(
    env: simpy.Environment,
    pool: Pool,
    name: str,
    priority: int,
    arrive: float,
    hold: float,
    log: list[tuple[str, float]],
):
    """Arrive, take a unit (waiting if need be), hold it, give it back."""
    yield env.timeout(arrive)
    if not pool.try_acquire():
        yield pool.wait(priority)
    log.append((name, env.now))
    yield env.timeout(hold)
    pool.release()


def story(first_come: bool) -> list[tuple[str, float]]:
    # One unit, held 0-10 by "holder"; four requests queue behind it at t = 1..4.
    env = simpy.Environment()
    pool = Pool(env, "cubicle", 1, first_come=first_come)
    log: list[tuple[str, float]] = []
    env.process(user(env, pool, "holder", 5, 0, 10, log))
    for name, priority, arrive in (("a", 2, 1), ("b", 1, 2), ("c", 2, 3), ("d", 1, 4)):
        env.process(user(env, pool, name, priority, arrive, 10, log))
    env.run()
    return log


def test_priority_then_first_come_within_a_priority() -> None:
    # b and d (priority 1) before a and c (priority 2); within each, in order of asking.
    assert story(first_come=False) == [("holder", 0), ("b", 10), ("d", 20), ("a", 30), ("c", 40)]


def test_first_come_ignores_priority() -> None:
    assert story(first_come=True) == [("holder", 0), ("a", 10), ("b", 20), ("c", 30), ("d", 40)]


def test_same_time_same_priority_in_order_of_asking() -> None:
    env = simpy.Environment()
    pool = Pool(env, "bed", 1)
    log: list[tuple[str, float]] = []
    env.process(user(env, pool, "holder", 1, 0, 5, log))
    for name in ("x", "y", "z"):
        env.process(user(env, pool, name, 3, 1, 1, log))
    env.run()
    assert log == [("holder", 0), ("x", 5), ("y", 6), ("z", 7)]


def test_capacity_drop_does_not_evict_and_stops_new_grants() -> None:
    env = simpy.Environment()
    pool = Pool(env, "ward", 3)
    log: list[tuple[str, float]] = []
    for name, hold in (("p", 10), ("q", 20), ("r", 30)):
        env.process(user(env, pool, name, 1, 0, hold, log))
    env.process(user(env, pool, "late", 1, 1, 1, log))

    def close_two():
        yield env.timeout(5)
        pool.set_capacity(1)
        assert pool.in_use == 3  # nobody is taken out of their bed

    env.process(close_two())
    env.run()
    # "late" waits until use falls below the new capacity of 1: after all three have left.
    assert log == [("p", 0), ("q", 0), ("r", 0), ("late", 30)]
    assert pool.cap_time == [0.0, 5.0] and pool.cap_value == [3, 1]


def test_capacity_rise_grants_several_waiting_requests_at_once() -> None:
    env = simpy.Environment()
    pool = Pool(env, "beds", 1)
    log: list[tuple[str, float]] = []
    env.process(user(env, pool, "holder", 1, 0, 100, log))
    for i, name in enumerate(("a", "b", "c", "d")):
        env.process(user(env, pool, name, 1, 1 + i, 50, log))

    def open_three():
        yield env.timeout(10)
        pool.set_capacity(4)

    env.process(open_three())
    env.run()
    # Three free units at t = 10 go to a, b and c at once; d waits for the first to leave (60).
    assert log == [("holder", 0), ("a", 10), ("b", 10), ("c", 10), ("d", 60)]


def test_try_acquire_refuses_when_someone_is_waiting() -> None:
    env = simpy.Environment()
    pool = Pool(env, "x", 1)
    assert pool.try_acquire()
    pool.wait(1)
    pool.set_capacity(1)  # no change, still full
    assert pool.full and not pool.try_acquire()
    pool.capacity = 3  # a free unit, but a request is queued: it must not be overtaken
    assert pool.full and not pool.try_acquire()


def test_cancel_removes_a_waiting_request() -> None:
    env = simpy.Environment()
    pool = Pool(env, "cubicle", 1)
    log: list[tuple[str, float]] = []
    env.process(user(env, pool, "holder", 1, 0, 10, log))
    requests = {}

    def impatient():
        yield env.timeout(1)
        requests["req"] = req = pool.wait(1)
        yield req | env.timeout(3)
        assert not req.triggered
        pool.cancel(req)
        log.append(("gave up", env.now))

    env.process(impatient())
    env.process(user(env, pool, "patient", 2, 2, 1, log))
    env.run()
    assert log == [("holder", 0), ("gave up", 4), ("patient", 10)]
    assert not requests["req"].triggered
    assert pool.waiting == 0 and pool.in_use == 0


def test_cancel_of_a_granted_request_gives_the_unit_back() -> None:
    env = simpy.Environment()
    pool = Pool(env, "x", 1)
    req = pool.wait(1)
    pool.set_capacity(1)  # grants it
    assert req.triggered and pool.in_use == 1
    pool.cancel(req)
    assert pool.in_use == 0 and pool.waiting == 0


# The engine runs pools on flowsim.simclock.Environment, whose now is read another way.
@pytest.mark.parametrize("make_env", [simpy.Environment, simclock.Environment])
def test_logs_record_time_in_use_and_waiting(make_env: type[simpy.Environment]) -> None:
    env = make_env()
    pool = Pool(env, "resus", 1)
    log: list[tuple[str, float]] = []
    env.process(user(env, pool, "a", 1, 0, 4, log))
    env.process(user(env, pool, "b", 1, 1, 2, log))
    env.run()
    # t=0 a takes the unit; t=1 b queues; t=4 a leaves and b is granted; t=6 b leaves.
    assert list(zip(pool.log_time, pool.log_in_use, pool.log_waiting, strict=True)) == [
        (0.0, 0, 0),
        (0, 1, 0),
        (1, 1, 1),
        (4, 1, 0),
        (6, 0, 0),
    ]


def test_unlimited_pool_never_queues() -> None:
    env = simpy.Environment()
    pool = Pool(env, "waiting_room", math.inf)
    assert all(pool.try_acquire() for _ in range(10_000))
    assert pool.in_use == 10_000 and not pool.full


@pytest.mark.parametrize("first_come", [False, True])
def test_logs_replay_to_the_final_state(first_come: bool) -> None:
    env = simpy.Environment()
    pool = Pool(env, "x", 2, first_come=first_come)
    log: list[tuple[str, float]] = []
    for i in range(12):
        env.process(user(env, pool, f"p{i}", i % 3, i * 0.5, 3 + (i % 4), log))
    env.run()
    assert pool.log_in_use[-1] == 0 and pool.log_waiting[-1] == 0
    assert max(pool.log_in_use) == 2 and all(w >= 0 for w in pool.log_waiting)
    assert pool.log_time == sorted(pool.log_time)
