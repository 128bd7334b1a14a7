"""Checkpoints: finished replications kept on disk so that an interrupted run can carry on.

While a run writes into the results folder ``DIR``, every finished replication is saved as one
small file in the hidden folder ``.DIR.checkpoint`` beside it, together with ``plan.json``: the
flowsim version, master seed, replications, whether the patient-visit table is wanted, and each
scenario's name and hash. Each file is written under a temporary name, flushed to disk and then
renamed, so a killed run leaves only whole files behind. ``flowsim run ... --out DIR --resume``
reads them back, runs only the replications that are missing and builds the same tables an
uninterrupted run would, because replication ``r`` depends only on the scenario, seed and ``r``.
A checkpoint made for a different plan is never mixed in: resuming from it is refused.
The folder is removed once the results folder is complete.

The files are Python pickles written by flowsim itself; do not resume from a checkpoint folder
that someone else gave you.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from .errors import FlowsimError

PLAN = "plan.json"


def checkpoint_folder(out: str | Path) -> Path:
    """The checkpoint folder that belongs to results folder ``out``."""
    target = Path(out)
    return target.parent / f".{target.name}.checkpoint"


class Checkpoint:
    """The finished replications of one planned run, one file each."""

    def __init__(self, folder: Path, plan: dict[str, Any]):
        self.folder = folder
        self.plan = plan

    @classmethod
    def open(cls, out: str | Path, plan: dict[str, Any], resume: bool) -> Checkpoint:
        """Start a checkpoint for results folder ``out``. With ``resume``, keep what an earlier
        run of the same plan saved (refusing one made for another plan); without, start afresh."""
        folder = checkpoint_folder(out)
        plan_file = folder / PLAN
        if folder.exists() and resume and plan_file.exists():
            try:
                old = json.loads(plan_file.read_text())
            except (OSError, ValueError) as e:
                raise FlowsimError(f"{plan_file}: cannot read the checkpoint plan ({e}); run "
                                   "without --resume to start again") from e
            differs = [k for k in sorted(set(plan) | set(old)) if plan.get(k) != old.get(k)]
            if differs:
                raise FlowsimError(
                    f"cannot resume into {out}: the checkpoint in {folder} was made for a "
                    f"different run ({', '.join(differs)} differ); run with the same scenario "
                    "files and options, or without --resume to start again")
            return cls(folder, plan)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_atomic(plan_file, (json.dumps(plan, indent=2, sort_keys=True) + "\n").encode())
        return cls(folder, plan)

    def _file(self, scenario: int, replication: int) -> Path:
        return self.folder / f"s{scenario}-r{replication}.pkl"

    def load(self, scenario: int, replication: int) -> Any | None:
        """The saved result of ``replication`` of the ``scenario``-th scenario, if any."""
        path = self._file(scenario, replication)
        if not path.exists():
            return None
        with open(path, "rb") as f:
            return pickle.load(f)

    def save(self, scenario: int, replication: int, result: Any) -> None:
        _write_atomic(self._file(scenario, replication),
                      pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
