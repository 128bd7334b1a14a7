"""Hostile and clumsy scenario files (issue 10): ``extends`` cannot read outside the scenarios
root nor block on a device or pipe, no other file's content is ever shown, and every oversized,
deep, long or overflowing input gives a ``file:line`` message at load time, never a traceback
or a silently wrong run."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from flowsim import cli
from flowsim.errors import ScenarioError
from flowsim.loader import MAX_DEPTH, MAX_EXTENDS, load_scenario
from flowsim.scenario import MAX_ITEMS, Place, Scenario, Stage, network_problems

from .shared import TINY

SECRET_KEYS = ("aws_secret_access_key", "db_password")
SECRET_VALUES = ("AKIAZZSECRETVALUE42", "hunter2-correct-horse")
SECRET_YAML = f"{SECRET_KEYS[0]}: {SECRET_VALUES[0]}\n{SECRET_KEYS[1]}: {SECRET_VALUES[1]}\n"
SECRET_TEXT = f"root:{SECRET_VALUES[0]}:19000:0:99999:7:::\n{SECRET_KEYS[1]}={SECRET_VALUES[1]}\n"


def _never_shown(text: str) -> None:
    for secret in (*SECRET_KEYS, *SECRET_VALUES):
        assert secret not in text


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``repo/`` (the current folder: the scenarios root) with a scenario, and ``outside/``
    beside it holding secrets in a YAML file and in a plain one."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "tiny.yaml").write_text(TINY)
    (outside / "secret.yaml").write_text(SECRET_YAML)
    (outside / "shadow").write_text(SECRET_TEXT)
    monkeypatch.chdir(repo)
    return repo


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(["validate", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


# -- 2. file disclosure through extends ---
@pytest.mark.parametrize("target", ["../outside/secret.yaml", "../outside/shadow"])
def test_extends_outside_the_root_is_refused_without_showing_the_file(
    layout: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    f = layout / "leak.yaml"
    f.write_text(f"name: leak\nextends: {target}\n")
    code, shown = _validate(capsys, "leak.yaml")
    assert code == 2
    assert f"leak.yaml:2:1: extends: {target} is outside the scenarios root" in shown
    _never_shown(shown)


def test_run_and_check_never_show_a_file_outside_the_root(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layout / "leak.yaml").write_text("extends: ../outside/secret.yaml\n")
    (layout / "batch.yaml").write_text(
        "replications: 1\nscenarios:\n  - file: leak.yaml\n  - file: ../outside/secret.yaml\n"
        "  - file: ../outside/shadow\n"
    )
    assert cli.main(["run", "leak.yaml", "-q", "--out", "r", "-r", "1", "--days", "1"]) == 2
    assert cli.main(["check", "batch.yaml", "-q"]) == 2
    shown = "".join(capsys.readouterr())
    assert "batch.yaml:4:5: scenarios.1.file: ../outside/secret.yaml is outside" in shown
    assert "batch.yaml:5:5: scenarios.2.file: ../outside/shadow is outside" in shown
    assert shown.count("leak.yaml:1:1: extends: ../outside/secret.yaml is outside") == 2
    _never_shown(shown)
    assert not (layout / "r").exists()


def test_a_yaml_file_inside_the_root_that_is_not_a_scenario_shows_no_keys(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layout / "ci.yaml").write_text(SECRET_YAML)
    (layout / "over.yaml").write_text("extends: ci.yaml\n")
    code, shown = _validate(capsys, "over.yaml", "ci.yaml")
    assert code == 2
    assert "ci.yaml:1:1: not a scenario file" in shown
    _never_shown(shown)


def test_the_root_is_the_files_folder_when_it_is_outside_the_current_folder(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # From repo/, a file in outside/ may extend only within outside/.
    (layout.parent / "outside" / "base.yaml").write_text(TINY)
    (layout.parent / "outside" / "sub").mkdir()
    ok = layout.parent / "outside" / "over.yaml"
    ok.write_text("extends: base.yaml\n")
    up = layout.parent / "outside" / "sub" / "up.yaml"
    up.write_text("extends: ../base.yaml\n")
    code, shown = _validate(capsys, str(ok), str(up))
    assert code == 2
    assert f"{ok}: ok" in shown
    assert f"{up}:1:1: extends: ../base.yaml is outside the scenarios root" in shown
    code, shown = _validate(capsys, str(up), "--scenarios-root", str(layout.parent / "outside"))
    assert code == 0, shown


def test_a_symlink_out_of_the_root_is_refused(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layout / "base.yaml").symlink_to(layout.parent / "outside" / "secret.yaml")
    (layout / "over.yaml").write_text("extends: base.yaml\n")
    code, shown = _validate(capsys, "over.yaml")
    assert code == 2
    assert "over.yaml:1:1: extends: base.yaml is outside the scenarios root" in shown
    _never_shown(shown)


def test_extends_reads_only_yaml_files_even_inside_the_root(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layout / "notes.txt").write_text(TINY)
    (layout / "over.yaml").write_text("extends: notes.txt\n")
    code, shown = _validate(capsys, "over.yaml", "--scenarios-root", "/")
    assert code == 2
    assert "over.yaml:1:1: extends: notes.txt is not a .yaml or .yml file" in shown


@pytest.mark.parametrize("root", [None, "/"])
def test_extends_dev_zero_is_refused_without_reading_it(
    layout: Path, capsys: pytest.CaptureFixture[str], root: str | None
) -> None:
    (layout / "zero.yaml").write_text("extends: /dev/zero\n")
    started = time.monotonic()
    code, shown = _validate(capsys, "zero.yaml", *(["--scenarios-root", root] if root else []))
    assert code == 2
    assert "zero.yaml:1:1: extends: /dev/zero is " in shown
    assert time.monotonic() - started < 60  # reading /dev/zero would never end


def test_a_device_named_yaml_inside_the_root_is_refused(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layout / "zero.yaml").symlink_to("/dev/zero")
    (layout / "over.yaml").write_text("extends: zero.yaml\n")
    code, shown = _validate(capsys, "over.yaml", "zero.yaml", "--scenarios-root", "/")
    assert code == 2
    assert "over.yaml:1:1: extends: zero.yaml is not a .yaml or .yml file" in shown
    assert "zero.yaml: is not a regular file" in shown  # named directly: refused, not read


FIFO_SCRIPT = """
import sys
from flowsim.cli import main
sys.exit(main(["validate", *sys.argv[1:]]))
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_directly_or_by_extends_does_not_block(layout: Path) -> None:
    os.mkfifo(layout / "pipe.yaml")
    (layout / "over.yaml").write_text("extends: pipe.yaml\n")
    done = subprocess.run(
        [sys.executable, "-c", FIFO_SCRIPT, "pipe.yaml", "over.yaml"],
        cwd=layout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "pipe.yaml: is not a regular file" in done.stderr
    assert "over.yaml:1:1: extends: pipe.yaml is not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_load_scenario_takes_a_root(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    (tmp_path / "changes").mkdir()
    over = tmp_path / "changes" / "over.yaml"
    over.write_text("extends: ../base.yaml\n")
    with pytest.raises(ScenarioError, match="outside the scenarios root"):
        load_scenario(over)  # tmp_path is not the current folder: the file's folder is the root
    assert load_scenario(over, root=tmp_path).name == "over"


# -- 6. tracebacks instead of messages ---
def _problems(f: Path, root: Path | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(f, root=root)
    return [str(p) for p in info.value.problems]


def test_yaml_nested_500_deep_is_refused_at_its_line(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(TINY + "description: " + "[" * 500 + "]" * 500 + "\n")
    [p] = _problems(flow)
    line = TINY.count("\n") + 1
    assert p.startswith(f"{flow}:{line}:") and f"nested more than {MAX_DEPTH} deep" in p
    block = tmp_path / "block.yaml"
    block.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(500)) + "  " * 500 + "x: 1\n")
    [p] = _problems(block)
    assert p.startswith(f"{block}:{MAX_DEPTH + 1}:") and "nested more than" in p


def test_aliases_cannot_nest_past_the_bound(tmp_path: Path) -> None:
    deep = "[" * 40 + "1" + "]" * 40
    f = tmp_path / "alias.yaml"
    f.write_text(TINY + f"x-a: &a {deep}\nx-b: &b {'[' * 40}*a{']' * 40}\n")
    [p] = _problems(f)
    assert "nested more than" in p and "aliases" in p


def test_an_extends_chain_of_a_thousand_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f0.yaml").write_text(TINY)
    for i in range(1, 1000):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i - 1}.yaml\n")
    problems = _problems(tmp_path / "f999.yaml")
    assert problems == [
        f"{tmp_path / f'f{1000 - MAX_EXTENDS}.yaml'}:1:1: extends: the extends chain is longer "
        f"than {MAX_EXTENDS} files"
    ]


@pytest.mark.parametrize(
    ("extends", "says"),
    [
        ("a" * 300 + ".yaml", "the file name is 305 characters long; the limit is 255"),
        ("/".join(["b" * 250] * 3) + ".yaml", "the limit is 255"),
        ("c" * 250 + ".yaml", "no such file"),
        ("''", "extends is empty"),
        ("[]", "expected a file name"),
        ('"nul\\0.yaml"', "NUL"),
    ],
)
def test_odd_extends_give_a_message_at_the_line(tmp_path: Path, extends: str, says: str) -> None:
    f = tmp_path / "o.yaml"
    f.write_text(f"name: o\nextends: {extends}\n")
    [p] = _problems(f)
    assert p.startswith(f"{f}:2:1: extends: ") and says in p, p


def test_a_name_too_long_for_a_file_is_refused_at_load(tmp_path: Path) -> None:
    f = tmp_path / "long.yaml"
    f.write_text(TINY.replace("name: tiny", "name: " + "n" * 251))
    problems = _problems(f)
    assert len(problems) == 1
    assert problems[0].startswith(f"{f}:1:1: name: must be at most 64 characters long")
    assert len(problems[0]) < 250  # the value is cut short, not echoed whole


def test_a_long_file_name_gives_a_name_that_fits(tmp_path: Path) -> None:
    f = tmp_path / ("x" * 200 + ".yaml")
    f.write_text("\n".join(x for x in TINY.splitlines() if not x.startswith("name:")))
    assert load_scenario(f).name == "x" * 64


def test_a_form_feed_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "ff.yaml"
    f.write_text(TINY + 'description: "see\fover"\n')
    line = TINY.count("\n") + 1
    assert _problems(f) == [
        f"{f}:{line}:18: the character U+000C is not allowed in YAML; delete it"
    ]


@pytest.mark.parametrize("text", ["[]\n", "- 1\n- 2\n"])
def test_a_list_instead_of_a_scenario_has_a_line(tmp_path: Path, text: str) -> None:
    f = tmp_path / "l.yaml"
    f.write_text(text)
    [p] = _problems(f)
    assert p.startswith(f"{f}:1:1: a scenario must be a mapping")


@pytest.mark.parametrize("field", ["stages", "places", "staff", "classes", "arrivals"])
def test_counts_are_bounded(tmp_path: Path, field: str) -> None:
    data = yaml.safe_load(TINY)
    one = next(iter(data[field].values()))
    data[field] = {f"n{i}": one for i in range(MAX_ITEMS + 1)}
    f = tmp_path / "many.yaml"
    f.write_text(yaml.safe_dump(data))
    problems = _problems(f)
    assert any(f"{field}: needs at most {MAX_ITEMS} entries" in p for p in problems)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text(TINY + "description: " + "x" * 2_100_000 + "\n")
    assert _problems(f) == [f"{f}: file is {f.stat().st_size:,} bytes; the limit is 2,000,000"]


def test_a_thousand_limited_places_in_a_chain_do_not_exhaust_recursion() -> None:
    # Built without validation, as the file bound (500 places) would refuse it first.
    n = 3000
    places = {f"p{i}": Place(capacity=1) for i in range(n)}
    d = {"dist": "fixed", "value": 1}
    stages = {
        f"s{i}": Stage.model_validate({"place": f"p{i}", "duration": d, "next": {f"s{i + 1}": 1}})
        for i in range(n - 1)
    }
    stages[f"s{n - 1}"] = Stage.model_validate(
        {"place": f"p{n - 1}", "duration": d, "next": {"s0": 0.5, "exit": 0.5}}
    )
    s = Scenario.model_construct(
        name="chain", classes={}, arrivals={}, places=places, staff={}, stages=stages
    )
    problems = list(network_problems(s))
    assert len(problems) == 1
    assert problems[0][0] == ("places", "p0") and "deadlock" in problems[0][1]


# -- 10. paths that never end: linear ---
def _chain_with_a_loop(n: int) -> Scenario:
    """Stage i goes to i+1 and the last one exits; one more stage loops on itself forever."""
    d = {"dist": "fixed", "value": 1}
    stages = {
        f"s{i}": Stage.model_validate({"duration": d, "next": {f"s{i + 1}": 1}})
        for i in range(n - 1)
    }
    stages[f"s{n - 1}"] = Stage.model_validate({"duration": d})
    stages["loop"] = Stage.model_validate({"duration": d, "next": {"loop": 1}})
    return Scenario.model_construct(
        name="chain", classes={}, arrivals={}, places={}, staff={}, stages=stages
    )


def _fastest_check(s: Scenario) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        list(network_problems(s))
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.slow
def test_can_every_path_end_is_linear_in_the_stages() -> None:
    # A fixed-point sweep in file order learns one stage per sweep: quadratic, so 8 times the
    # stages take 64 times as long. One search back from exit is linear: about 8 times (12 seen,
    # with cache effects). A ratio of two timings in one run (fastest of 3 each) is what a noisy
    # machine keeps; an absolute time is not.
    small, large = _chain_with_a_loop(2000), _chain_with_a_loop(16000)
    ratio = _fastest_check(large) / _fastest_check(small)
    assert ratio < 32, f"8x the stages took {ratio:.1f}x as long: not linear"
    problems = list(network_problems(large))
    assert [p[0] for p in problems] == [("stages", "loop", "next")]


# -- 7. accepted, then failing or wrong at run time ---
def _with(tmp_path: Path, path: tuple[str, ...], value: object) -> Path:
    data = yaml.safe_load(TINY)
    at = data
    for key in path[:-1]:
        at = at.setdefault(key, {})
    at[path[-1]] = value
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    return f


def _stream(data: dict) -> str:
    return next(iter(data["arrivals"]))


def _stage(data: dict) -> str:
    return next(iter(data["stages"]))


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        (("stage", "duration"), {"dist": "gamma", "mean": 1e-200, "sd": 1e200}, "at most 3,660"),
        (("stage", "duration"), {"dist": "gamma", "mean": 1e-200, "sd": 1e6}, "times the mean"),
        (("stage", "duration"), {"dist": "lognormal", "mean": 1, "sd": 1e5}, "times the mean"),
        (
            ("stage", "duration"),
            {"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]},
            "add up to more than a number can hold",
        ),
        (("stream", "per_day"), 1e308, "must be at most 100,000"),
        (
            ("stream", "surges"),
            {"flu": {"from": "2025-01-06", "to": "2025-01-09", "factor": 1e308}},
            "must be at most 100,",
        ),
        (("stream", "hourly_profile"), [1e308, 1e308] + [0] * 22, "add up to more than"),
        (("stream", "weekday_factors"), [1e308] * 7, "add up to more than"),
        (("run", "length"), "100000d", "at most 3,660 days"),
        (("run", "warmup"), 1e300, "at most 3,660 days"),
    ],
)
def test_overflowing_inputs_are_refused_at_the_field(
    tmp_path: Path, where: tuple[str, str], value: object, says: str
) -> None:
    data = yaml.safe_load(TINY)
    if where[0] == "stage":
        path = ("stages", _stage(data), where[1])
    elif where[0] == "stream":
        path = ("arrivals", _stream(data), where[1])
    else:
        path = where
    f = _with(tmp_path, path, value)
    problems = _problems(f)
    assert any(p.split(": ", 2)[1].startswith(".".join(path)) and says in p for p in problems), (
        problems
    )
    assert all(p.startswith(f"{f}:") and p.split(":")[1].isdigit() for p in problems), problems


def test_schedules_refuse_an_overflowing_profile_rather_than_run_with_no_arrivals() -> None:
    from flowsim.schedules import hourly_rates

    s = load_scenario(yaml.safe_load(TINY))
    name = next(iter(s.arrivals))
    stream = s.arrivals[name].model_construct(
        **{**dict(s.arrivals[name]), "hourly_profile": [1e308, 1e308] + [0.0] * 22}
    )
    with pytest.raises(ArithmeticError, match="overflows"):
        hourly_rates(s, stream)
    ok = hourly_rates(s, s.arrivals[name])
    assert np.isfinite(ok).all() and ok.sum() > 0
    assert math.isclose(ok[:24].sum() * 60, s.arrivals[name].per_day, rel_tol=0.5)


def test_a_long_value_is_not_echoed_whole(tmp_path: Path) -> None:
    f = _with(tmp_path, ("run", "length"), "x" * 5000)
    [p] = _problems(f)
    assert len(p) < 400 and "5,002 characters" in p


def test_the_shipped_scenarios_keep_within_every_bound() -> None:
    from .shared import SCENARIOS

    for f in [*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("changes/*.yaml")]:
        if "batch" not in f.name:
            load_scenario(f, root=SCENARIOS)


@pytest.mark.parametrize("days", [1e6, float("inf"), float("nan")])
def test_a_run_length_given_apart_from_the_file_is_bounded_too(days: float) -> None:
    from flowsim.errors import FlowsimError
    from flowsim.scenario import with_run_length

    s = load_scenario(yaml.safe_load(TINY))
    with pytest.raises(FlowsimError, match="outside the limit"):
        with_run_length(s, days, None)
    with pytest.raises(FlowsimError, match="outside the limit"):
        with_run_length(s, None, days)
    assert with_run_length(s, 3660, 0).run.length == 3660 * 1440.0


# -- item 1: the size-driving reproductions are refused at their line, before anything runs ----
def _ten_thousand_stages() -> str:
    data = yaml.safe_load(TINY)
    data["stages"] = {
        f"s{i}": {"duration": "1min", "next": {f"s{i + 1}": 1.0}} for i in range(9999)
    }
    data["stages"]["s9999"] = {"duration": "1min"}
    data["arrivals"]["walk_in"]["first_stage"] = "s0"
    data["places"] = {}
    data["staff"] = {}
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (TINY.replace("per_day: 120", "per_day: 1000000"), "arrivals.walk_in.per_day"),
        (TINY.replace("per_day: 120", "per_day: 1e7"), "arrivals.walk_in.per_day"),
        (TINY.replace("length: 3d", "length: 1000000d"), "run.length"),
        pytest.param(_ten_thousand_stages(), "stages", marks=pytest.mark.slow),
    ],
    ids=["per_day 1e6", "per_day 1e7", "length 1000000d", "10,000 stages"],
)
def test_a_scenario_that_would_exhaust_memory_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    f = tmp_path / "huge.yaml"
    f.write_text(text)
    started = time.perf_counter()
    assert cli.main(["validate", str(f)]) == 2
    assert time.perf_counter() - started < 60  # refused while reading, not after building
    err = capsys.readouterr().err
    assert "huge.yaml:" in err and f": {where}" in err, err
    assert all(line.split(":")[1].isdigit() for line in err.splitlines()), err  # file:line
