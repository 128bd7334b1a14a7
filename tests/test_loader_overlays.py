"""Overlays and tables of shares: a change file that gives a routing table (``next``), one
class's table in ``next_by_class`` or a ``class_mix`` replaces the base's table whole, while
every other mapping still merges key by key; the shipped change files resolve as before."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from flowsim import loader
from flowsim.errors import ScenarioError
from flowsim.loader import ANY_KEY, load_scenario, scenario_hash, whole_table_paths
from flowsim.scenario import Scenario, WholeTable

from .shared import REPO, SCENARIO_FILES

CASES = REPO / "flowsim" / "validation" / "cases"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(REPO / "scenarios" / "baseline.yaml", tmp_path / "baseline.yaml")
    return tmp_path


def _load(folder: Path, overlay: str) -> Scenario:
    f = folder / "change.yaml"
    f.write_text("extends: baseline.yaml\n" + overlay)
    return load_scenario(f, root=folder)


def test_the_issue_example_replaces_the_routing_table(folder: Path) -> None:
    # The baseline's minors_treatment has next: {exit: 0.97, amu_stay: 0.03}. Merged key by key,
    # amu_stay would stay and the table would sum to 1.03.
    base = load_scenario(folder / "baseline.yaml")
    assert base.stages["minors_treatment"].next == {"exit": 0.97, "amu_stay": 0.03}
    s = _load(folder, "stages:\n  minors_treatment:\n    next: {exit: 0.9, sdec_assessment: 0.1}\n")
    assert s.stages["minors_treatment"].next == {"exit": 0.9, "sdec_assessment": 0.1}
    # Only the table is replaced: the stage's other fields are the base's.
    assert s.stages["minors_treatment"].duration == base.stages["minors_treatment"].duration


def test_each_class_table_is_replaced_and_other_classes_kept(folder: Path) -> None:
    # Triage routes P1, P2 and P3 by class. Sending P2 to resus replaces P2's table (it had
    # majors_assessment: 1.0, which merged would sum to 2) and keeps P1's and P3's.
    base = load_scenario(folder / "baseline.yaml").stages["triage"].next_by_class
    s = _load(folder, "stages:\n  triage:\n    next_by_class:\n      P2: {resus_care: 1.0}\n")
    by_class = s.stages["triage"].next_by_class
    assert by_class == {"P1": base["P1"], "P2": {"resus_care": 1.0}, "P3": base["P3"]}


def test_class_mix_is_replaced(folder: Path) -> None:
    s = _load(folder, "arrivals:\n  walk_in:\n    class_mix: {P3: 0.5, P4: 0.5}\n")
    assert s.arrivals["walk_in"].class_mix == {"P3": 0.5, "P4": 0.5}


def test_other_mappings_still_merge_key_by_key(folder: Path) -> None:
    # A discharge window's days are a share per day, not a table summing to 1: Saturday alone
    # changes and Sunday keeps the base's share.
    base = load_scenario(folder / "baseline.yaml").stages["discharge_home"].discharge_window
    assert base is not None and base.days["Sun"] != 0.9
    s = _load(folder, "stages:\n  discharge_home:\n    discharge_window:\n      days: {Sat: 0.9}\n")
    window = s.stages["discharge_home"].discharge_window
    assert window is not None
    assert window.days == {**base.days, "Sat": 0.9}


def test_a_replaced_table_takes_its_errors_to_the_overlay(folder: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        _load(
            folder,
            "stages:\n  minors_treatment:\n    next: {exit: 0.5, sdec_asessment: 0.4}\n",
        )
    shown = [(Path(p.file).name, p.line, p.path, p.message) for p in info.value.problems]
    assert shown[0] == (
        "change.yaml",
        4,
        "stages.minors_treatment.next",
        "next must sum to 1, but sums to 0.9; a change file's table replaces the base's whole "
        "table, so give every entry",
    )
    assert shown[1][:3] == ("change.yaml", 4, "stages.minors_treatment.next.sdec_asessment")
    assert shown[1][3].startswith("unknown stage 'sdec_asessment'")
    assert len(shown) == 2


def test_the_whole_table_fields_are_found_from_their_mark() -> None:
    assert whole_table_paths() == {
        ("arrivals", ANY_KEY, "class_mix"),
        ("stages", ANY_KEY, "next"),
        ("stages", ANY_KEY, "next_by_class", ANY_KEY),
    }


def _share_tables(tp: Any, at: tuple[str, ...], out: list[tuple[tuple[str, ...], bool]]) -> None:
    """Every mapping of names to probabilities (values limited to 0..1) in the schema, and
    whether it carries the whole-table mark."""
    marked = False
    while typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        marked = marked or any(isinstance(m, WholeTable) for m in meta)
        tp = base
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            mark = any(isinstance(m, WholeTable) for m in field.metadata)
            ann = typing.Annotated[field.annotation, WholeTable()] if mark else field.annotation
            _share_tables(ann, (*at, field.alias or name), out)
    elif typing.get_origin(tp) is dict:
        value = typing.get_args(tp)[1]
        limits = [getattr(m, "le", None) for m in _metadata(value)]
        if 1 in limits:
            out.append((at, marked))
        else:
            _share_tables(value, (*at, ANY_KEY), out)
    else:
        for arm in typing.get_args(tp):
            _share_tables(arm, at, out)


def _metadata(tp: Any) -> list[Any]:
    out: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for m in meta:
            out += [m, *getattr(m, "metadata", [])]
        tp = base
    return out


PER_KEY_SHARES = {("stages", ANY_KEY, "discharge_window", "days")}
"""Mappings of shares that do not sum to 1 (each day's share of ready patients who may go), so
an overlay rightly merges them key by key."""


def test_no_table_of_shares_is_left_unmarked() -> None:
    # A new field of probabilities by name must be marked whole (or listed here on purpose), so
    # that an overlay cannot silently keep the base's other keys.
    found: list[tuple[tuple[str, ...], bool]] = []
    _share_tables(Scenario, (), found)
    assert {p for p, _ in found} >= set(whole_table_paths())
    unmarked = {p for p, marked in found if not marked}
    assert unmarked == PER_KEY_SHARES


OVERLAYS = [
    f
    for f in [*SCENARIO_FILES, *sorted(CASES.glob("*.yaml"))]
    if "extends:" in f.read_text(encoding="utf-8")
]


def test_the_shipped_overlays_are_checked() -> None:
    names = {f.name for f in OVERLAYS}
    assert {"winter.yaml", "streaming_to_utc.yaml", "ciw_jackson_routing.yaml"} <= names


@pytest.mark.parametrize("f", OVERLAYS, ids=lambda f: f.name)
def test_shipped_overlays_resolve_as_they_did_by_merging(
    f: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None of the shipped change files relied on key-by-key merging of a table: each gives
    # the same keys as its base's table, so the resolved scenario is the same either way.
    now = scenario_hash(load_scenario(f, root=REPO))
    monkeypatch.setattr(loader, "whole_table_paths", lambda: frozenset())
    merged = scenario_hash(load_scenario(f, root=REPO))
    assert now == merged


def test_the_example_in_the_docs_holds(tmp_path: Path) -> None:
    model = (REPO / "docs" / "model.md").read_text()
    section = model.split("### Tables of shares in a change file", 1)[1].split("\n### ", 1)[0]
    base_part, change = (b.split("```", 1)[0] for b in section.split("```yaml\n")[1:3])
    baseline = load_scenario(REPO / "scenarios" / "baseline.yaml")
    assert yaml.safe_load(base_part)["stages"]["minors_treatment"]["next"] == (
        baseline.stages["minors_treatment"].next
    )
    shutil.copy(REPO / "scenarios" / "baseline.yaml", tmp_path / "baseline.yaml")
    (tmp_path / "changes").mkdir()
    f = tmp_path / "changes" / "change.yaml"
    f.write_text(change)
    s = load_scenario(f, root=tmp_path)
    assert s.stages["minors_treatment"].next == {"exit": 0.9, "sdec_assessment": 0.1}


def test_a_partial_table_in_a_change_file_says_to_give_every_entry(folder: Path) -> None:
    # Merged, these two classes would have kept the base's mix summing to 1; replaced, the mix
    # sums to 0.2, and the message says why.
    with pytest.raises(ScenarioError) as info:
        _load(folder, "arrivals:\n  walk_in:\n    class_mix: {P4: 0.35, P5: 0.19}\n")
    [p] = info.value.problems
    assert (Path(p.file).name, p.line, p.path) == ("change.yaml", 4, "arrivals.walk_in.class_mix")
    assert p.message == (
        "class_mix must sum to 1, but sums to 0.54; a change file's table replaces the base's "
        "whole table, so give every entry"
    )


def test_a_table_of_the_base_that_does_not_sum_gets_no_overlay_hint(tmp_path: Path) -> None:
    base = (REPO / "scenarios" / "baseline.yaml").read_text()
    broken = base.replace("class_mix: {P3: 1.0}", "class_mix: {P3: 0.9}")
    assert broken != base
    (tmp_path / "baseline.yaml").write_text(broken)
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, "name: change\n")
    [p] = info.value.problems
    assert p.message == "class_mix must sum to 1, but sums to 0.9"
    assert Path(p.file).name == "baseline.yaml"
