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

Each replication is kept as a NumPy ``.npz`` file of plain arrays plus a JSON header, read back
with pickling switched off, so that a checkpoint folder is data and never code.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FlowsimError
from .replication import ReplicationResult

PLAN = "plan.json"

FORMAT = 2
"""What a saved replication holds. Raised whenever :class:`ReplicationResult`'s fields or their
meaning change (2: time in department by the minute, occupancy levels), so that a checkpoint
saved by an earlier build is refused on resume instead of read wrongly."""


def checkpoint_folder(out: str | Path) -> Path:
    """The checkpoint folder that belongs to results folder ``out``."""
    target = Path(out)
    return target.parent / f".{target.name}.checkpoint"


class Checkpoint:
    """The finished replications of one planned run, one file each. Nothing is made on disk until
    the first replication is saved, so a run refused before it starts leaves nothing behind."""

    def __init__(self, folder: Path, plan: dict[str, Any], started: bool = True):
        self.folder = folder
        self.plan = plan
        self._started = started

    @classmethod
    def open(cls, out: str | Path, plan: dict[str, Any], resume: bool) -> Checkpoint:
        """The checkpoint for results folder ``out``. With ``resume``, keep what an earlier run
        of the same plan saved (refusing one made for another plan); without, an earlier one is
        replaced when this run saves its first replication."""
        folder = checkpoint_folder(out)
        plan_file = folder / PLAN
        if folder.exists() and resume and plan_file.exists():
            try:
                old = json.loads(plan_file.read_text())
            except (OSError, ValueError) as e:
                raise FlowsimError(
                    f"{plan_file}: cannot read the checkpoint plan ({e}); run "
                    "without --resume to start again"
                ) from e
            differs = [k for k in sorted(set(plan) | set(old)) if plan.get(k) != old.get(k)]
            if differs:
                raise FlowsimError(
                    f"cannot resume into {out}: the checkpoint in {folder} was made for a "
                    f"different run ({', '.join(differs)} differ); run with the same scenario "
                    "files and options, or without --resume to start again"
                )
            return cls(folder, plan)
        return cls(folder, plan, started=False)

    def _start(self) -> None:
        """Make the folder and its plan, replacing an earlier run's checkpoint."""
        try:
            if self.folder.exists():
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True)
            _write_atomic(
                self.folder / PLAN,
                (json.dumps(self.plan, indent=2, sort_keys=True) + "\n").encode(),
            )
        except OSError as e:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise CheckpointError(self.folder, e) from e
        self._started = True

    def _file(self, scenario: int, replication: int) -> Path:
        return self.folder / f"s{scenario}-r{replication}.npz"

    def load(self, scenario: int, replication: int) -> ReplicationResult | None:
        """The saved result of ``replication`` of the ``scenario``-th scenario, if any."""
        if not self._started:
            return None
        path = self._file(scenario, replication)
        if not path.exists():
            return None
        try:
            return ReplicationResult(**_decode(path))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise FlowsimError(
                f"{path}: cannot read this saved replication ({e}); run without "
                "--resume to start again"
            ) from e

    def save(self, scenario: int, replication: int, result: ReplicationResult) -> None:
        if not self._started:
            self._start()
        try:
            _write_atomic(self._file(scenario, replication), _encode(result))
        except OSError as e:
            raise CheckpointError(self.folder, e) from e

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class CheckpointError(FlowsimError):
    """A finished replication could not be saved (a full disk, a read-only folder): the run stops
    rather than go on without being able to resume."""

    def __init__(self, folder: Path, cause: OSError):
        super().__init__(
            f"{folder}: cannot save finished replications ({cause.strerror or cause}); the run "
            "stopped and wrote no results. Free some space (or choose another --out) and run "
            "again; add --resume to keep the replications already saved"
        )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _encode(result: ReplicationResult) -> bytes:
    """A replication's result (a dataclass of strings, numbers, a dict of floats, arrays, dicts
    and tuples of arrays) as ``.npz`` bytes: the arrays as arrays, everything else in a JSON
    header that also says how to put each field back together."""
    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = {}

    def put(key: str, a: np.ndarray) -> dict[str, Any]:
        text = a.dtype == object
        arrays[key] = a.astype(str) if text else a
        return {"array": key, "text": bool(text)}

    for f in fields(result):
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray):
            header[f.name] = put(f.name, value)
        elif isinstance(value, tuple):
            header[f.name] = {"tuple": [put(f"{f.name}.{i}", a) for i, a in enumerate(value)]}
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, np.ndarray) for v in value.values())
        ):
            header[f.name] = {"arrays": {k: put(f"{f.name}.{k}", a) for k, a in value.items()}}
        else:
            header[f.name] = {"value": value}
    arrays["__header__"] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _decode(path: Path) -> dict[str, Any]:
    """The fields written by :func:`_encode`, read with pickling off."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["__header__"]))

        def get(spec: dict[str, Any]) -> np.ndarray:
            a: np.ndarray = data[spec["array"]]
            return a.astype(object) if spec["text"] else a

        out: dict[str, Any] = {}
        for name, spec in header.items():
            if "array" in spec:
                out[name] = get(spec)
            elif "tuple" in spec:
                out[name] = tuple(get(s) for s in spec["tuple"])
            elif "arrays" in spec:
                out[name] = {k: get(s) for k, s in spec["arrays"].items()}
            else:
                out[name] = spec["value"]
    return out
