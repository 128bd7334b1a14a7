"""Uploaded scenario files are read as the CLI reads files: the same file:line messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flowsim import ScenarioError, load_scenario
from flowsim.cli import main as cli
from flowsim.uploads import MAX_UPLOAD_BYTES, load_upload

from .shared import SCENARIOS

BAD = b"""extends: baseline.yaml
name: broken
places:
  wards: {capacity: -3}
stages:
  ward_stay:
    delayed_discharge: {share: 1.5}
"""


def _problems(raw: bytes, name: str, folder: Path) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_upload(raw, name, folder)
    return [str(p) for p in e.value.problems]


def test_an_invalid_upload_gives_the_cli_messages(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    uploaded = _problems(BAD, "broken.yaml", folder)
    path = folder / "broken.yaml"
    path.write_bytes(BAD)
    capsys.readouterr()
    assert cli(["validate", str(path)]) == 2
    from_cli = capsys.readouterr().err.splitlines()
    assert [line.replace(str(path), "broken.yaml") for line in from_cli] == uploaded
    assert any(u.startswith("broken.yaml:4:") and "places.wards.capacity" in u for u in uploaded)
    assert any(u.startswith("broken.yaml:7:") for u in uploaded)


def test_an_upload_extends_a_shipped_file() -> None:
    s = load_upload(
        b"extends: baseline.yaml\nplaces:\n  wards: {capacity: 650}\n", "more_beds.yaml", SCENARIOS
    )
    base = load_scenario(SCENARIOS / "baseline.yaml")
    assert s.name == "more_beds"  # named after the file, as the CLI names an overlay
    assert s.places["wards"].capacity == 650
    assert s.stages == base.stages


def test_a_standalone_upload_loads_like_the_file() -> None:
    raw = (SCENARIOS / "baseline.yaml").read_bytes()
    assert load_upload(raw, "baseline.yaml", SCENARIOS) == load_scenario(
        SCENARIOS / "baseline.yaml"
    )


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        (b"extends: ../../etc/passwd\n", "x.yaml:1:1: extends:", "no such file in the scenarios"),
        (b"extends: nowhere.yaml\n", "x.yaml:1:1: extends:", "no such file"),
        (b"name: [unclosed\n", "x.yaml:2:1:", "not valid YAML"),
        (b"- just\n- a list\n", "x.yaml:1:1:", "must be a mapping"),
        (b"name: caf\xe9\n", "x.yaml:1:", "not UTF-8"),
        (b"", "x.yaml:1:1:", "empty"),
    ],
)
def test_broken_uploads_say_where_and_why(raw: bytes, where: str, message: str) -> None:
    problems = _problems(raw, "x.yaml", SCENARIOS)
    assert problems[0].startswith(where), problems
    assert message in problems[0]


def test_an_over_size_upload_is_refused_before_reading() -> None:
    problems = _problems(b"#" * (MAX_UPLOAD_BYTES + 1), "huge.yaml", SCENARIOS)
    assert problems == [
        f"huge.yaml: file is {MAX_UPLOAD_BYTES + 1:,} bytes; uploads are "
        f"limited to {MAX_UPLOAD_BYTES:,} (a scenario is a few kB)"
    ]


def test_a_copied_change_file_extending_its_parent_folder_uploads_as_it_runs() -> None:
    # scenarios/changes/*.yaml say `extends: ../baseline.yaml`; copied and uploaded as they are,
    # they must give the scenario the command line reads from the folder.
    path = SCENARIOS / "changes" / "escalation_beds.yaml"
    assert b"extends: ../baseline.yaml" in path.read_bytes()
    assert load_upload(path.read_bytes(), path.name, SCENARIOS) == load_scenario(path)


def test_an_upload_climbing_folders_reads_only_inside_the_scenarios_folder(tmp_path: Path) -> None:
    # The scenarios folder sits inside tmp_path, below another baseline it must never read.
    folder = tmp_path / "inner" / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    outside = (SCENARIOS / "baseline.yaml").read_text().replace("capacity: 605,", "capacity: 7,")
    (tmp_path / "inner" / "baseline.yaml").write_text(outside)
    (tmp_path / "baseline.yaml").write_text(outside)
    raw = b"extends: ../../baseline.yaml\nname: up\n"
    s = load_upload(raw, "up.yaml", folder)
    assert (
        s.places["wards"].capacity
        == load_scenario(folder / "baseline.yaml").places["wards"].capacity
    )
    assert s.places["wards"].capacity != 7


@pytest.mark.parametrize(
    "extends", ["../" * 12 + "etc/passwd.yaml", "../missing.yaml", "../changes/../../x.yaml"]
)
def test_an_upload_extending_what_is_not_in_the_folder_is_refused(extends: str) -> None:
    raw = f"extends: {extends}\nplaces:\n  wards: {{capacity: 650}}\n".encode()
    problems = _problems(raw, "up.yaml", SCENARIOS)
    assert problems == [f"up.yaml:1:1: extends: no such file in the scenarios folder: {extends}"]
