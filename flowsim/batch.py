"""Batch files for ``flowsim check``: scenarios to run and the KPI bounds their means must keep.

A CI pipeline runs a batch on every change to a scenario file and fails when a key figure leaves
its bounds. The file is validated like a scenario (``file:line`` errors, unknown keys refused),
and every scenario and KPI name is checked before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import Problem, ScenarioError
from .loader import (
    ExtendsRefused,
    InsideRoot,
    Unreadable,
    default_root,
    load_scenario,
    read_regular_file,
    read_yaml,
    validation_problems,
)
from .scenario import MAX_ITEMS, MAX_RUN_DAYS, Scenario, with_run_length

if TYPE_CHECKING:
    import pandas as pd


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(_Frozen):
    """The mean across replications must lie within ``[min, max]`` (either may be left out)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class BatchEntry(_Frozen):
    file: str
    expect: dict[str, Bound] = Field(default_factory=dict)


class Batch(_Frozen):
    """Run settings shared by every scenario of the batch, and the scenarios with their bounds."""

    replications: int = Field(default=5, ge=1, le=100_000)
    seed: int = Field(default=12345, ge=0)
    days: float | None = Field(default=None, gt=0, le=MAX_RUN_DAYS, allow_inf_nan=False)
    warmup_days: float | None = Field(default=None, ge=0, le=MAX_RUN_DAYS, allow_inf_nan=False)
    jobs: int = Field(
        default=0, ge=0, le=1024, description="worker processes; 0 means one per core"
    )
    scenarios: list[BatchEntry] = Field(min_length=1, max_length=MAX_ITEMS)


@dataclass
class LoadedBatch:
    batch: Batch
    scenarios: list[Scenario]
    bounds: list[dict[str, Bound]]


def kpi_names(s: Scenario) -> set[str]:
    """Every KPI name a run of ``s`` reports (from the registry, :func:`flowsim.kpis.kpi_names`)."""
    from .kpis import kpi_names as registry_names

    return registry_names(s)


def load_batch(path: str | Path, root: str | Path | None = None) -> LoadedBatch:
    """Read and check a batch file and the scenarios it names (relative to the batch file).

    The scenarios, and the files they extend, must be ``.yaml``/``.yml`` files inside ``root``
    (by default the current folder if the batch file is inside it, else the batch file's own
    folder), so that a batch in a pull request cannot make CI read the runner's other files."""
    p = Path(path)
    name = str(path)
    where = InsideRoot(Path(root) if root is not None else default_root(p))
    try:
        text = read_regular_file(p).decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(
            [Problem(name, None, None, "", "not a text file (not UTF-8)")]
        ) from None
    except Unreadable as e:  # its reasons never hold the file's content
        raise ScenarioError([Problem(name, None, None, "", str(e))]) from None
    data, marks = read_yaml(text, name)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(name, 1, 1, "", "a batch file must be a mapping of fields")])
    try:
        batch = Batch.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(validation_problems(e, marks, name, Batch)) from None
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    for i, entry in enumerate(batch.scenarios):
        try:
            f, line, col = marks.get(("scenarios", i, "file"), (name, None, None))
            try:
                where.resolve(entry.file, p)
            except ExtendsRefused as e:
                raise ScenarioError(
                    [Problem(f, line, col, f"scenarios.{i}.file", str(e))]
                ) from None
            s = load_scenario(p.parent / entry.file, root=where.root)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        if batch.days is not None or batch.warmup_days is not None:
            s = with_run_length(s, batch.days, batch.warmup_days)
        known = kpi_names(s)
        for kpi in entry.expect:
            if kpi not in known:
                f, line, col = marks.get(("scenarios", i, "expect", kpi), (name, None, None))
                problems.append(
                    Problem(
                        f,
                        line,
                        col,
                        f"scenarios.{i}.expect.{kpi}",
                        f"unknown KPI for scenario '{s.name}'",
                    )
                )
        scenarios.append(s)
    names = [s.name for s in scenarios]
    for i, s in enumerate(scenarios):
        if names.count(s.name) > 1:
            f, line, col = marks.get(("scenarios", i, "file"), (name, None, None))
            problems.append(
                Problem(
                    f,
                    line,
                    col,
                    f"scenarios.{i}.file",
                    f"scenario name '{s.name}' appears twice in the batch",
                )
            )
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
    return LoadedBatch(batch, scenarios, [e.expect for e in batch.scenarios])


def broken_bounds(
    summary: pd.DataFrame, scenarios: list[Scenario], bounds: list[dict[str, Bound]]
) -> list[str]:
    """A line for each KPI mean outside its bounds (a NaN mean breaks any bound)."""
    means = {(r.scenario, r.kpi): r for r in summary.itertuples(index=False)}
    out = []
    for s, expect in zip(scenarios, bounds, strict=True):
        for kpi, bound in expect.items():
            row = means.get((s.name, kpi))
            mean = float("nan") if row is None else float(row.mean)
            low_ok = bound.min is None or mean >= bound.min
            high_ok = bound.max is None or mean <= bound.max
            if not (low_ok and high_ok) or mean != mean:
                want = " and ".join(
                    x
                    for x in (
                        f">= {bound.min:g}" if bound.min is not None else "",
                        f"<= {bound.max:g}" if bound.max is not None else "",
                    )
                    if x
                )
                ci = "" if row is None else f" (95% CI {row.ci_low:.4g} to {row.ci_high:.4g})"
                out.append(f"{s.name}: {kpi} = {mean:.4g}{ci}, expected {want}")
    return out
