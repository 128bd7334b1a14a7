"""Search levers: the numbers in a scenario that a capacity search may change, named by path.

A lever is written as the path to one number in the scenario, as a flow coach reads the file:
``places.wards.capacity``, ``staff.ed_doctor.count``, ``staff.ed_doctor.shifts.late.count``,
``arrivals.walk_in.per_day``. :func:`scenario_levers` lists every such number a scenario has;
:func:`with_lever` returns a copy of the scenario with one of them changed, checked by the same
rules a scenario file is (a bed count is a whole number, never negative).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from ..distributions import _Dist
from ..errors import FlowsimError
from ..scenario import Scenario

_NOT_LEVERS = frozenset(
    {
        "run",
        "classes",
        "start",
        "end",
        "priority",
        "open_hours",
        "class_mix",
        "next",
        "next_by_class",
    }
)
"""Fields that hold numbers but are not amounts to search over: run settings, clock times of
shifts and opening hours, class priorities, and shares that must add up to 1 with others."""


class LeverError(FlowsimError):
    """A lever that the scenario does not have, that is not a number, or a value it cannot take."""


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, float]]:
    if isinstance(node, _Dist):
        return  # a duration's parameters are not an amount of capacity or demand
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            if name not in _NOT_LEVERS:
                yield from _walk(getattr(node, name), (*path, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield ".".join(path), node


def scenario_levers(scenario: Scenario) -> dict[str, float]:
    """Every lever of ``scenario`` with its value now, in the file's order."""
    return dict(_walk(scenario, ()))


def lever_kind(scenario: Scenario, lever: str) -> type:
    """``int`` for a lever that takes whole numbers (beds, staff), ``float`` otherwise."""
    return int if isinstance(lever_value(scenario, lever), int) else float


def lever_value(scenario: Scenario, lever: str) -> float:
    """The value of ``lever`` in ``scenario``; a :class:`LeverError` listing the scenario's levers
    if it has no such number."""
    levers = scenario_levers(scenario)
    if lever not in levers:
        known = ", ".join(levers) or "none"
        raise LeverError(
            f"scenario '{scenario.name}' has no number at '{lever}' to search over; its "
            f"levers are: {known}"
        )
    return levers[lever]


def with_lever(scenario: Scenario, lever: str, value: float) -> Scenario:
    """``scenario`` with the number at ``lever`` set to ``value``, checked as a file would be."""
    current = lever_value(scenario, lever)
    if isinstance(current, int):
        if float(value) != int(value):
            raise LeverError(f"{lever} takes whole numbers; {value:g} is not one")
        value = int(value)
    parts = lever.split(".")
    try:
        out = _replace(scenario, parts, value)
    except ValidationError as e:
        reason = "; ".join(err["msg"] for err in e.errors())
        raise LeverError(f"{lever} cannot be {value:g}: {reason}") from None
    assert isinstance(out, Scenario)
    return out


def _replace(node: Any, parts: list[str], value: float) -> Any:
    """A copy of ``node`` with the number at ``parts`` replaced; the model holding the number is
    validated again, so its field and whole-model checks apply to the new value."""
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        return {**node, head: _replace(node[head], rest, value)}
    assert isinstance(node, BaseModel)
    new = value if not rest else _replace(getattr(node, head), rest, value)
    fields = {name: getattr(node, name) for name in type(node).model_fields}
    fields[head] = new
    return type(node).model_validate(fields)
