"""Shared fixtures: small scenario files that run in well under a second.

Test modules take these as fixtures and import constants from ``shared.py``, never from here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .shared import TINY


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
