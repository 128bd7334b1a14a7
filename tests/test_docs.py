"""The documents cannot rot: commands, links, examples and cited figures are checked against the
repository and the code."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

import flowsim
from flowsim.cli import main

from .shared import REPO, SCENARIOS

README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^( *)```[a-z]*\n(.*?)^\1```", flags=re.S | re.M)


def _code_blocks(text: str, lang: str) -> list[str]:
    """Fenced blocks of one language, dedented (blocks inside list items are indented)."""
    pattern = re.compile(rf"^( *)```{lang}\n(.*?)^\1```", flags=re.S | re.M)
    return [textwrap.dedent(m.group(2)) for m in pattern.finditer(text)]


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_readme_opens_with_the_two_commands() -> None:
    blocks = _code_blocks(README, "bash")
    assert blocks[0].startswith("python3 -m venv .venv && ")
    assert blocks[0].rstrip().endswith("flowsim app")
    assert blocks[1].rstrip().endswith("-m pytest")
    assert "flowsim compare scenarios/baseline.yaml" in blocks[2]
    ci = (REPO / ".ci" / "run").read_text()
    assert blocks[1].rstrip() in ci.splitlines(), ".ci/run must run the README's test command"
    assert README.index(blocks[0]) < README.index("## "), "the commands come before any section"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_at_files_that_exist(page: Path) -> None:
    text = FENCE.sub("", page.read_text())
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    for target in targets:
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        assert path.exists(), f"{page.name}: {target} does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{page.name}: no heading for #{anchor} in {path.name}"


def test_every_docs_page_is_linked_from_the_readme_or_the_index() -> None:
    linked = set()
    for page in (REPO / "README.md", DOCS / "index.md"):
        for target in LINK.findall(page.read_text()):
            linked.add((page.parent / target.partition("#")[0]).resolve())
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"{orphans} are linked from neither the README nor docs/index.md"
    assert DOCS / "index.md" in linked, "the README links the docs index"


def _repository_text_files() -> list[Path]:
    skip_dirs = {".git", ".venv", "venv", "results", "build", "dist", "__pycache__", "artifacts"}
    files = []
    for root, dirs, names in os.walk(REPO):
        dirs[:] = [
            d
            for d in dirs
            if d not in skip_dirs
            and not d.endswith(".egg-info")
            and not d.startswith(".mypy")
            and not d.startswith(".ruff")
            and not d.startswith(".pytest")
        ]
        for name in names:
            path = Path(root) / name
            if path.suffix in {".png", ".parquet", ".pyc", ".npz"}:
                continue
            files.append(path)
    return files


def test_nothing_in_the_repository_points_outside_it() -> None:
    # Built in two parts so that this file does not match itself.
    outside = "../" + "shared"
    offenders = []
    for path in _repository_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if outside in text or "shared/" + "reference" in text:
            offenders.append(str(path.relative_to(REPO)))
    assert not offenders, f"{offenders} point outside the repository; cite docs/nhs-figures.md"


def _scenario_comments() -> dict[Path, str]:
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("changes/*.yaml"))
    return {f: "\n".join(re.findall(r"#(.*)$", f.read_text(), flags=re.M)) for f in files}


def test_every_figure_the_scenarios_cite_is_in_nhs_figures() -> None:
    page = (DOCS / "nhs-figures.md").read_text()
    rows = {m.strip() for m in re.findall(r"^\| ([^|]+) \|", page, flags=re.M)}
    cited = set()
    for path, comments in _scenario_comments().items():
        # A figure is cited by its row name in quotes ('ref: "Weekday"'); other quotations in
        # the comments ("fit to sit") start with a small letter or a digit.
        cited |= {name for name in re.findall(r'"([A-Z][^"]*)"', comments)}
        for mention in re.findall(r"\S*nhs-figures\.md", comments):
            assert mention == "docs/nhs-figures.md", f"{path.name} cites {mention}"
    assert len(cited) >= 15, "the scenario comments cite their figures by row name"
    missing = sorted(cited - rows)
    assert not missing, f"cited in scenarios/ but not a row of docs/nhs-figures.md: {missing}"


def test_readme_first_change_idea_is_the_shipped_one_with_two_doctors(tmp_path) -> None:
    example = next(b for b in _code_blocks(README, "yaml") if b.startswith("# yaml-language"))
    path = tmp_path / "changes" / "two_evening_doctors.yaml"
    path.parent.mkdir()
    path.write_text(example.replace("../baseline.yaml", str(SCENARIOS / "baseline.yaml")))
    mine = flowsim.load_scenario(path, root=SCENARIOS)
    shipped = flowsim.load_scenario(SCENARIOS / "changes" / "extra_evening_doctor.yaml")
    assert mine.name == "two_evening_doctors"
    assert mine.staff["ed_doctor"].shifts["extra_evening"].count == 2
    ignore = {"name", "description", "staff"}
    assert mine.model_dump(exclude=ignore) == shipped.model_dump(exclude=ignore)
    two = mine.staff["ed_doctor"].shifts["extra_evening"]
    one = shipped.staff["ed_doctor"].shifts["extra_evening"]
    assert two.model_copy(update={"count": 1}) == one
    # The walk-through copies this file and changes the count: it must still say what it adds.
    assert (
        'extra_evening: {start: "16:00", end: "02:00", count: 1}'
        in (SCENARIOS / "changes" / "extra_evening_doctor.yaml").read_text()
    )


def test_model_page_overlay_example_is_the_shipped_change(tmp_path) -> None:
    model = (DOCS / "model.md").read_text()
    example = next(b for b in _code_blocks(model, "yaml") if b.startswith("# yaml-language"))
    path = tmp_path / "extra_evening_doctor.yaml"
    path.write_text(example.replace("../baseline.yaml", str(SCENARIOS / "baseline.yaml")))
    shipped = flowsim.load_scenario(SCENARIOS / "changes" / "extra_evening_doctor.yaml")
    assert flowsim.load_scenario(path, root=SCENARIOS).model_dump(exclude={"description"}) == (
        shipped.model_dump(exclude={"description"})
    )


def _duration_examples() -> list[str]:
    model = (DOCS / "model.md").read_text()
    section = model.split("## Durations", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)


def _schema_distributions() -> set[str]:
    """Every ``dist`` the JSON Schema of scenario files accepts."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            dist = node.get("properties", {}).get("dist", {})
            if isinstance(dist, dict) and "const" in dist:
                found.add(dist["const"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((SCENARIOS / "flowsim.schema.json").read_text()))
    return found


def test_model_page_shows_every_distribution() -> None:
    written = {m for e in _duration_examples() for m in re.findall(r"dist: (\w+)", e)}
    # A fixed duration is written on its own ("15min"), without "dist: fixed".
    assert written | {"fixed"} == _schema_distributions()


@pytest.mark.parametrize("duration", _duration_examples())
def test_model_page_duration_examples_mean_what_it_says(tmp_path, duration: str) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: example\n"
        f"stages:\n  minors_treatment:\n    duration: {duration}\n"
    )
    loaded = flowsim.load_scenario(path, root=SCENARIOS).stages["minors_treatment"].duration
    said = re.search(r"dist: (\w+)", duration)
    assert loaded.dist == (said.group(1) if said else "fixed")


def _help(capsys, *command: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def _documented_command_lines() -> list[tuple[str, str, str]]:
    """(page, command, the rest of the line) for each ``flowsim COMMAND`` in code."""
    found = []
    for page in PAGES:
        text = page.read_text()
        code = [m.group(2) for m in FENCE.finditer(text)] + re.findall(r"`([^`\n]+)`", text)
        for chunk in code:
            for line in chunk.splitlines():
                for m in re.finditer(r"(?:^|[\s/])flowsim ([a-z][a-z-]*)(.*)", line):
                    found.append((page.name, m.group(1), m.group(2)))
    return found


def test_documented_commands_and_options_exist(capsys) -> None:
    documented = _documented_command_lines()
    assert len({c for _, c, _ in documented}) >= 8
    helps: dict[str, str] = {}
    for page, command, rest in documented:
        if command not in helps:
            helps[command] = _help(capsys, command)
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest.split("#")[0]):
            assert option in helps[command], f"{page}: flowsim {command} has no {option}"


def test_the_limits_in_the_safety_page_are_the_ones_the_code_keeps() -> None:
    import importlib

    rows = re.findall(
        r"^\| `(flowsim[\w.]+)\.(\w+)` \| ([\d.]+) \|", (DOCS / "safety.md").read_text(), re.M
    )
    assert len(rows) >= 20, "the table of limits is missing or unreadable"
    for module, name, value in rows:
        actual = getattr(importlib.import_module(module), name)
        assert float(actual) == float(value), (
            f"docs/safety.md: {module}.{name} is {actual}, not {value}"
        )
