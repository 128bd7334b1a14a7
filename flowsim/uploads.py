"""Scenario files given as text (uploaded in the browser) read exactly as ``flowsim`` reads files.

The text is parsed and validated by :mod:`flowsim.loader`, so a mistake gives the same
``file:line:column: field: message`` as ``flowsim validate``, naming the uploaded file. An
``extends`` in an upload is resolved in the scenarios folder, where the file would be saved, and
neither it nor the files it extends in turn may reach outside that folder.
"""

from __future__ import annotations

from pathlib import Path

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
    # Read as if saved in the scenarios folder, where the browser page saves it.
    where = scenarios / (Path(filename).name or "upload.yaml")
    data, marks = apply_extends(data, marks, where, InsideFolder(scenarios))
    return validate_data(data, marks, filename)
