"""Errors a user can act on: each names the file, line and column, the field path and what was
expected, so that ``flowsim validate`` can list them all and exit 2 instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{where}:{field} {self.message}"


class FlowsimError(Exception):
    """Base for errors that flowsim reports to users without a traceback."""


class ScenarioError(FlowsimError):
    """A scenario (or batch) file is not valid; ``problems`` lists everything found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
