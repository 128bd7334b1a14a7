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
from collections.abc import Callable, Sequence
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


RESULTS_MARK = "manifest.json"
"""The file every results folder holds: ``--overwrite`` replaces only a folder that has it."""


REPOSITORY_MARKS = (".git", "pyproject.toml")
"""What makes a folder a repository's root, which is never a results folder."""


class OutputError(FlowsimError):
    """The results folder cannot be written; nothing was (the finished replications are kept)."""


def check_out_folder(
    out: str | Path, inputs: Sequence[str | Path] = (), overwrite: bool = False
) -> None:
    """Refuse, before anything runs, a results folder that must not or cannot be written: one
    that is or holds an input file, the current or home folder (or a folder holding them), a
    repository's root, a file, a folder of other things (``overwrite`` replaces only an empty
    folder or an earlier results folder), or one under a file or an unwritable folder."""
    target = Path(out)
    try:
        where = target.resolve()
        here = Path.cwd().resolve()
    except (OSError, RuntimeError) as e:  # a name too long, a loop of links
        raise OutputError(f"{target}: cannot be used as a results folder ({e})") from e
    for place, called in ((here, "the current folder"), (_home(), "your home folder")):
        if place is not None and (where == place or where in place.parents):
            what = "is" if where == place else "holds"
            raise OutputError(
                f"{target}: {what} {called}; results go in a folder of their own, "
                "e.g. --out results/run1"
            )
    for f in inputs:
        path = Path(f).resolve()
        if where == path or where in path.parents:
            raise OutputError(
                f"{target}: {'is' if where == path else 'holds'} the input file {f}; results "
                "go in a folder of their own, e.g. --out results/run1"
            )
    if target.name in ("", ".", ".."):
        raise OutputError(f"{target}: name the results folder itself, e.g. --out results/run1")
    if any((where / mark).exists() for mark in REPOSITORY_MARKS):
        raise OutputError(f"{target}: is a repository; choose another --out")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise OutputError(
                f"{target}: exists and is not a folder; choose another --out "
                "(--overwrite replaces only a results folder)"
            )
        try:
            full = any(target.iterdir())
        except OSError as e:
            raise OutputError(f"{target}: cannot read this folder ({_reason(e)})") from e
        if full and not overwrite:
            raise OutputError(
                f"{target}: exists and is not an empty folder; choose another --out "
                "or pass --overwrite to replace it"
            )
        if full and not (target / RESULTS_MARK).is_file():
            raise OutputError(
                f"{target}: is not a flowsim results folder (it has no {RESULTS_MARK}), so "
                "--overwrite will not replace it; choose another --out"
            )
    ancestor = where.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{target}: cannot be made, because {ancestor} is a file")
    refused = None
    if not os.access(ancestor, os.W_OK | os.X_OK):
        refused = "a read-only file system, or no permission"
    else:
        # Some folders say they are writable and are not (/proc, some network mounts): try.
        try:
            os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}.probe-", dir=ancestor))
        except OSError as e:
            refused = _reason(e)
    if refused is not None:
        raise OutputError(f"{target}: cannot write in {ancestor} ({refused}); choose another --out")


def remove_leftovers(out: str | Path) -> list[Path]:
    """Remove what writes into ``out`` that were killed left beside it: ``.OUT.partial-PID-*``
    folders of results half-written by a process that is gone, and ``.OUT.old-PID-*`` folders of
    replaced results once the new folder is in place. Returns what was removed."""
    target = Path(out)
    parent = target.parent
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return removed
    for p in entries:
        for kind in ("partial", "old"):
            prefix = f".{target.name}.{kind}-"
            if not p.name.startswith(prefix):
                continue
            pid = p.name[len(prefix) :].split("-", 1)[0]
            if not pid.isdigit() or not _writer_gone(int(pid)):
                continue
            if kind == "old" and not target.is_dir():
                continue  # the earlier results, not yet replaced: keep them
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _writer_gone(pid: int) -> bool:
    if os.name == "nt" or pid == os.getpid():
        return False  # Windows's os.kill would end the process, not look for it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def write_results(
    results: Results,
    out: str | Path,
    overwrite: bool = False,
    comparison: pd.DataFrame | None = None,
    extra: dict[str, object] | None = None,
    inputs: Sequence[str | Path] = (),
) -> list[str]:
    """Write ``results`` into folder ``out`` atomically; return the file names written. A folder
    that :func:`check_out_folder` refuses is refused here too, before anything is written; a
    write that fails (a full disk) raises :class:`OutputError` and leaves nothing behind."""
    target = Path(out)
    check_out_folder(target, inputs, overwrite)
    remove_leftovers(target)
    return write_folder(
        target, lambda staging: _write_all(results, staging, comparison, extra), "the results"
    )


def write_folder(target: Path, fill: Callable[[Path], list[str]], what: str) -> list[str]:
    """Make folder ``target`` all or nothing: ``fill`` writes the files into a staging folder
    beside it and returns their names, then the staging folder takes ``target``'s place (an
    earlier folder there is moved aside and removed). A failure leaves nothing behind (what a
    killed run leaves, :func:`remove_leftovers` clears) and raises :class:`OutputError` saying
    ``what`` could not be written. Checking ``target`` first is the caller's part."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.partial-{os.getpid()}-", dir=target.parent)
        )
    except OSError as e:
        raise OutputError(f"{target}: cannot write {what}: {_reason(e)}") from e
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; results are ordinary files
        written = fill(staging)
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent)
            )
            os.replace(target, old / target.name)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(
            f"{target}: cannot write {what} ({_reason(e)}); nothing was written"
        ) from e
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
    stability = results.stability()
    save(
        "summary.csv",
        lambda p: _with_stability(results.summary(), stability).to_csv(p, index=False),
    )
    save("stability.csv", lambda p: stability.to_csv(p, index=False))
    if comparison is not None:
        save("comparison.csv", lambda p: comparison.to_csv(p, index=False))
    save("timeseries.parquet", lambda p: results.timeseries.to_parquet(p, index=False))
    save("hour_of_week.csv", lambda p: results.hour_of_week().to_csv(p, index=False))
    if results.ed_timeseries is not None:
        save("ed_timeseries.parquet", lambda p: results.ed_timeseries.to_parquet(p, index=False))  # type: ignore[union-attr]
    if results.time_in_department is not None:
        # Six significant figures: 1,441 minutes a replication, and no share needs more.
        save(
            "time_in_department.csv",
            lambda p: results.time_in_department.to_csv(p, index=False, float_format="%.6g"),  # type: ignore[union-attr]
        )
    distribution = results.occupancy_distribution
    if distribution is not None:
        save("occupancy_distribution.csv", lambda p: distribution.to_csv(p, index=False))
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


def _with_stability(summary: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """The summary with a column saying, per scenario, whether its queues settled."""
    from .stability import summary_note

    notes = {str(name): summary_note(stability, str(name)) for name in summary["scenario"].unique()}
    return summary.assign(stability=summary["scenario"].astype(str).map(notes))


def command_line() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
