"""A progress bar for replications saying the time taken so far and an estimate of the time
left, removed once they are done."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from flowsim.experiment import Progress


def clock_text(seconds: float) -> str:
    """A duration as people read a stopwatch: ``45 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(done: int, total: int, elapsed: float) -> str:
    """What the bar says: replications done, time taken, and the time left if the rest go as
    fast as those done so far (no estimate before the first is done)."""
    text = f"{done} of {total} replications done · {clock_text(elapsed)} so far"
    if 0 < done < total:
        text += f" · about {clock_text(elapsed / done * (total - done))} left"
    elif done == 0:
        text += " · time left known after the first replication"
    return text


@contextmanager
def replication_progress(clock: Callable[[], float] = time.monotonic) -> Iterator[Progress]:
    """A ``progress(done, total)`` callback drawing a bar, for :func:`flowsim.experiment.run`."""
    started = clock()
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=progress_text(done, total, clock() - started))

    try:
        yield progress
    finally:
        bar.empty()
