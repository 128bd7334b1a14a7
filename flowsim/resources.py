"""Capacity pools: places (cubicles, beds) and staff groups whose capacity can change over time.

A pool grants one unit at a time to requests ordered by clinical priority, then by the time the
request was made. Capacity may rise or fall while the simulation runs (a bed closure, the end of a
shift): a fall never takes a unit from whoever holds it, it only stops new grants until use is
back under the new capacity; a rise grants waiting requests at once.

Why not ``simpy.PriorityResource``: its capacity is fixed, it keeps its queue sorted by re-sorting
a list on every request, and it needs an event even when a unit is free. Here a free unit is taken
without an event, the queue is a heap, and every change of use, queue and capacity is appended to
a plain list, from which time-weighted occupancy is computed once, at the end of the run.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush

import simpy


class Pool:
    """A pool of ``capacity`` identical units (``math.inf`` for unlimited), granted by priority
    then request time, or by request time alone when ``first_come``."""

    __slots__ = (
        "env",
        "name",
        "capacity",
        "in_use",
        "_heap",
        "_seq",
        "waiting",
        "first_come",
        "log",
        "_note",
        "cap_time",
        "cap_value",
    )

    def __init__(
        self, env: simpy.Environment, name: str, capacity: float, first_come: bool = False
    ):
        self.env = env
        self.first_come = first_come
        self.name = name
        self.capacity = capacity
        self.in_use = 0
        self.waiting = 0
        self._heap: list[tuple[int, float, int, Request]] = []
        self._seq = 0
        self.log: list[float] = [0.0, 0, 0]
        """Every change, flat: time, units in use, requests waiting, time, in use, ..."""
        self._note = self.log.extend
        self.cap_time: list[float] = [0.0]
        self.cap_value: list[float] = [capacity]

    @property
    def full(self) -> bool:
        """True when a new request would have to wait."""
        return self.in_use >= self.capacity or self.waiting > 0

    @property
    def log_time(self) -> list[float]:
        return self.log[0::3]

    @property
    def log_in_use(self) -> list[int]:
        return [int(x) for x in self.log[1::3]]

    @property
    def log_waiting(self) -> list[int]:
        return [int(x) for x in self.log[2::3]]

    def _log(self) -> None:
        self._note((self.env.now, self.in_use, self.waiting))

    def try_acquire(self) -> bool:
        """Take a unit now if one is free and nobody is waiting; return whether it was taken."""
        if self.in_use < self.capacity and not self.waiting:
            self.in_use += 1
            self._note((self.env.now, self.in_use, 0))
            return True
        return False

    def wait(self, priority: int) -> Request:
        """Join the queue; the returned event fires when a unit is granted."""
        env = self.env
        event = Request(env)
        now = env.now
        heappush(self._heap, (0 if self.first_come else priority, now, self._seq, event))
        self._seq += 1
        self.waiting += 1
        self._note((now, self.in_use, self.waiting))
        return event

    def cancel(self, event: Request) -> None:
        """Withdraw a waiting request (the patient left); a granted one is released instead."""
        if event.triggered:
            self.release()
            return
        event.cancelled = True  # left in the heap, skipped when it reaches the top
        self.waiting -= 1
        self._log()

    def release(self) -> None:
        """Give a unit back and grant the next request if capacity allows."""
        self.in_use -= 1
        if self._heap:
            self._grant()
        self._note((self.env.now, self.in_use, self.waiting))

    def set_capacity(self, capacity: float) -> None:
        self.capacity = capacity
        self.cap_time.append(self.env.now)
        self.cap_value.append(capacity)
        if self._grant():
            self._log()

    def _grant(self) -> bool:
        granted = False
        heap = self._heap
        while heap and self.in_use < self.capacity:
            event = heappop(heap)[3]
            if event.cancelled:
                continue
            self.waiting -= 1
            self.in_use += 1
            event.succeed()
            granted = True
        return granted


class Request(simpy.Event):
    """A wait for one unit of a pool; ``cancelled`` once the patient has given up."""

    cancelled = False


UNLIMITED = math.inf
