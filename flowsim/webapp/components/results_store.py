"""The result store: results of runs kept in the server process, by the content of the
scenarios as run and the settings, so re-opening a result (in any browser tab) is instant; and
what pages draw from a result (tables, charts, downloads), worked out once per result."""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

import streamlit as st
import yaml

from flowsim.budget import APP_MAX_PATIENTS, check_budget, estimate, physical_memory
from flowsim.experiment import Progress, Results, run
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario

T = TypeVar("T")

WORKER_ALLOWANCE_MB = 4096
"""Memory each worker process may take on top of the server's own size when it was started
(a replication within the app's budget needs at most about 2 GB): past it the replication fails
with a message and the server carries on."""

CACHE_ENTRIES = 16
_STORE_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _result_store() -> OrderedDict[str, Results]:
    # One store for the server process, shared by every browser tab: results are read, never
    # changed, by the page.
    return OrderedDict()


@st.cache_resource(show_spinner=False)
def _derived_store() -> dict[tuple[str, str], Any]:
    return {}


def clear() -> None:
    """Forget every result and everything drawn from them."""
    with _STORE_LOCK:
        _result_store().clear()
        _derived_store().clear()


def run_key(texts: tuple[str, ...], replications: int, seed: int) -> str:
    """The cache key: a hash of the scenarios as run (standalone YAML) and the settings."""
    h = hashlib.sha256(f"{replications}|{seed}".encode())
    for t in texts:
        h.update(b"\0" + t.encode())
    return h.hexdigest()


def stored(key: str) -> bool:
    """Whether the result of ``key`` is still in the store."""
    with _STORE_LOCK:
        return key in _result_store()


def simulate(
    texts: tuple[str, ...], replications: int, seed: int, progress: Progress | None = None
) -> Results:
    """Run the scenarios written as ``texts`` (standalone YAML, run settings included), or
    return the results of the same run from the cache at once."""
    store = _result_store()
    key = run_key(texts, replications, seed)
    with _STORE_LOCK:
        if key in store:
            store.move_to_end(key)
            return store[key]
    scenarios = [load_scenario(yaml.safe_load(t)) for t in texts]
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a threaded process (the server) could deadlock; the
        # workers only simulate and never touch the server's threads or locks.
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        results = run_in_app(scenarios, replications, seed, progress)
    with _STORE_LOCK:  # each browser tab runs the page in its own thread
        store[key] = results
        while len(store) > CACHE_ENTRIES:
            old, _ = store.popitem(last=False)
            derived = _derived_store()
            for k in [k for k in derived if k[0] == old]:
                del derived[k]
    return results


def run_in_app(
    scenarios: list[Scenario], replications: int, seed: int, progress: Progress | None
) -> Results:
    """The app's one call of :func:`flowsim.experiment.run`. This is the place for the app's
    limits on a run: its budget (refuse a run past the app's own, smaller, budget before it
    starts) and the memory limit of its worker processes (``memory_limit_mb``)."""
    workers = os.cpu_count() or 1
    work = estimate(scenarios, replications, patients=False, workers=workers)
    check_budget(work, APP_MAX_PATIENTS, how="", memory_bytes=physical_memory())
    return run(
        scenarios,
        replications=replications,
        seed=seed,
        jobs=0,
        progress=progress,
        memory_limit_mb=worker_memory_limit_mb(),
    )


def worker_memory_limit_mb() -> int | None:
    """The address-space limit of the app's worker processes: a worker is forked from the
    server, so it starts at the server's size, plus :data:`WORKER_ALLOWANCE_MB`. None where the
    system does not say the server's size (Linux does), and no limit is set."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) // 1024 + WORKER_ALLOWANCE_MB
    except OSError:
        pass
    return None


def memo(key: str, what: str, make: Callable[[], T]) -> T:
    """``make()``, computed once per run (``key``) and ``what``: tables, charts and downloads
    drawn from a cached result are not worked out again when the page is redrawn."""
    store = _derived_store()
    if (key, what) not in store:
        store[(key, what)] = make()
    return cast(T, store[(key, what)])
