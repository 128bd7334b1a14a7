"""The one place flowsim reaches into SimPy's private internals, and the check that they are there.

Everything else in flowsim uses SimPy's public API (``env.now``, ``env.timeout``, ``env.any_of``,
``Event.succeed``, ``Event.callbacks``). Three things here use private names, each because it has
no public spelling or because the public one costs a measurable share of a run (measured side by
side with ``benchmarks/run.py --only mmc``, on the M/M/c stage where a patient costs a few
microseconds):

- :func:`events_scheduled`: how many events a run scheduled, a cost measure for the benchmarks.
  SimPy numbers each event it schedules from the counter ``Environment._eid`` and offers no
  public count.
- :class:`Wake`: a timeout pushed straight onto ``Environment._queue``, for the two timeouts every
  patient needs (arrival and stage duration). It is the same queue entry
  :meth:`simpy.Environment.schedule` makes for ``env.timeout(delay)``, so the order of events and
  their number are the same; it skips :class:`simpy.Timeout`'s argument check and its call to
  ``schedule``, which cost about 6% of an M/M/c run.
- :class:`Environment`: :class:`simpy.Environment` whose public ``now`` is as quick to read as
  the private ``_now`` that SimPy's property returns: SimPy's ``Environment.now`` is a Python
  property, and calling it costs about 5% of an M/M/c run (the engine and the pools read the
  clock at every step and every change). Code that reads ``env.now`` works with either class.
  (A subclass also has to bind SimPy's event makers itself, as SimPy does only for its own class.)

:func:`check` confirms that the installed SimPy still has these internals and that they still
behave as relied on; ``tests/test_simclock.py`` runs it, so that a SimPy release that changes
them fails one test, with a message naming the version, rather than skewing results unnoticed.
The dependency is pinned below SimPy 5 for the same reason.
"""

from __future__ import annotations

from heapq import heappush
from importlib.metadata import version
from itertools import count

import simpy
from simpy.events import NORMAL

from .errors import FlowsimError

TESTED_WITH = "4.1"
"""The SimPy release series whose internals this module was written against."""

EVENT_MAKERS = ("event", "process", "timeout", "all_of", "any_of")
"""The :class:`simpy.Environment` methods that make events."""


class SimPyChanged(FlowsimError):
    """The installed SimPy no longer has the private internals flowsim relies on."""


class Environment(simpy.Environment):
    """A :class:`simpy.Environment` whose ``now`` is quicker to read: SimPy keeps the time in
    ``_now``, here a slot, and ``now`` is the same slot under its public name (set just below:
    a slot's descriptor exists only once the class is made), read without a call."""

    __slots__ = ("_now",)

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        # SimPy binds its event makers to each environment, to save making a bound method at
        # every call, but only those its own class defines (simpy.core.BoundClass.bind_early),
        # so a subclass binds them itself: without this, every env.timeout costs more.
        for name in EVENT_MAKERS:
            setattr(self, name, getattr(self, name))


Environment.now = vars(Environment)["_now"]  # type: ignore[method-assign]


def events_scheduled(env: simpy.Environment) -> int:
    """How many events ``env`` has scheduled so far. Reading it schedules nothing, but it uses up
    one event number, so call it once, at the end of a run."""
    return next(env._eid)


class Wake(simpy.Event):
    """A timeout of ``delay`` minutes (``delay >= 0``, not checked): the same queue entry
    ``env.timeout(delay)`` makes, made directly."""

    def __init__(self, env: simpy.Environment, delay: float):
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))


def check() -> None:
    """Raise :class:`SimPyChanged` unless the installed SimPy still has the internals this module
    relies on and they behave as described above."""
    simpy_version = version("simpy")

    def changed(what: str) -> SimPyChanged:
        return SimPyChanged(
            f"SimPy {simpy_version} changed something flowsim relies on ({what}); flowsim was "
            f"written against SimPy {TESTED_WITH}.x: see flowsim/simclock.py"
        )

    env = Environment(initial_time=5.0)
    if not isinstance(getattr(env, "_eid", None), count):
        raise changed("Environment._eid is no longer an itertools.count")
    if not isinstance(getattr(env, "_queue", None), list):
        raise changed("Environment._queue is no longer a list")
    if getattr(env, "_now", None) != 5.0 or env.now != 5.0:
        raise changed("Environment._now no longer holds the simulation time")
    first = events_scheduled(env)  # uses up one number
    timeout = env.timeout(2.0)
    if env._queue != [(7.0, NORMAL, first + 1, timeout)]:
        raise changed(
            "Environment.schedule no longer pushes (time, priority, event number, "
            "event) onto Environment._queue"
        )
    wake = Wake(env, 1.0)
    if events_scheduled(env) != first + 3:
        raise changed("Environment._eid no longer counts the events scheduled")
    fired: list[float] = []
    wake.callbacks.append(lambda _event: fired.append(env.now))
    timeout.callbacks.append(lambda _event: fired.append(env.now))
    env.run()
    if fired != [6.0, 7.0] or not (wake.ok and wake.value is None):
        raise changed(
            "an event pushed onto Environment._queue is no longer processed as a "
            "timeout at its time"
        )
    if wake.callbacks is not None or not wake.processed:
        raise changed("a processed event's callbacks are no longer set to None")
    if env.now != 7.0 or simpy.Environment.now.fget(env) != 7.0:
        raise changed("Environment._now no longer follows the simulation time")
    for name in EVENT_MAKERS:
        if not callable(getattr(simpy.Environment(), name, None)):
            raise changed(f"Environment.{name} is gone")
