"""A progress bar for replications, removed once they are done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from flowsim.experiment import Progress


@contextmanager
def replication_progress() -> Iterator[Progress]:
    """A ``progress(done, total)`` callback drawing a bar, for :func:`flowsim.experiment.run`."""
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} replications done")

    try:
        yield progress
    finally:
        bar.empty()
