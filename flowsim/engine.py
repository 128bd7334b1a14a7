"""The engine: one replication of one scenario as a SimPy simulation.

:class:`Model` builds its own SimPy environment, pools and processes from a frozen
:class:`~flowsim.scenario.Scenario` and leaves plain records behind (:class:`Records`); it holds no
global state, so any number of models can run side by side in one process.

Each patient walks the stages as a generator driven by SimPy events: the events the patient waits
for (a timeout, a grant from a pool) resume the generator from their callbacks, which does what a
SimPy process would without a process's start and end events per patient, and arrivals are one
chain of timeouts, each starting its patient and scheduling the next. (The few private parts of
SimPy this relies on for speed are kept in :mod:`flowsim.simclock`.) At each stage the patient

1. asks for the stage's place unless already in it, keeping the place they are in until the new one
   is granted (blocking: this is how exit block and ambulance handover delays arise); a stage with
   ``overflow`` sends the patient to its overflow stage instead when its place is full, and
   when every place along that chain is full the patient waits for whichever frees first; a
   stage with ``when_full: lost`` turns the patient away instead (they leave, counted as lost);
2. asks for one of the stage's staff, if any, and holds them for the stage's duration;
3. is routed to the next stage, or leaves; a patient leaving from a stage with delayed discharges
   or a discharge window first stays in their place until the delay has passed and the window
   lets them go.

A stage with ``release: on_completion`` (a room used for one activity) gives its place back when
its duration ends rather than when the next place is granted; the patient is then in the place
they came from (``return_to: previous``, kept throughout) or in none. A stage with
``duration_by_next`` draws the route when it starts and then the duration for that destination,
each destination from a stream of its own.

Patients of chosen classes may leave without being seen once they have waited their patience time
for a stage (the clock starts when they begin waiting for it). Arrivals are sampled before the run
(see :mod:`flowsim.schedules`); durations and routes come from named streams
(see :mod:`flowsim.streams`).
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_right
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from math import isnan
from typing import Any, NamedTuple

import numpy as np
import simpy

from .errors import FlowsimError
from .resources import UNLIMITED, Pool
from .scenario import ADMITTED_AREAS, EXIT, Scenario
from .schedules import DischargeClock, arrival_times, place_capacity, staff_capacity
from .simclock import Environment, Wake, events_scheduled
from .streams import Draws, stream, uniforms

NAN = math.nan
MAX_MOVES_AT_ONE_TIME = 1000
"""Stage moves one patient may make without the clock moving before the run is stopped."""


class ZeroTimeLoop(FlowsimError):
    """A patient keeps moving between stages without time passing (e.g. zero-length stages that
    route or overflow into each other while every place they could wait for is full)."""

    @classmethod
    def at(cls, stage: str, time: float) -> ZeroTimeLoop:
        # One message argument, so that it pickles back from worker processes unchanged.
        return cls(
            f"a patient moved between stages more than {MAX_MOVES_AT_ONE_TIME} times at minute "
            f"{time:g} without time passing (last at stage '{stage}'): zero-length stages route "
            "or overflow into each other; give one of them a duration or a place to wait for"
        )


@dataclass
class Records:
    """What one replication leaves behind: per patient, per visit, and per pool change."""

    scenario: Scenario
    replication: int
    horizon: float
    # Per patient (index = patient number, in order of arrival).
    arrival: np.ndarray
    stream: np.ndarray
    patient_class: np.ndarray
    ed_attendance: np.ndarray
    ed_departure: np.ndarray
    decision_to_admit: np.ndarray
    triage: np.ndarray
    clinician: np.ndarray
    handover: np.ndarray
    left: np.ndarray
    left_without_being_seen: np.ndarray
    # Per stage: waits summed over visits starting in the measurement window.
    stage_wait_sum: np.ndarray
    stage_wait_count: np.ndarray
    # Per class (row) and stage (column), visits starting in the window: waits summed, visits,
    # and visits that waited at all (for per-class waits and the share of visits that waited).
    class_wait_sum: np.ndarray
    class_wait_count: np.ndarray
    class_waited: np.ndarray
    delayed_minutes: float
    # Per pool: change logs (time, in use, waiting) and capacity steps.
    pools: dict[str, dict[str, np.ndarray]]
    visits: dict[str, np.ndarray] | None = None  # finished visits to stages
    # Visits under way at the end (ended is NaN; started too if still waiting), one per patient
    # still in the system, so that nobody is missing from the patient-visit table.
    open_visits: dict[str, np.ndarray] | None = None
    events: int = 0  # SimPy events scheduled in the run (a cost measure for benchmarks)
    # Per stage: patients turned away by ``when_full: lost``, arriving at it in the window.
    stage_lost: np.ndarray | None = None
    # Per patient: turned away by a stage with ``when_full: lost`` (one turned away before holding
    # any place is not an ED attendance).
    lost: np.ndarray | None = None


class _Visit(NamedTuple):
    """One patient's visit to one stage, as the run records it (see ``Records.visits``)."""

    patient: int
    stage: int
    place: int  # index into the scenario's places; -1 for a stage without one
    entered: float  # when granted the place held during the visit (NaN if none)
    queued: float  # when the patient began waiting for the stage
    started: float  # when place and staff were both granted; NaN if they gave up waiting
    ended: float  # when they moved on or left; NaN while under way


_visit: Callable[[tuple[int, int, int, float, float, float, float]], _Visit] = partial(
    tuple.__new__, _Visit
)
"""A :class:`_Visit` from a plain tuple of its fields: the same row, made without the call to the
``__new__`` that NamedTuple writes in Python (which adds 3% to a hospital-year recording visits)."""


_VISIT_DTYPES: dict[str, type] = {
    "patient": np.int64,
    "stage": np.int32,
    "place": np.int32,
    "entered": float,
    "queued": float,
    "started": float,
    "ended": float,
}


class _OpenVisit:
    """The visit a patient is making now, one per patient, updated as they go (cheaper than a new
    row at every step), so that whoever is still in the system at the end is recorded."""

    __slots__ = ("stage", "held", "entered", "queued", "started")

    stage: int
    held: Pool | None
    entered: float
    queued: float
    started: float  # NaN until place and staff are both granted


def _wait_options(chain: list[_Stage], held: Pool | None) -> list[_Stage]:
    """The stages of an overflow chain whose places a patient can wait for: one per place, not
    the place they are already in."""
    seen: set[int] = set()
    out = []
    for stage in chain:
        if stage.place is not None and stage.place is not held and id(stage.place) not in seen:
            seen.add(id(stage.place))
            out.append(stage)
    return out


class _Stage:
    __slots__ = (
        "index",
        "name",
        "place",
        "staff",
        "durations",
        "routes",
        "patience",
        "lwbs_classes",
        "overflow",
        "delay_share",
        "delay",
        "delay_u",
        "discharge",
        "milestone",
        "admits",
        "route_u",
        "marks",
        "outside_ed",
        "on_completion",
        "keep_previous",
        "lost",
        "by_next",
    )

    index: int
    name: str
    place: Pool | None
    staff: Pool | None
    durations: list[Draws]
    routes: list[tuple[list[int], list[float]]]
    patience: Draws | None
    lwbs_classes: frozenset[int]
    overflow: int | None
    delay_share: float
    delay: Draws | None
    delay_u: Draws | None
    discharge: DischargeClock | None
    milestone: str | None
    admits: bool
    route_u: Draws
    marks: list[float] | None  # the milestone times this stage sets (when first reached)
    outside_ed: bool  # the stage's place is outside the ED: entering it leaves the department
    on_completion: bool  # the place is given back when the duration ends
    keep_previous: bool  # ... and the place the patient came from is kept meanwhile
    lost: bool  # a patient finding the place full is turned away
    by_next: list[dict[int, Draws]] | None  # per class, durations by next stage (-1: exit)

    def next_stage(self, cls: int) -> int:
        """The stage a patient of class ``cls`` goes to from here: its index, or -1 to leave."""
        targets, cum = self.routes[cls]
        if not targets:
            return -1
        # The first target whose cumulative probability is above u (the last if rounding leaves
        # the cumulative sum just under 1).
        return targets[min(bisect_right(cum, self.route_u()), len(targets) - 1)]


class Model:
    """One replication of ``scenario`` with streams from ``seed``."""

    def __init__(
        self,
        scenario: Scenario,
        replication: int = 0,
        seed: int | None = None,
        record_visits: bool = False,
    ):
        self.scenario = scenario
        self.replication = replication
        self.seed = scenario.run.seed if seed is None else seed
        self.record_visits = record_visits
        self.env = Environment()
        self.warmup = scenario.run.warmup
        self.horizon = scenario.horizon
        self._build()

    def _rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, self.replication, name)

    # -- building -----------------------------------------------------------------------------
    def _build(self) -> None:
        s, env = self.scenario, self.env
        self.class_names = list(s.classes)
        self.priority = [s.classes[c].priority for c in self.class_names]
        self.pools: dict[str, Pool] = {}
        self._capacity_plans: list[tuple[Pool, np.ndarray, np.ndarray]] = []
        self.place_area: dict[str, str] = {}
        for name, place in s.places.items():
            times, caps = (
                (np.array([0.0]), np.array([UNLIMITED]))
                if place.unlimited
                else place_capacity(s, place)
            )
            pool = Pool(env, name, float(caps[0]), first_come=place.queue == "first_come")
            self.pools[name] = pool
            self.place_area[name] = place.area
            if len(times) > 1:
                self._capacity_plans.append((pool, times[1:], caps[1:]))
        self.staff_pools: dict[str, Pool] = {}
        for name, staff in s.staff.items():
            times, caps = staff_capacity(s, staff)
            pool = Pool(env, name, float(caps[0]))
            self.staff_pools[name] = pool
            if len(times) > 1:
                self._capacity_plans.append((pool, times[1:], caps[1:]))

        self.stage_names = list(s.stages)
        index = {n: i for i, n in enumerate(self.stage_names)}
        self.stages: list[_Stage] = []
        start_wd = s.start.weekday()
        for i, name in enumerate(self.stage_names):
            spec = s.stages[name]
            st = _Stage()
            st.index, st.name = i, name
            st.place = self.pools[spec.place] if spec.place else None
            st.staff = self.staff_pools[spec.staff] if spec.staff else None
            st.durations = [
                Draws(self._rng(f"duration.{name}.{c}"), spec.duration_for(c).sample)
                for c in self.class_names
            ]
            st.route_u = uniforms(self._rng(f"routing.{name}"))
            st.routes = []
            for c in self.class_names:
                routing = spec.routing_for(c)
                targets = [index[t] if t != EXIT else -1 for t in routing]
                cum = np.cumsum(list(routing.values())).tolist()
                st.routes.append((targets, cum))
            lw = spec.leave_without_being_seen
            st.lwbs_classes = (
                frozenset(self.class_names.index(c) for c in lw.classes) if lw else frozenset()
            )
            st.patience = Draws(self._rng(f"patience.{name}"), lw.patience.sample) if lw else None
            st.overflow = index[spec.overflow] if spec.overflow else None
            dd = spec.delayed_discharge
            st.delay_share = dd.share if dd else 0.0
            st.delay = Draws(self._rng(f"delay.{name}"), dd.delay.sample) if dd else None
            st.delay_u = uniforms(self._rng(f"delayed.{name}")) if dd else None
            st.discharge = (
                DischargeClock(spec.discharge_window, start_wd, self._rng(f"discharge.{name}"))
                if spec.discharge_window
                else None
            )
            st.milestone = spec.milestone
            st.admits = bool(spec.place and s.places[spec.place].area in ADMITTED_AREAS)
            st.on_completion = spec.release == "on_completion"
            st.keep_previous = st.on_completion and spec.return_to == "previous"
            # A patient who keeps the place they came from has not left it (nor the ED).
            st.outside_ed = bool(
                spec.place and s.places[spec.place].area != "ed" and not st.keep_previous
            )
            st.lost = spec.when_full != "wait"
            # One stream per class and destination, listed or not: a change to one
            # destination's stays leaves every other patient's draws where they were (common
            # random numbers).
            st.by_next = None
            if spec.duration_by_next:
                st.by_next = []
                for c in self.class_names:
                    ends = set(spec.routing_for(c)) or {EXIT}
                    st.by_next.append(
                        {
                            (index[t] if t != EXIT else -1): Draws(
                                self._rng(f"duration.{name}.{c}.to.{t}"),
                                spec.duration_by_next.get(t, spec.duration_for(c)).sample,
                            )
                            for t in sorted(ends)
                        }
                    )
            self.stages.append(st)

        # Arrivals: every stream sampled for the whole run, then merged in time order.
        stream_times: list[np.ndarray] = []
        streams: list[np.ndarray] = []
        classes: list[np.ndarray] = []
        self.stream_names = list(s.arrivals)
        self.first_stage: list[int] = []
        self.ed_stream: list[bool] = []
        self.handover_stream: list[bool] = []
        for k, (name, arr) in enumerate(s.arrivals.items()):
            t = arrival_times(s, arr, self._rng(f"arrivals.{name}"))
            mix = np.array([arr.class_mix.get(c, 0.0) for c in self.class_names])
            cls = self._rng(f"class.{name}").choice(len(mix), size=len(t), p=mix / mix.sum())
            stream_times.append(t)
            streams.append(np.full(len(t), k, dtype=np.int16))
            classes.append(cls.astype(np.int16))
            first = index[arr.first_stage]
            self.first_stage.append(first)
            fplace = s.stages[arr.first_stage].place
            self.ed_stream.append(
                arr.handover or (fplace is not None and s.places[fplace].area == "ed")
            )
            self.handover_stream.append(arr.handover)
        t_all = np.concatenate(stream_times) if stream_times else np.empty(0)
        order = np.argsort(t_all, kind="stable")
        self.arrival = t_all[order]
        self.arrival_stream = np.concatenate(streams)[order] if streams else np.empty(0, np.int16)
        self.arrival_class = np.concatenate(classes)[order] if classes else np.empty(0, np.int16)

        n = len(self.arrival)
        self.ed_departure = [NAN] * n
        self.dta = [NAN] * n
        self.triage = [NAN] * n
        self.clinician = [NAN] * n
        self.handover = [NAN] * n
        self.left = [NAN] * n
        self.lwbs = [False] * n
        self.lost = [False] * n
        self.turned_away_at_door: set[int] = set()
        self.lost_count = [0] * len(s.stages)
        marks = {"triage": self.triage, "clinician": self.clinician, "handover": self.handover}
        for st in self.stages:
            st.marks = None if st.milestone is None else marks[st.milestone]
        self.wait_sum = [0.0] * len(self.stages)
        self.class_wait_sum = [[0.0] * len(self.stages) for _ in self.class_names]
        self.class_wait_count = [[0] * len(self.stages) for _ in self.class_names]
        self.class_waited = [[0] * len(self.stages) for _ in self.class_names]
        self.delayed_minutes = 0.0
        self.delays_running: dict[int, float] = {}
        self.open_visits: dict[int, _OpenVisit] = {}
        self.visits: list[_Visit] | None = [] if self.record_visits else None
        self.place_index = {name: i for i, name in enumerate(self.pools)}
        # A visit's place as recorded: the place's index, -1 for none.
        self.place_number: dict[Pool | None, int] = {
            pool: i for i, pool in enumerate(self.pools.values())
        }
        self.place_number[None] = -1

    # -- processes ----------------------------------------------------------------------------
    def _start_arrivals(self) -> None:
        """Schedule the arrivals as a chain of timeouts, each starting its patient's journey and
        scheduling the next arrival: one event per arrival, and no process."""
        env = self.env
        patient = self._patient
        arrival = self.arrival.tolist()
        stream_of = self.arrival_stream.tolist()
        class_of = self.arrival_class.tolist()
        n = len(arrival)
        nxt = 0

        def arrive(_event: simpy.Event | None) -> None:
            nonlocal nxt
            now = env.now
            while nxt < n and arrival[nxt] <= now:
                pid = nxt
                nxt += 1
                _Journey(patient(pid, stream_of[pid], class_of[pid], arrival[pid]))
            if nxt < n:
                Wake(env, arrival[nxt] - now).callbacks.append(arrive)

        if n:
            Wake(env, arrival[0]).callbacks.append(arrive)

    def _capacity_plan(
        self,
        pool: Pool,
        times: np.ndarray,
        caps: np.ndarray,
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for t, c in zip(times.tolist(), caps.tolist(), strict=True):
            yield env.timeout(t - env.now)
            pool.set_capacity(c)

    def _patient(
        self,
        pid: int,
        stream_k: int,
        cls: int,
        arrived: float,
    ) -> Generator[simpy.Event, Any, None]:
        """One patient's walk: at each stage take a place, take staff, be seen, be routed; leave
        when routed out, or at once, unseen, on giving up a wait."""
        env = self.env
        stages = self.stages
        priority = self.priority[cls]
        warmup = self.warmup
        in_ed = self.ed_stream[stream_k]
        held: Pool | None = None
        entered = NAN  # when the patient was granted the place they hold
        visits = self.visits
        visit = None if visits is None else _OpenVisit()  # the visit under way, if recorded
        if visit is not None:
            self.open_visits[pid] = visit
        wait_sum = self.wait_sum
        my_wait_sum = self.class_wait_sum[cls]
        my_wait_count = self.class_wait_count[cls]
        my_waited = self.class_waited[cls]
        st = stages[self.first_stage[stream_k]]
        last_time, moves = -1.0, 0
        seen = True
        lost = False
        activity: Pool | None = None  # a place held only for the stage's duration
        activity_from = NAN
        while True:
            queued = env.now
            if queued == last_time:
                moves += 1
                if moves > MAX_MOVES_AT_ONE_TIME:
                    raise ZeroTimeLoop.at(st.name, queued)
            else:
                last_time, moves = queued, 0
            chain = None
            if st.overflow is not None and st.place is not held:
                chain = self._overflow_chain(st)
                st = chain[-1]
            deadline = None
            if st.patience is not None and cls in st.lwbs_classes:
                deadline = queued + st.patience()
            if visit is not None:
                visit.stage, visit.held, visit.entered = st.index, held, entered
                visit.queued, visit.started = queued, NAN

            # Take the stage's place, keeping the one held until the new one is granted.
            place = st.place
            if place is not None and place is not held:
                if not place.try_acquire():
                    if st.lost:
                        lost = True
                        break
                    got = yield from self._wait_for_place(st, chain, held, priority, deadline)
                    if got is None:
                        seen = False
                        break
                    st = got
                    place = st.place
                if in_ed and st.admits and isnan(self.dta[pid]):
                    self.dta[pid] = queued  # the decision to admit was made when routed here
                if st.on_completion:
                    activity, activity_from = place, env.now
                    if held is not None and not st.keep_previous:
                        held.release()
                        held, entered = None, NAN
                    if visit is not None:
                        visit.stage, visit.held, visit.entered = st.index, activity, activity_from
                else:
                    if held is not None:
                        held.release()
                    held = place
                    entered = env.now
                    if visit is not None:  # in their new place, perhaps waiting for staff
                        visit.stage, visit.held, visit.entered = st.index, held, entered
                if in_ed and st.outside_ed:
                    in_ed = False
                    self.ed_departure[pid] = env.now

            # Take one of the stage's staff.
            staff = st.staff
            if staff is not None and not staff.try_acquire():
                if deadline is None:
                    yield staff.wait(priority)
                elif not (yield from self._wait(staff, priority, deadline)):
                    seen = False
                    break

            # Be seen.
            started = env.now
            if visit is not None:
                visit.started = started
            if started >= warmup:
                wait = started - queued
                i = st.index
                wait_sum[i] += wait
                my_wait_sum[i] += wait
                my_wait_count[i] += 1  # summed over classes, the stage's count
                if wait > 0:
                    my_waited[i] += 1
            marks = st.marks
            if marks is not None and isnan(marks[pid]):
                marks[pid] = started
            by_next = st.by_next
            if by_next is None:
                duration = st.durations[cls]()
            else:  # where they go next decides how long they stay
                nxt = st.next_stage(cls)
                duration = by_next[cls][nxt]()
            if duration > 0:
                yield Wake(env, duration)
            if staff is not None:
                staff.release()
            used, used_from = held, entered  # the place recorded for the visit
            if activity is not None:
                used, used_from = activity, activity_from
                activity.release()
                activity = None

            # Be routed on or out; delays and discharge windows hold only patients leaving.
            if by_next is None:
                nxt = st.next_stage(cls)
            if nxt < 0 and (st.delay is not None or st.discharge is not None):
                yield from self._hold_until_discharged(pid, st)
            if visits is not None:
                visits.append(
                    _visit(
                        (
                            pid,
                            st.index,
                            self.place_number[used],
                            used_from,
                            queued,
                            started,
                            env.now,
                        )
                    )
                )
            if nxt < 0:
                break
            st = stages[nxt]

        now = env.now
        if not seen or lost:
            if visits is not None:  # the visit they gave up on or were turned away from
                used, used_from = (held, entered) if activity is None else (activity, activity_from)
                visits.append(
                    _visit((pid, st.index, self.place_number[used], used_from, queued, NAN, now))
                )
            if lost:
                self.lost[pid] = True
                if held is None:  # turned away at the door: never in the department
                    self.turned_away_at_door.add(pid)
                if queued >= warmup:
                    self.lost_count[st.index] += 1
            else:
                self.lwbs[pid] = True
        if activity is not None:  # gave up waiting for staff in a room held for the stage
            activity.release()
        if held is not None:
            held.release()
        if in_ed:
            self.ed_departure[pid] = now
        self.left[pid] = now

    def _overflow_chain(self, st: _Stage) -> list[_Stage]:
        """``st`` and the overflow stages after it, up to the first whose place is free (or the
        last, if all are full). (A stage with an overflow names a place.)"""
        chain = [st]
        while st.overflow is not None and st.place is not None and st.place.full:
            st = self.stages[st.overflow]
            chain.append(st)
        return chain

    def _wait_for_place(
        self,
        st: _Stage,
        chain: list[_Stage] | None,
        held: Pool | None,
        priority: int,
        deadline: float | None,
    ) -> Generator[simpy.Event, Any, _Stage | None]:
        """Wait for the place of ``st``, or along its overflow ``chain`` for whichever place frees
        first. Returns the stage whose place was granted, or None if the patient gave up."""
        options = _wait_options(chain, held) if chain else [st]
        if len(options) > 1:
            return (yield from self._wait_any(options, priority, deadline))
        assert st.place is not None
        if deadline is None:
            yield st.place.wait(priority)
            return st
        granted = yield from self._wait(st.place, priority, deadline)
        return st if granted else None

    def _wait(
        self,
        pool: Pool,
        priority: int,
        deadline: float | None,
    ) -> Generator[simpy.Event, Any, bool]:
        """Queue for ``pool``; give up at ``deadline`` (if any). Returns whether it was granted."""
        request = pool.wait(priority)
        if deadline is None:
            yield request
            return True
        yield request | self.env.timeout(max(deadline - self.env.now, 0.0))
        if request.triggered:
            return True
        pool.cancel(request)
        return False

    def _wait_any(
        self,
        options: list[_Stage],
        priority: int,
        deadline: float | None,
    ) -> Generator[simpy.Event, Any, _Stage | None]:
        """Queue for the places of several stages at once; keep the first granted (the earlier
        in ``options`` if two come at the same moment) and withdraw the rest. Returns the stage
        whose place was granted, or None if the patient gave up at ``deadline``."""
        pools = [o.place for o in options]
        requests = [p.wait(priority) for p in pools]  # type: ignore[union-attr]
        events: list[simpy.Event] = list(requests)
        if deadline is not None:
            events.append(self.env.timeout(max(deadline - self.env.now, 0.0)))
        yield self.env.any_of(events)
        chosen = None
        for option, pool, request in zip(options, pools, requests, strict=True):
            if chosen is None and request.triggered:
                chosen = option
            else:
                pool.cancel(request)  # type: ignore[union-attr]
        return chosen

    def _hold_until_discharged(self, pid: int, st: _Stage) -> Generator[simpy.Event, Any, None]:
        """Keep a patient leaving ``st`` in their place through a delayed discharge (for the
        stage's share of patients) and then until the discharge window lets them go."""
        env = self.env
        # delay and delay_u are both set (delayed discharges) or both None.
        if st.delay is not None and st.delay_u is not None and st.delay_u() < st.delay_share:
            extra = st.delay()
            if extra > 0:
                delay_start = env.now
                self.delays_running[pid] = delay_start
                yield env.timeout(extra)
                del self.delays_running[pid]
                self.delayed_minutes += max(0.0, env.now - max(delay_start, self.warmup))
        if st.discharge is not None:
            leave_at = st.discharge.leave_time(env.now)
            if leave_at > env.now:
                yield env.timeout(leave_at - env.now)

    # -- running ------------------------------------------------------------------------------
    def run(self) -> Records:
        env = self.env
        self._start_arrivals()
        for pool, times, caps in self._capacity_plans:
            env.process(self._capacity_plan(pool, times, caps))
        # The run makes almost no reference cycles (a few SimPy conditions), but allocates
        # millions of small objects, each batch of which would wake the cyclic garbage
        # collector to traverse everything alive: pausing it saves about a tenth of the run.
        # The pause lasts until the records are made: the collector would traverse every visit
        # row each time (it never stops tracking rows of a tuple subclass such as _Visit).
        collecting = gc.isenabled()
        gc.disable()
        try:
            env.run(until=self.horizon)
            # Delays still running at the end count up to the end; visits still under way are
            # kept with no end time, so nobody in the system at the end is missing from the
            # records.
            for start in self.delays_running.values():
                self.delayed_minutes += max(0.0, self.horizon - max(start, self.warmup))
            return self._records(events=events_scheduled(env))
        finally:
            if collecting:
                gc.enable()

    def _records(self, events: int) -> Records:
        f = np.asarray
        pools: dict[str, dict[str, np.ndarray]] = {}
        for kind, group in (("place", self.pools), ("staff", self.staff_pools)):
            for name, pool in group.items():
                log = np.array(pool.log, dtype=float).reshape(-1, 3)  # see Pool.log
                pools[name] = {
                    "kind": np.array(kind),
                    "time": log[:, 0].copy(),
                    "in_use": log[:, 1].astype(np.int32),
                    "waiting": log[:, 2].astype(np.int32),
                    "cap_time": f(pool.cap_time, dtype=float),
                    "cap_value": f(pool.cap_value, dtype=float),
                }
        visits = open_visits = None
        if self.visits is not None:
            open_visits = self._visit_arrays(
                [
                    _Visit(
                        pid, v.stage, self.place_number[v.held], v.entered, v.queued, v.started, NAN
                    )
                    for pid, v in self.open_visits.items()
                    if isnan(self.left[pid])
                ]
            )
            visits = self._visit_arrays(self.visits)

        ed_streams = np.asarray(self.ed_stream, dtype=bool)
        class_wait_count = f(self.class_wait_count, dtype=np.int64).reshape(-1, len(self.stages))
        hand_streams = np.asarray(self.handover_stream, dtype=bool)
        ed_attendance = ed_streams[self.arrival_stream] if len(ed_streams) else np.zeros(0, bool)
        if self.turned_away_at_door:  # a patient turned away at the door never attended
            ed_attendance[list(self.turned_away_at_door)] = False
        return Records(
            scenario=self.scenario,
            replication=self.replication,
            horizon=self.horizon,
            arrival=self.arrival,
            stream=self.arrival_stream,
            patient_class=self.arrival_class,
            ed_attendance=ed_attendance,
            ed_departure=f(self.ed_departure),
            decision_to_admit=f(self.dta),
            triage=f(self.triage),
            clinician=f(self.clinician),
            handover=np.where(hand_streams[self.arrival_stream], f(self.handover), NAN)
            if len(hand_streams)
            else f(self.handover),
            left=f(self.left),
            left_without_being_seen=f(self.lwbs, dtype=bool),
            stage_wait_sum=f(self.wait_sum),
            stage_wait_count=class_wait_count.sum(axis=0),
            class_wait_sum=f(self.class_wait_sum, dtype=float).reshape(-1, len(self.stages)),
            class_wait_count=class_wait_count,
            class_waited=f(self.class_waited, dtype=np.int64).reshape(-1, len(self.stages)),
            delayed_minutes=self.delayed_minutes,
            pools=pools,
            visits=visits,
            open_visits=open_visits,
            events=events,
            stage_lost=f(self.lost_count, dtype=float),
            lost=f(self.lost, dtype=bool),
        )

    @staticmethod
    def _visit_arrays(v: list[_Visit]) -> dict[str, np.ndarray]:
        columns = list(zip(*v, strict=True)) if v else [()] * len(_Visit._fields)
        return {
            name: np.asarray(column, dtype=_VISIT_DTYPES[name])
            for name, column in zip(_Visit._fields, columns, strict=True)
        }


class _Journey:
    """Walks a patient's generator along the SimPy events it yields, resuming it from each event's
    callbacks. This does what ``env.process`` does for the few kinds of event a patient waits for
    (timeouts, pool grants and any-of conditions, none of which fail) without a Process and its
    start and end events, which would more than double the events per patient. An exception in a
    patient's step propagates out of ``env.run``. (A class rather than a closure: a closure that
    registers itself is a reference cycle, left for the garbage collector, per patient.)"""

    __slots__ = ("_send",)

    def __init__(self, steps: Generator[simpy.Event, Any, None]):
        self._send = steps.send
        self.resume(None)

    def resume(self, _event: simpy.Event | None) -> None:
        send = self._send
        try:
            event = send(None)
            # SimPy sets an event's callbacks to None once it is processed (what Event.processed
            # tests; spelt out here, where calling the property costs a few per cent of a run).
            while event.callbacks is None:  # already processed: carry on at once
                event = send(None)
        except StopIteration:
            return
        event.callbacks.append(self.resume)


def simulate(
    scenario: Scenario, replication: int = 0, seed: int | None = None, record_visits: bool = False
) -> Records:
    """Run one replication and return its records."""
    return Model(scenario, replication, seed, record_visits).run()
