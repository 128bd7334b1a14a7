"""Shared fixtures: small scenario files that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

TINY = """\
name: tiny
start: 2025-01-06
run: {warmup: 1d, length: 3d, replications: 3, seed: 7}
classes:
  urgent: {priority: 1}
  routine: {priority: 2}
arrivals:
  walk_in:
    per_day: 120
    class_mix: {urgent: 0.3, routine: 0.7}
    first_stage: assess
places:
  cubicles: {capacity: 6, area: ed}
  ward: {capacity: 12, area: ward, queue: first_come}
staff:
  doctor: {count: 2}
stages:
  assess:
    place: cubicles
    staff: doctor
    milestone: clinician
    duration: {dist: exponential, mean: 20min}
    next: {ward: 0.3, exit: 0.7}
  ward:
    place: ward
    duration: {dist: lognormal, mean: 1d, sd: 12h}
"""


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
