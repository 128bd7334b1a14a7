"""Scenario files given as text (uploaded in the browser) read exactly as ``flowsim`` reads files.

The text is parsed and validated by :mod:`flowsim.loader`, so a mistake gives the same
``file:line:column: field: message`` as ``flowsim validate``, naming the uploaded file. An
``extends`` in an upload is resolved in the scenarios folder, where the file would be saved.
"""

from __future__ import annotations

from pathlib import Path

from .errors import Problem, ScenarioError
from .loader import (
    _default_name,
    _merge,
    _merge_marks,
    read_scenario_bytes,
    read_scenario_data,
    validate_data,
)
from .scenario import Scenario

MAX_UPLOAD_BYTES = 256 * 1024
"""Uploads larger than this are refused before they are read (a scenario is a few kB)."""


def load_upload(raw: bytes, filename: str, scenarios: Path) -> Scenario:
    """Validate an uploaded scenario file; ``extends`` is read relative to ``scenarios``.

    Raises :class:`~flowsim.errors.ScenarioError` with every problem found.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ScenarioError([Problem(filename, None, None, "",
                                     f"file is {len(raw):,} bytes; uploads are limited to "
                                     f"{MAX_UPLOAD_BYTES:,} (a scenario is a few kB)")])
    data, marks = read_scenario_bytes(raw, filename)
    parent = data.pop("extends", None)
    named = "name" in data
    if parent is not None:
        f, line, col = marks[("extends",)]
        base_path = scenarios / parent if isinstance(parent, str) else None
        if base_path is None:
            raise ScenarioError([Problem(f, line, col, "extends", "expected a file name")])
        if not base_path.resolve().is_relative_to(scenarios.resolve()) or \
                not base_path.is_file():
            raise ScenarioError([Problem(f, line, col, "extends",
                                         f"no such file in the scenarios folder: {parent}")])
        base, base_marks = read_scenario_data(base_path)
        data, marks = _merge(base, data), _merge_marks(base_marks, marks)
    if not named:
        data["name"] = _default_name(Path(filename))
    return validate_data(data, marks, filename)
