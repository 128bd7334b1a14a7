"""Shared fixtures: small scenario files that run in well under a second.

Test modules take these as fixtures and import constants from ``shared.py``, never from here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .shared import TINY


@pytest.fixture(autouse=True)
def _main_module_kept() -> Iterator[None]:
    """Put ``sys.modules["__main__"]`` back after each test. Streamlit's ``AppTest.from_function``
    runs its script as ``__main__`` and leaves it there; a worker process started later by
    spawn (Dask's, or the process pool's) would then re-run that deleted script and die."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    """A small coupled ED + ward scenario file."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def tiny_change_file(tmp_path: Path, tiny_file: Path) -> Path:
    """An overlay of ``tiny`` with two more ward beds."""
    path = tmp_path / "more_beds.yaml"
    path.write_text("extends: tiny.yaml\nname: more_beds\nplaces:\n  ward: {capacity: 14}\n")
    return path
