"""The scenario picker: shipped scenario files, uploads and variants built in the page, read and
checked, with the problems of any refused file as Markdown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from flowsim.errors import ScenarioError
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario
from flowsim.uploads import MAX_UPLOAD_BYTES, load_upload

DEFAULT_CHANGE = "changes/escalation_beds.yaml"


def scenarios_folder() -> Path:
    """Where shipped scenarios are: ``$FLOWSIM_SCENARIOS``, else ``./scenarios``, else the one
    beside the package (an editable install from the repository)."""
    env = os.environ.get("FLOWSIM_SCENARIOS")
    if env:
        return Path(env)
    here = Path.cwd() / "scenarios"
    if (here / "baseline.yaml").exists():
        return here
    return Path(__file__).resolve().parents[3] / "scenarios"


def shipped_files(folder: Path) -> dict[str, Path]:
    """Scenario files under ``folder`` by their path relative to it (batch files left out)."""
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*.yaml"))
        if "batch" not in p.name
    }


@st.cache_data(show_spinner=False, max_entries=64)
def _load_file(path: str, text: str) -> Scenario:
    # Keyed on the text too, so an edited file is read again. extends stays in the folder.
    return load_scenario(path, root=scenarios_folder())


def load_file(path: Path) -> Scenario:
    return _load_file(str(path), path.read_text(encoding="utf-8", errors="replace"))


def problems_md(e: ScenarioError) -> str:
    """The problems as Markdown, one per paragraph, each as code (double backticks, so that a
    message quoting `flowsim schema` keeps its own)."""
    return "\n\n".join(f"`` {p} ``" for p in e.problems)


def read_uploads(files: list[Any], folder: Path) -> tuple[list[Scenario], list[str]]:
    """Scenarios from uploaded files, and a message for each one that is refused."""
    out, errors = [], []
    for f in files:
        if f.size > MAX_UPLOAD_BYTES:
            errors.append(
                f"{f.name}: the file is {f.size:,} bytes; uploads are limited to "
                f"{MAX_UPLOAD_BYTES:,} bytes (a scenario is a few kB)."
            )
            continue
        try:
            out.append(load_upload(f.getvalue(), f.name, folder))
        except ScenarioError as e:
            errors.append(f"{f.name} is not a valid scenario:\n\n" + problems_md(e))
    return out, errors


def unique_names(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios with repeated names numbered (``winter_2``), so each has its own results."""
    seen: dict[str, int] = {}
    out = []
    for s in scenarios:
        n = seen.get(s.name, 0) + 1
        seen[s.name] = n
        out.append(s if n == 1 else s.model_copy(update={"name": f"{s.name}_{n}"}))
    return out


@dataclass
class Picked:
    """What the picker chose: the baseline file's name, the shipped changes and the uploads
    that were read (built variants are read later, by :func:`change_scenarios`)."""

    folder: Path
    files: dict[str, Path]
    baseline: str
    changes: list[str]
    uploaded: list[Scenario]


def pick_scenarios(folder: Path, files: dict[str, Path], built: dict[str, str]) -> Picked:
    """The sidebar's scenario section: a baseline, shipped change ideas and uploads."""
    names = list(files)
    base_name = st.selectbox(
        "Baseline",
        names,
        key="baseline",
        index=names.index("baseline.yaml") if "baseline.yaml" in names else 0,
        help="The scenario every change is compared with.",
    )
    options = [n for n in names if n != base_name]
    change_names = st.multiselect(
        "Change ideas (shipped)",
        options,
        key="changes",
        default=[DEFAULT_CHANGE] if DEFAULT_CHANGE in options else options[:1],
        help="Overlays of the baseline in scenarios/changes, or other scenario files.",
    )
    uploads = st.file_uploader(
        "Upload scenario files (YAML)",
        type=["yaml", "yml"],
        accept_multiple_files=True,
        key="uploads",
        help=f"Up to {MAX_UPLOAD_BYTES // 1024} kB each. An upload may "
        "`extends:` a file in the scenarios folder, e.g. `extends: baseline.yaml`.",
    )
    uploaded, upload_errors = read_uploads(uploads or [], folder)
    for msg in upload_errors:
        st.error(msg)
    if built:
        st.caption("Built in this page: " + ", ".join(built))
    return Picked(folder, files, base_name, list(change_names), uploaded)


def change_scenarios(picked: Picked, built: dict[str, str]) -> list[Scenario]:
    """The changes to compare: shipped ones (a broken file is left out, with its problems in
    the sidebar), then uploads, then variants built in the page."""
    variants: list[Scenario] = []
    for name in picked.changes:
        try:
            variants.append(load_file(picked.files[name]))
        except ScenarioError as e:
            st.sidebar.error(
                f"{name} is not a valid scenario and is left out:\n\n" + problems_md(e)
            )
    variants += picked.uploaded
    for name, text in built.items():
        variants.append(load_upload(text.encode(), f"{name}.yaml", picked.folder))
    return variants
