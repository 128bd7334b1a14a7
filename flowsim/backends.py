"""The places replications can run, named apart from the code that runs them so that the command
line can offer the choice without importing pandas and the engine."""

from __future__ import annotations

BACKENDS = ("serial", "processes", "dask")
"""Where replications run: in this process, in local worker processes, or on a Dask cluster."""
