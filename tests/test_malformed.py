"""The malformed-scenario corpus: each file in ``tests/malformed/`` is a mistake a flow coach might
make, and says in its first lines what must be reported::

    # expect: line=<N> path=<dotted.path or -> contains=<words the message must contain>

Every expected problem must be reported (line exactly, field path exactly, ``-`` for none), by
``load_scenario`` and by ``flowsim validate``, which must exit 2 without a traceback. Files without
an expect line (none at present) would be helpers, such as the base of an overlay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowsim.errors import ScenarioError
from flowsim.loader import load_scenario

CORPUS = Path(__file__).parent / "malformed"
EXPECT = re.compile(r"^# expect: line=(\d+) path=(\S+) contains=(.+)$")


@dataclass(frozen=True)
class Expected:
    line: int
    path: str
    contains: str


def _expectations(f: Path) -> list[Expected]:
    # Read leniently: one case is deliberately not UTF-8 after its expect line.
    text = f.read_bytes().decode("utf-8", errors="replace")
    out = []
    for raw in text.splitlines():
        m = EXPECT.match(raw.rstrip("\r"))
        if m:
            path = "" if m.group(2) == "-" else m.group(2)
            out.append(Expected(int(m.group(1)), path, m.group(3).strip()))
    return out


CASES = sorted(f for f in CORPUS.rglob("*.yaml") if _expectations(f))


def _id(f: Path) -> str:
    return f.relative_to(CORPUS).as_posix()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_every_expect_line_is_well_formed() -> None:
    # A typo in "# expect:" would silently drop a case; catch it.
    for f in CORPUS.rglob("*.yaml"):
        first = f.read_bytes().split(b"\n", 1)[0].decode("utf-8", errors="replace")
        if first.startswith("# expect"):
            assert EXPECT.match(first), f"{_id(f)}: malformed expect line {first!r}"


@pytest.mark.parametrize("f", CASES, ids=_id)
def test_load_reports_every_expected_problem(f: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    problems = info.value.problems
    assert problems, "a ScenarioError must list at least one problem"
    shown = "\n".join(str(p) for p in problems)
    for want in _expectations(f):
        assert any(
            p.line == want.line and p.path == want.path and want.contains in p.message
            for p in problems
        ), (
            f"expected line={want.line} path={want.path or '-'} contains={want.contains!r}; "
            f"got:\n{shown}"
        )


@pytest.mark.parametrize("f", CASES, ids=_id)
def test_cli_validate_exits_2_naming_the_line(f: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flowsim.cli import main

    code = main(["validate", str(f)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    for want in _expectations(f):
        assert f"{f}:{want.line}:" in err, err
