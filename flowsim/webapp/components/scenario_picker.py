"""The scenario picker: shipped scenario files, uploads and variants built in the page, read and
checked, with the problems of any refused file shown as plain text (paths relative to the
scenarios folder). A scenario calibrated in this session (the calibrate page) is offered as a
baseline too."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from flowsim.errors import FlowsimError, Problem, ScenarioError
from flowsim.loader import load_scenario, overlay, read_scenario_bytes, validate_data
from flowsim.scenario import Scenario
from flowsim.uploads import MAX_UPLOAD_BYTES, load_upload

from .safe_text import error_md, plain, problems_md, relative_text, shown_path

log = logging.getLogger("flowsim.app")

DEFAULT_CHANGE = "changes/escalation_beds.yaml"
CALIBRATED_KEY = "calibrated_baseline"
"""Session key of a calibrated scenario: (the label offered as a baseline, its YAML), set by the
calibrate page; with ``CALIBRATED_KEY + ".select"`` set, the picker selects it once."""
CALIBRATED_PREFIX = "calibrated: "


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
    calibrated_text: str | None = None
    """The YAML of the baseline when it is the session's calibrated scenario."""


def calibrated_baseline() -> tuple[str, str] | None:
    """The session's calibrated scenario, (label, YAML), if the calibrate page offered one."""
    got = st.session_state.get(CALIBRATED_KEY)
    if isinstance(got, tuple) and len(got) == 2 and all(isinstance(x, str) for x in got):
        return got[0], got[1]
    return None


def load_baseline(picked: Picked) -> Scenario:
    """The chosen baseline: a shipped file, or the session's calibrated scenario."""
    if picked.calibrated_text is not None:
        return load_upload(picked.calibrated_text.encode(), "calibrated.yaml", picked.folder)
    return load_file(picked.files[picked.baseline], picked.folder)


def pick_scenarios(folder: Path, files: dict[str, Path], built: dict[str, str]) -> Picked:
    """The sidebar's scenario section: a baseline, shipped change ideas and uploads."""
    names = list(files)
    calibrated = calibrated_baseline()
    choices = names + ([calibrated[0]] if calibrated else [])
    if st.session_state.pop(CALIBRATED_KEY + ".select", False) and calibrated:
        st.session_state["baseline"] = calibrated[0]
    if st.session_state.get("baseline", names[0] if names else None) not in choices:
        st.session_state.pop("baseline", None)
    base_name = st.selectbox(
        "Baseline",
        choices,
        key="baseline",
        # A value in the session wins; an index too would be warned about by Streamlit.
        index=0
        if "baseline" in st.session_state or "baseline.yaml" not in names
        else names.index("baseline.yaml"),
        help="The scenario every change is compared with.",
    )
    calibrated_text = calibrated[1] if calibrated and base_name == calibrated[0] else None
    if calibrated_text is None:
        options = [n for n in names if n != base_name]
        change_names = st.multiselect(
            "Change ideas (shipped)",
            options,
            key="changes",
            default=[DEFAULT_CHANGE] if DEFAULT_CHANGE in options else options[:1],
            help="Overlays of the baseline in scenarios/changes, or other scenario files.",
        )
    else:
        change_names = []
        st.caption(
            "The shipped change ideas extend the shipped baseline, so they are not offered for "
            "your calibrated scenario: build changes to it in **Build a variant** (the levers "
            "work on any baseline)."
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
    return Picked(folder, files, base_name, list(change_names), uploaded, calibrated_text)


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
            base = _built_on(text, name)
            if base != picked.baseline and (
                picked.calibrated_text is not None or base.startswith(CALIBRATED_PREFIX)
            ):
                # Built on another baseline, one of them calibrated: not a change to this one.
                st.sidebar.caption(f"{plain(name)} is left out: it was built on {plain(base)}.")
                continue
            if picked.calibrated_text is not None:
                variants.append(_on_calibrated(text, name, picked.calibrated_text))
            else:
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


def _built_on(text: str, name: str) -> str:
    data, _ = read_scenario_bytes(text.encode(), f"{name}.yaml")
    base = data.get("extends")
    return base if isinstance(base, str) else ""


def _on_calibrated(text: str, name: str, calibrated_text: str) -> Scenario:
    """A variant built on the calibrated baseline: its overlay merged onto the calibrated
    scenario held in the session (no file to extend)."""
    over, over_marks = read_scenario_bytes(text.encode(), f"{name}.yaml")
    over.pop("extends", None)
    base, base_marks = read_scenario_bytes(calibrated_text.encode(), "calibrated.yaml")
    data, marks = overlay(base, base_marks, over, over_marks)
    return validate_data(data, marks, f"{name}.yaml")
