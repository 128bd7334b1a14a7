"""Uploads read ``extends`` through the loader's folder rule: the whole chain stays in the
scenarios folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsim import ScenarioError, load_scenario
from flowsim.uploads import load_upload

from .shared import SCENARIOS, TINY


def test_an_upload_may_extend_a_change_that_extends_the_baseline() -> None:
    s = load_upload(b"extends: changes/escalation_beds.yaml\n", "mine.yaml", SCENARIOS)
    shipped = load_scenario(SCENARIOS / "changes" / "escalation_beds.yaml")
    assert s.name == "mine"
    assert s.model_copy(update={"name": shipped.name}) == shipped


def test_a_base_that_extends_outside_the_folder_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text(TINY)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    inner = folder / "inner.yaml"
    inner.write_text("name: inner\nextends: ../outside.yaml\n")
    assert load_scenario(inner, root=tmp_path).name == "inner"  # the command line, so rooted
    with pytest.raises(ScenarioError) as info:
        load_upload(b"extends: inner.yaml\n", "up.yaml", folder)
    assert [str(p) for p in info.value.problems] == [
        f"{inner}:2:1: extends: no such file in the scenarios folder: ../outside.yaml"
    ]


def test_an_upload_named_like_its_base_extends_the_saved_file(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    s = load_upload(b"extends: tiny.yaml\nplaces: {ward: {capacity: 20}}\n", "tiny.yaml", tmp_path)
    assert s.name == "tiny" and s.places["ward"].capacity == 20
