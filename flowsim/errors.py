"""Errors a user can act on: each names the file, line and column, the field path and what was
expected, so that ``flowsim validate`` can list them all and exit 2 instead of a traceback."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return _one_line(f"{where}:{field} {self.message}")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped: a value echoed from a
    file must not start a line of its own (a forged message in a CI log) or hide text."""
    return "".join(
        c
        if c == " " or unicodedata.category(c)[0] not in "CZ"
        else c.encode("unicode_escape").decode()
        for c in text
    )


class FlowsimError(Exception):
    """Base for errors that flowsim reports to users without a traceback."""


class ScenarioError(FlowsimError):
    """A scenario (or batch) file is not valid; ``problems`` lists everything found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ReplicationError(FlowsimError):
    """A replication failed; says which, so that it can be re-run on its own. ``failures``
    lists every failed replication of the run when none succeeded."""

    def __init__(
        self,
        scenario: str,
        replication: int,
        seed: int,
        cause: BaseException,
        failures: pd.DataFrame | None = None,
    ):
        self.scenario, self.replication, self.seed = scenario, replication, seed
        self.failures = failures
        super().__init__(
            f"scenario '{scenario}', replication {replication} (seed {seed}) "
            f"failed: {type(cause).__name__}: {cause}"
        )
