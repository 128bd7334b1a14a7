"""The browser app: a small multipage Streamlit app, one module per page in :mod:`.pages`
(today: compare scenarios), sharing the components in :mod:`.components` (scenario picker, run
settings, progress, result store, downloads, variant builder, pathway, KPI definitions).

Run it with ``streamlit run app.py`` or ``flowsim app``; both call :func:`main`, which lists
the pages (:mod:`.navigation`). Results are cached by the content of the scenarios as run and
the run settings, so re-opening a result is instant.
"""

from __future__ import annotations

from .components.run_settings import (
    DEFAULT_DAYS,
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    DEFAULT_WARMUP,
)
from .components.scenario_picker import DEFAULT_CHANGE, scenarios_folder, shipped_files
from .navigation import main

__all__ = [
    "DEFAULT_CHANGE",
    "DEFAULT_DAYS",
    "DEFAULT_REPLICATIONS",
    "DEFAULT_SEED",
    "DEFAULT_WARMUP",
    "main",
    "scenarios_folder",
    "shipped_files",
]
