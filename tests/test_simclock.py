"""The SimPy internals flowsim relies on (flowsim/simclock.py) are still there and behave as
relied on; if a SimPy release changes them, these tests fail with a message naming it."""

from __future__ import annotations

from importlib.metadata import version

import pytest
import simpy

from flowsim.simclock import Environment, SimPyChanged, Wake, check, events_scheduled


def test_installed_simpy_has_the_internals_flowsim_relies_on() -> None:
    try:
        check()
    except SimPyChanged as error:
        pytest.fail(str(error))


def test_a_changed_internal_is_reported_with_the_simpy_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = simpy.Environment.__init__

    def without_counter(self: simpy.Environment, initial_time: float = 0) -> None:
        made(self, initial_time)
        self._eid = iter(range(10**6))  # type: ignore[assignment]

    monkeypatch.setattr(simpy.Environment, "__init__", without_counter)
    with pytest.raises(SimPyChanged, match=f"SimPy {version('simpy')} changed .*_eid"):
        check()


def schedule(make: str) -> tuple[list[tuple[str, float]], int]:
    """Timeouts made with ``Wake`` or ``env.timeout``, some at the same time: the order they fire
    in and the number of events scheduled."""
    env = Environment()
    fired: list[tuple[str, float]] = []
    for name, delay in (("a", 3.0), ("b", 1.0), ("c", 3.0), ("d", 0.0), ("e", 1.0)):
        event = Wake(env, delay) if make == "wake" else env.timeout(delay)

        def note(_event: simpy.Event, name: str = name) -> None:
            fired.append((name, env.now))

        event.callbacks.append(note)
    env.run()
    return fired, events_scheduled(env)


def test_wake_fires_as_a_timeout_would() -> None:
    expected = [("d", 0.0), ("b", 1.0), ("e", 1.0), ("a", 3.0), ("c", 3.0)]
    assert schedule("wake") == schedule("timeout") == (expected, 5)


def test_environment_now_follows_the_clock() -> None:
    env = Environment(initial_time=2.0)
    seen: list[float] = []

    def walk() -> simpy.events.ProcessGenerator:
        seen.append(env.now)
        yield env.timeout(1.5)
        seen.append(env.now)

    env.process(walk())
    env.run()
    assert seen == [2.0, 3.5]
    assert isinstance(env, simpy.Environment)


def test_events_scheduled_counts_every_kind_of_event() -> None:
    env = Environment()
    env.timeout(1)
    env.event().succeed()
    Wake(env, 2)

    def nothing() -> simpy.events.ProcessGenerator:
        yield env.timeout(0)

    env.process(nothing())  # schedules its start now; its timeout and its end when run
    assert events_scheduled(env) == 4
    env.run()
    # The first reading used up a number; the run scheduled the timeout and the process's end.
    assert events_scheduled(env) == 4 + 1 + 2
