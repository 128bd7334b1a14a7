"""Scenario files given as text (uploaded in the browser) read exactly as ``flowsim`` reads files.

The text is parsed and validated by :mod:`flowsim.loader`, so a mistake gives the same
``file:line:column: field: message`` as ``flowsim validate``, naming the uploaded file. An
``extends`` in an upload is resolved in the scenarios folder, where the file would be saved, and
neither it nor the files it extends in turn may reach outside that folder. A change file copied
from a subfolder (``scenarios/changes/x.yaml`` says ``extends: ../baseline.yaml``) uploads as it
runs on the command line: it is read as if saved as deep in the folder as its ``extends`` climbs.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from .errors import Problem, ScenarioError
from .loader import InsideFolder, apply_extends, read_scenario_bytes, validate_data
from .scenario import Scenario

MAX_UPLOAD_BYTES = 256 * 1024
"""Uploads larger than this are refused before they are read (a scenario is a few kB)."""


def load_upload(raw: bytes, filename: str, scenarios: Path) -> Scenario:
    """Validate an uploaded scenario file; ``extends`` is read relative to ``scenarios``, and
    only files inside it may be read.

    Raises :class:`~flowsim.errors.ScenarioError` with every problem found.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ScenarioError(
            [
                Problem(
                    filename,
                    None,
                    None,
                    "",
                    f"file is {len(raw):,} bytes; uploads are limited to "
                    f"{MAX_UPLOAD_BYTES:,} (a scenario is a few kB)",
                )
            ]
        )
    data, marks = read_scenario_bytes(raw, filename)
    # Read as if saved in the scenarios folder, where the browser page saves it; or, for a file
    # whose extends climbs out of a subfolder, that many (unnamed) subfolders deep. Where it is
    # read from changes nothing about which files it may read: the policy checks the real path.
    where = scenarios.joinpath(
        *[UPLOAD_SUBFOLDER] * _climbs(data), Path(filename).name or "upload.yaml"
    )
    data, marks = apply_extends(data, marks, where, InsideFolder(scenarios))
    return validate_data(data, marks, filename)


UPLOAD_SUBFOLDER = "uploaded"
"""The name of the (never created) subfolder an upload is read from when its ``extends`` climbs
out of one (``../baseline.yaml``)."""

_MAX_CLIMBS = 8


def _climbs(data: dict[str, Any]) -> int:
    """How many folders ``extends`` climbs before naming a file (``../../base.yaml``: 2)."""
    parent = data.get("extends")
    if not isinstance(parent, str):
        return 0
    parts = PurePosixPath(parent.replace("\\", "/")).parts
    n = 0
    for part in parts:
        if part != "..":
            break
        n += 1
    return min(n, _MAX_CLIMBS)
