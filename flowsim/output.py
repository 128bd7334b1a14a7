"""Writing a results folder, all or nothing.

Every file is first written into a fresh hidden folder beside the target; only when all of them
are complete is that folder moved into place with one rename. An interrupted run therefore leaves
either the previous results folder untouched or the new one complete, never a half-written file.
An existing results folder is replaced only when the caller says so, and is then kept until the
new one is in place. Replications that failed are listed in ``failures.csv`` and in the manifest.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import FlowsimError
from .loader import scenario_hash, scenario_yaml

if TYPE_CHECKING:
    import pandas as pd

    from .experiment import Results


def manifest(results: Results, extra: dict[str, object] | None = None) -> dict[str, object]:
    """What is needed to reproduce a results folder: versions, seed, scenarios and their hashes."""
    import pandas as pd
    import simpy

    from . import __version__

    files = results.meta.get("files", {})
    assert isinstance(files, dict)  # scenario name -> the file it was read from
    return {
        "flowsim_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "pandas": pd.__version__,
        "seed": results.seed,
        "replications": results.replications,
        "failed_replications": [
            {"scenario": f.scenario, "replication": int(f.replication), "error": f.error}
            for f in results.failures.itertuples(index=False)
        ],
        "scenarios": [
            {
                "name": name,
                "hash": scenario_hash(s),
                "start": s.start.isoformat(),
                "warmup_days": s.run.warmup / 1440,
                "length_days": s.run.length / 1440,
                **({"file": str(files[name])} if name in files else {}),
            }
            for name, s in results.scenarios.items()
        ],
        **(extra or {}),
    }


def write_results(
    results: Results,
    out: str | Path,
    overwrite: bool = False,
    comparison: pd.DataFrame | None = None,
    extra: dict[str, object] | None = None,
) -> list[str]:
    """Write ``results`` into folder ``out`` atomically; return the file names written."""
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise FlowsimError(f"{target}: exists and is not a folder")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise FlowsimError(
            f"{target}: folder exists and is not empty; choose another --out or "
            "pass --overwrite to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; results are ordinary files
    try:
        written = _write_all(results, staging, comparison, extra)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def _write_all(
    results: Results, folder: Path, comparison: pd.DataFrame | None, extra: dict[str, object] | None
) -> list[str]:
    written: list[str] = []

    def save(name: str, writer: Callable[[Path], object]) -> None:
        writer(folder / name)
        written.append(name)

    kpis = results.kpis
    save("kpis.csv", lambda p: kpis.to_csv(p, index=False))
    save("kpis.parquet", lambda p: kpis.to_parquet(p, index=False))
    save("summary.csv", lambda p: results.summary().to_csv(p, index=False))
    if comparison is not None:
        save("comparison.csv", lambda p: comparison.to_csv(p, index=False))
    save("timeseries.parquet", lambda p: results.timeseries.to_parquet(p, index=False))
    save("hour_of_week.csv", lambda p: results.hour_of_week().to_csv(p, index=False))
    if results.ed_timeseries is not None:
        save("ed_timeseries.parquet", lambda p: results.ed_timeseries.to_parquet(p, index=False))  # type: ignore[union-attr]
    if results.time_in_department is not None:
        save("time_in_department.csv", lambda p: results.time_in_department.to_csv(p, index=False))  # type: ignore[union-attr]
    if len(results.failures):
        save("failures.csv", lambda p: results.failures.to_csv(p, index=False))
    if results.patients is not None:
        save("patients.parquet", lambda p: results.patients.to_parquet(p, index=False))  # type: ignore[union-attr]
    (folder / "scenarios").mkdir()
    for name, s in results.scenarios.items():
        save(f"scenarios/{name}.yaml", partial(Path.write_text, data=scenario_yaml(s)))
    info = manifest(results, extra)
    info["files"] = sorted(written) + ["manifest.json"]
    save("manifest.json", lambda p: p.write_text(json.dumps(info, indent=2) + "\n"))
    return written


def command_line() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
