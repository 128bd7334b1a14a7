"""The README cannot rot: its KPI table and example change file are checked against the code."""

from __future__ import annotations

import re

import flowsim
from flowsim.kpis import KPI_DEFINITIONS

from .shared import REPO, SCENARIOS

README = (REPO / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert blocks[0].startswith("python3 -m venv .venv && ")
    assert blocks[0].endswith("flowsim app")
    assert blocks[1].endswith("-m pytest")
    assert "flowsim compare scenarios/baseline.yaml" in blocks[2]
    ci = (REPO / ".ci" / "run").read_text()
    assert blocks[1] in ci, ".ci/run must run the README's test command as written"


def test_readme_lists_every_kpi() -> None:
    for name, (unit, text) in KPI_DEFINITIONS.items():
        assert f"| `{name}` | {unit} | {text} |" in README, name


def test_readme_example_change_file_loads(tmp_path) -> None:
    example = re.search(r"```yaml\n(# yaml-language-server.*?)```", README, flags=re.S)
    assert example is not None
    text = example.group(1).replace("../baseline.yaml", str(SCENARIOS / "baseline.yaml"))
    path = tmp_path / "extra_evening_doctor.yaml"
    path.write_text(text)
    s = flowsim.load_scenario(path)
    assert "extra_evening" in s.staff["ed_doctor"].shifts
    assert s.staff["ed_doctor"].shifts["extra_evening"].count == 1
