"""A seeded fuzz of the loader: mutants of the shipped scenarios (keys dropped or duplicated,
values of the wrong type, huge, tiny, negative, NaN or infinite numbers, long strings, deep
nesting, odd characters, broken YAML, wrong references) through ``flowsim validate``. Every
mutant must give exit 0, or exit 2 with ``file:line`` messages, never another exception; the
valid ones also run one short replication, which must finish.

The seed is fixed, so a failure names a mutant that can be made again: ``FUZZ_SEED`` and
``FUZZ_MUTANTS`` in the environment change it locally."""

from __future__ import annotations

import copy
import os
import random
import re
import resource
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowsim import cli
from flowsim.loader import load_scenario
from flowsim.replication import run_replication
from flowsim.scenario import Scenario, with_run_length

from .shared import SCENARIO_FILES, SCENARIOS

SEED = int(os.environ.get("FUZZ_SEED", "20251201"))
MUTANTS = int(os.environ.get("FUZZ_MUTANTS", "320"))
MAX_ARRIVALS = 3_000
"""A valid mutant expected to bring more patients than this in its short run is not run (the
bounds keep it finite; the test keeps it quick)."""

SECONDS_PER_MUTANT = 20.0
"""No mutant may take longer than this to validate and run (a few hundredths of a second is usual):
past it, the loader hangs on some input."""
MEMORY_GROWTH_MB = 1024
"""The whole fuzz may raise the test process's peak memory by no more than this."""


@contextmanager
def _time_bound(what: str) -> Iterator[None]:
    """Fail, naming ``what``, if the block takes longer than :data:`SECONDS_PER_MUTANT`."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what}: still going after {SECONDS_PER_MUTANT:g} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_MUTANT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


ODD_VALUES: list[Any] = [
    None,
    True,
    "",
    "text",
    0,
    -1,
    -1e-9,
    1e-320,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    10**40,
    [],
    {},
    [1, 2, 3],
    {"dist": "gamma", "mean": 1e-200, "sd": 1e200},
    {"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]},
    [1e308, 1e308] + [0] * 22,
    "x" * 3000,
    "45min",
    "99999999d",
    "-5min",
    "08:30",
    "2025-02-30",
    "unlimited",
    "\u202eodd\u2028 \u2603 \U0001f600",
    "exit",
    "nowhere",
    "../../../../etc/passwd",
]
ODD_TEXT = [
    *":[]{}&*!|>'\"%@`\t\x0c\x00\x85\u2028\ufeff",
    "- ",
    "<<: *nowhere",
    "!!python/object:os.system",
]
FILE_LINE = re.compile(r"^(?P<file>[^\n]+?\.ya?ml):\d+(:\d+)?: ")


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in ``data``."""
    out = [at]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*at, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def _names(data: Any) -> list[str]:
    return [k for p in _paths(data) for k in p if isinstance(k, str)]


def _mutate_data(rng: random.Random, data: dict[str, Any]) -> dict[str, Any] | None:
    data = copy.deepcopy(data)
    paths = [p for p in _paths(data) if p]
    if not paths:
        return None
    path = rng.choice(paths)
    parent, key = _parent(data, path), path[-1]
    kind = rng.randrange(6)
    if kind == 0:  # drop
        del parent[key]
    elif kind == 1:  # a value of another type, or out of range
        parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif kind == 2 and isinstance(parent, dict):  # rename: a reference now points nowhere
        value = parent.pop(key)
        parent[rng.choice([f"{key}_x", "exit", "x" * 300, "1bad", rng.choice(_names(data))])] = (
            value
        )
    elif kind == 3:  # a number scaled wildly
        value = parent[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = value * rng.choice([-1, 0, 1e-300, 1e300, 10**6, 1e308])
        else:
            parent[key] = rng.choice([1e308, -1, float("nan")])
    elif kind == 4:  # a reference swapped for another name in the file
        parent[key] = rng.choice(_names(data) or ["x"])
    else:  # deep nesting
        deep: Any = 1
        for _ in range(rng.choice([10, 60, 300])):
            deep = [deep] if rng.random() < 0.5 else {"k": deep}
        parent[key] = deep
    return data


def _mutate_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    kind = rng.randrange(5)
    i = rng.randrange(len(lines))
    if kind == 0:  # a key written twice
        keyed = [j for j, line in enumerate(lines) if re.match(r"\s*[\w-]+:", line)]
        j = rng.choice(keyed) if keyed else i
        lines.insert(j + 1, lines[j])
    elif kind == 1:  # a character deleted
        at = rng.randrange(len(text))
        return text[:at] + text[at + 1 :]
    elif kind == 2:  # an odd character inserted
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(ODD_TEXT) + text[at:]
    elif kind == 3:  # cut short
        return text[: rng.randrange(len(text) + 1)]
    else:  # a line indented wrongly
        lines[i] = rng.choice(["", " ", "   ", "\t"]) + lines[i]
    return "".join(lines)


def _expected_arrivals(s: Scenario) -> float:
    days = s.horizon / 1440.0
    total = 0.0
    for a in s.arrivals.values():
        week = max(a.weekday_factors) * 7 / sum(a.weekday_factors) if a.per_day else 0
        surge = 1.0
        for x in a.surges.values():
            surge *= x.factor
        total += a.per_day * week * surge * days
    return total


@pytest.mark.slow
def test_mutants_of_the_shipped_scenarios_are_accepted_or_refused_with_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    monkeypatch.chdir(tmp_path)  # the scenarios root: changes extend ../baseline.yaml
    sources = [f.relative_to(SCENARIOS) for f in SCENARIO_FILES]
    texts = {rel: (SCENARIOS / rel).read_text(encoding="utf-8") for rel in sources}
    rng = random.Random(SEED)
    valid = refused = ran = 0
    peak_before = _peak_mb()
    for n in range(MUTANTS):
        rel = rng.choice(sources)
        text = texts[rel]
        if rng.random() < 0.6:
            data = _mutate_data(rng, yaml.safe_load(text))
            if data is None:
                continue
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=rng.random() < 0.5)
        else:
            text = _mutate_text(rng, text)
        mutant = folder / rel.parent / f"mutant_{n}.yaml"
        mutant.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        with _time_bound(f"mutant {n} of {rel}, validating"):
            code = cli.main(["validate", str(mutant.relative_to(tmp_path))])
        out = capsys.readouterr()
        assert code in (0, 2), f"mutant {n} of {rel}: exit {code}\n{out.err}"
        if code == 2:
            refused += 1
            lines = out.err.splitlines()
            assert lines, f"mutant {n} of {rel}: exit 2 without a message"
            for line in lines:
                assert FILE_LINE.match(line), f"mutant {n} of {rel}: no file:line in {line!r}"
            continue
        valid += 1
        s = with_run_length(load_scenario(mutant), 1, 0)
        if _expected_arrivals(s) <= MAX_ARRIVALS:
            with _time_bound(f"mutant {n} of {rel}, running"):
                result = run_replication(s, 0, 1)
            assert result.scenario == s.name
            ran += 1
        mutant.unlink()
    print(f"\nfuzz (seed {SEED}): {MUTANTS} mutants, {valid} valid ({ran} run), {refused} refused")
    grown = _peak_mb() - peak_before
    assert grown < MEMORY_GROWTH_MB, f"the fuzz raised peak memory by {grown:.0f} MB"
    # Both outcomes must be exercised, or the mutator has stopped testing something.
    assert valid >= MUTANTS // 20 and refused >= MUTANTS // 2
