"""The scenario picker: shipped scenario files, uploads and variants built in the page, read and
checked, with the problems of any refused file shown as plain text (paths relative to the
scenarios folder)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from flowsim.errors import FlowsimError, Problem, ScenarioError
from flowsim.loader import load_scenario
from flowsim.scenario import Scenario
from flowsim.uploads import MAX_UPLOAD_BYTES, load_upload

from .safe_text import error_md, plain, problems_md, relative_text, shown_path

log = logging.getLogger("flowsim.app")

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


def load_file(path: Path, folder: Path) -> Scenario:
    """A shipped scenario file, read and checked. Whatever goes wrong, even what flowsim did not
    expect, is a :class:`ScenarioError` naming the file relative to ``folder``, so that the
    page can show it and carry on."""
    try:
        return _load_file(str(path), path.read_text(encoding="utf-8", errors="replace"))
    except ScenarioError:
        raise
    except FlowsimError as e:
        problem = relative_text(str(e), folder)
    except OSError as e:
        problem = f"cannot read the file: {e.strerror or type(e).__name__}"
    except Exception:  # noqa: BLE001 - one broken file must not take the page down
        log.exception("unexpected error reading the scenario file %s", path)
        problem = _UNEXPECTED
    raise ScenarioError([Problem(shown_path(str(path), folder), None, None, "", problem)])


_UNEXPECTED = (
    "flowsim could not read this file, for a reason it did not expect (the details are in the "
    "log of the terminal that started the app; please report them)"
)


def read_uploads(files: list[Any], folder: Path) -> tuple[list[Scenario], list[str]]:
    """Scenarios from uploaded files, and a message (Markdown, user text as code) for each one
    that is refused. An upload that fails in a way flowsim did not expect is refused alone."""
    out, errors = [], []
    for f in files:
        name = plain(f.name)
        if f.size > MAX_UPLOAD_BYTES:
            errors.append(
                f"{name}: the file is {f.size:,} bytes; uploads are limited to "
                f"{MAX_UPLOAD_BYTES:,} bytes (a scenario is a few kB)."
            )
            continue
        try:
            out.append(load_upload(f.getvalue(), f.name, folder))
        except ScenarioError as e:
            errors.append(f"{name} is not a valid scenario:\n\n" + problems_md(e, folder))
        except FlowsimError as e:
            errors.append(f"{name} is refused: {error_md(e, folder)}")
        except Exception:  # noqa: BLE001 - one broken upload must not take the page down
            log.exception("unexpected error reading the upload %r", f.name)
            errors.append(f"{name} is not a valid scenario: {plain(_UNEXPECTED)}.")
    return out, errors


SHORT_NAME = 32
"""A renamed scenario is no longer than this or than its own name, whichever is longer: a suffix
never takes a valid name past the loader's length limit."""


def unique_names(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios with repeated names numbered (``winter_2``), so each has its own results. A new
    name is never one that any of the scenarios already has, nor one given before, so renaming
    cannot make a clash of its own (``baseline``, ``baseline``, ``baseline_2`` become
    ``baseline``, ``baseline_3``, ``baseline_2``)."""
    taken = {s.name for s in scenarios}
    kept: set[str] = set()
    out = []
    for s in scenarios:
        if s.name not in kept:
            kept.add(s.name)
            out.append(s)
            continue
        n = 2
        while (new := _numbered(s.name, n)) in taken:
            n += 1
        taken.add(new)
        out.append(s.model_copy(update={"name": new}))
    return out


def _numbered(name: str, n: int) -> str:
    suffix = f"_{n}"
    keep = max(len(name), SHORT_NAME) - len(suffix)
    return name[: max(keep, 1)] + suffix


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
        st.caption("Built in this page: " + ", ".join(plain(n) for n in built))
    return Picked(folder, files, base_name, list(change_names), uploaded)


def change_scenarios(picked: Picked, built: dict[str, str]) -> list[Scenario]:
    """The changes to compare: shipped ones, then uploads, then variants built in the page; a
    file that cannot be read is left out, with its problems in the sidebar."""
    variants: list[Scenario] = []
    for name in picked.changes:
        try:
            variants.append(load_file(picked.files[name], picked.folder))
        except ScenarioError as e:
            _left_out(name, e, picked.folder)
    variants += picked.uploaded
    for name, text in built.items():
        try:
            variants.append(load_upload(text.encode(), f"{name}.yaml", picked.folder))
        except ScenarioError as e:
            _left_out(name, e, picked.folder)
        except FlowsimError as e:
            st.sidebar.error(f"{plain(name)} is left out: {error_md(e, picked.folder)}")
        except Exception:  # noqa: BLE001 - one broken variant must not take the page down
            log.exception("unexpected error reading the built variant %r", name)
            st.sidebar.error(f"{plain(name)} is left out: {plain(_UNEXPECTED)}.")
    return variants


def _left_out(name: str, e: ScenarioError, folder: Path) -> None:
    st.sidebar.error(
        f"{plain(name)} is not a valid scenario and is left out:\n\n" + problems_md(e, folder)
    )
