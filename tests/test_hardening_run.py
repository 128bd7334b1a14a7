"""Issue 10, the run side: size-driving options are capped, a run's work is estimated and refused
past a budget before anything runs, results folders that must not or cannot be written are
refused before the run (and a failed write leaves nothing), worker processes can be given a
memory limit and die with the run that started them, and the local Dask cluster listens on
127.0.0.1 only."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import flowsim
from flowsim import budget, cli, experiment, output
from flowsim.scenario import RunSettings, Scenario

from .shared import TINY

# -- 1a. size-driving options are capped -----------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("-r", "1000000000"),
        ("--days", "100000"),
        ("--warmup-days", "100000"),
        ("--jobs", "100000"),
        ("--days", "inf"),
        ("--days", "nan"),
        ("--warmup-days", "-1"),
    ],
)
def test_size_options_past_their_cap_are_usage_errors(
    tiny_file: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["run", str(tiny_file)], ["compare", str(tiny_file), str(tiny_file)]):
        with pytest.raises(SystemExit) as stop:
            cli.main([*command, option, value])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "must be" in err and option.lstrip("-")[:1] in err


def test_options_of_the_other_commands_are_capped_too(tiny_file: Path) -> None:
    for argv in (
        ["check", "batch.yaml", "--jobs", "1000"],
        ["warmup", str(tiny_file), "--kpi", "x", "--days", "100000"],
        ["warmup", str(tiny_file), "--kpi", "x", "-r", "1000000000"],
        ["replications", str(tiny_file), "--kpi", "x", "--max", "1000000000"],
        ["validate-model", "--jobs", "1000"],
    ):
        with pytest.raises(SystemExit) as stop:
            cli._parser().parse_args(argv)
        assert stop.value.code == 2, argv


def test_caps_at_their_limit_are_accepted(tiny_file: Path) -> None:
    args = cli._parser().parse_args(
        ["run", str(tiny_file), "-r", "100000", "--days", "3660", "--warmup-days", "3660"]
        + ["--jobs", "256"]
    )
    assert (args.replications, args.days, args.warmup_days, args.jobs) == (
        100_000,
        3660.0,
        3660.0,
        256,
    )


def test_the_replications_cap_is_the_scenario_files_cap() -> None:
    [le] = [m.le for m in RunSettings.model_fields["replications"].metadata if hasattr(m, "le")]
    assert le == budget.MAX_REPLICATIONS
    assert budget.APP_MAX_PATIENTS < budget.CLI_MAX_PATIENTS


# -- 1b. the work of a run is estimated, and refused past a budget ---------------------------


def _tiny(**arrival: object) -> Scenario:
    data = yaml.safe_load(TINY)
    data["arrivals"]["walk_in"].update(arrival)
    return flowsim.load_scenario(data)


def test_the_estimate_is_close_to_what_a_run_simulates() -> None:
    s = _tiny()
    work = budget.estimate(s, 3, patients=True)
    assert work.patients == pytest.approx(120 * 4 * 3)  # per day x (warm-up + length) x reps
    ran = [experiment.run_replication(s, r, 7, patients=True) for r in range(3)]
    patients = sum(len(r.patient_class) for r in ran)  # type: ignore[arg-type]
    visits = sum(len(r.visits["patient"]) for r in ran)  # type: ignore[index]
    assert patients == pytest.approx(work.patients, rel=0.15)
    assert visits == pytest.approx(work.visits, rel=0.15)
    assert work.visits == pytest.approx(work.patients * 1.3)  # 30% go on to the ward
    assert work.visit_rows == work.visits and work.series_rows > 0
    assert budget.estimate(s, 3, patients=False).visit_rows == 0


def test_the_estimate_follows_weekdays_surges_and_a_partial_last_day() -> None:
    s = _tiny(
        weekday_factors=[2, 1, 1, 1, 1, 1, 1],
        surges={"flu": {"from": "2025-01-07", "to": "2025-01-07", "factor": 3.0}},
    )
    # Four days from Monday 6 January: Monday 2/1.1428 of the mean, Tuesday tripled.
    week = [2, 1, 1, 1, 1, 1, 1]
    mean = sum(week) / 7
    expected = 120 * (2 / mean + 3 / mean + 1 / mean + 1 / mean)
    assert budget.estimate(s, 1, False).patients == pytest.approx(expected)
    half = s.model_copy(update={"run": s.run.model_copy(update={"length": 3 * 1440 - 720})})
    assert budget.estimate(half, 1, False).patients == pytest.approx(expected - 120 / mean / 2)


def test_the_longest_chain_allowed_is_estimated_quickly() -> None:
    n = 500  # the most stages a scenario may have
    stages = {f"s{i}": {"duration": "1min", "next": {f"s{i + 1}": 1.0}} for i in range(n - 1)}
    stages[f"s{n - 1}"] = {"duration": "1min"}
    s = Scenario.model_validate(
        {
            "name": "chain",
            "run": {"warmup": "0d", "length": "1d"},
            "classes": {"a": {}},
            "arrivals": {"x": {"per_day": 10, "class_mix": {"a": 1}, "first_stage": "s0"}},
            "stages": stages,
        }
    )
    started = time.perf_counter()
    work = budget.estimate(s, 1, patients=False)
    assert time.perf_counter() - started < 3
    assert work.visits == pytest.approx(10 * n)


def test_a_loop_counts_every_revisit() -> None:
    data = yaml.safe_load(TINY)
    data["stages"]["assess"]["next"] = {"assess": 0.5, "exit": 0.5}
    s = flowsim.load_scenario(data)
    work = budget.estimate(s, 1, False)
    assert work.visits == pytest.approx(2 * work.patients)  # geometric: 1 / (1 - 0.5)


def test_an_overflowing_rate_is_an_unbounded_estimate_and_refused() -> None:
    s = _tiny()
    stream = s.arrivals["walk_in"].model_copy(update={"per_day": 1e308})
    huge = s.model_copy(update={"arrivals": {"walk_in": stream}})
    work = budget.estimate(huge, 10, False)
    assert work.patients == float("inf")
    with pytest.raises(budget.BudgetError, match="unbounded number of patients"):
        budget.check_budget(work, budget.CLI_MAX_PATIENTS)
    # And a thousand years is estimated without a thousand years of arrays.
    long = s.model_copy(update={"run": s.run.model_copy(update={"length": 365_000_000 * 1440})})
    assert budget.estimate(long, 1, False).patients == pytest.approx(120 * 365_000_001)


def test_the_budget_message_says_the_estimate_the_budget_and_how_to_raise_it() -> None:
    work = budget.estimate(_tiny(per_day=100_000), 10, patients=True)
    with pytest.raises(budget.BudgetError) as refused:
        budget.check_budget(work, 1_000_000)
    message = str(refused.value)
    assert "about 4,000,000 patients" in message
    assert "1,000,000 patients per run" in message and "--max-patients N" in message
    assert "GB" in work.describe() and "patient-visit table" in work.describe()
    budget.check_budget(budget.estimate(_tiny(), 3, False), 2_000)  # 1,440 patients: within
    with pytest.raises(budget.BudgetError, match="run it from the command line"):
        budget.check_budget(work, budget.APP_MAX_PATIENTS, how="")


def test_a_run_needing_more_memory_than_the_machine_has_is_refused(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    work = budget.estimate(_tiny(), 10, patients=True, workers=4)
    assert work.peak_bytes == pytest.approx(work.memory_bytes + 4 * work.worker_bytes)
    assert work.worker_bytes == 2 * budget.estimate(_tiny(), 10, False).worker_bytes
    with pytest.raises(budget.BudgetError, match="more than this machine's 1.0 MB of memory"):
        budget.check_budget(work, budget.CLI_MAX_PATIENTS, memory_bytes=1_000_000)
    budget.check_budget(work, budget.CLI_MAX_PATIENTS, memory_bytes=10**12)
    assert (budget.physical_memory() or 10**9) > 10**8
    monkeypatch.setattr(cli, "physical_memory", lambda: 1_000_000)
    calls = _no_run(monkeypatch)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(tmp_path / "res")]) == 2
    assert "of memory; run fewer replications at once (--jobs)" in capsys.readouterr().err
    assert not calls and not (tmp_path / "res").exists()


def _no_run(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record any call to :func:`flowsim.experiment.run`: a refused run must not reach it."""
    calls: list[object] = []

    def run(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("the run should have been refused before simulating")

    monkeypatch.setattr(experiment, "run", run)
    return calls


def test_a_run_past_the_budget_is_refused_before_simulating_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.yaml"
    # The most walk-ins a day the schema allows, for 600 days: about 60 million patients.
    huge.write_text(TINY.replace("per_day: 120", "per_day: 100000"))
    calls = _no_run(monkeypatch)
    before = sorted(tmp_path.iterdir())
    started = time.perf_counter()
    argv = ["run", str(huge), "-q", "--days", "600", "--out", str(tmp_path / "res")]
    assert cli.main(argv) == 2
    assert time.perf_counter() - started < 5 and not calls
    err = capsys.readouterr().err
    assert "past the budget of 50,000,000 patients" in err and "--max-patients" in err
    assert sorted(tmp_path.iterdir()) == before  # no results, no checkpoint


@pytest.mark.parametrize(
    "argv",
    [
        ["--days", "3660", "-r", "100000"],
        ["-r", "10", "--max-patients", "1000"],
    ],
)
def test_big_settings_or_a_small_budget_refuse_run_and_compare(
    tiny_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    calls = _no_run(monkeypatch)
    for command in (["run", str(tiny_file)], ["compare", str(tiny_file), str(tiny_file)]):
        assert cli.main([*command, *argv, "-q", "--out", str(tmp_path / "res")]) == 2
        assert "--max-patients" in capsys.readouterr().err
    assert not calls and not (tmp_path / "res").exists()


def test_max_patients_raises_the_budget(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(out), "--max-patients", "1000"]) == 2
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(out), "--max-patients", "2000"]) == 0
    assert (out / "kpis.csv").exists()


def test_check_refuses_a_batch_past_the_budget(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        f"replications: 3\nseed: 4\njobs: 1\nscenarios:\n  - file: {tiny_file.name}\n"
        "    expect:\n      four_hour_pct: {min: 0, max: 100}\n"
    )
    calls = _no_run(monkeypatch)
    assert cli.main(["check", str(batch), "-q", "--max-patients", "100"]) == 2
    assert "past the budget of 100 patients" in capsys.readouterr().err and not calls
    monkeypatch.undo()
    assert cli.main(["check", str(batch), "-q"]) == 0


def test_check_refuses_an_out_folder_holding_its_batch_before_simulating(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(f"replications: 3\nseed: 4\njobs: 1\nscenarios:\n  - file: {tiny_file.name}\n")
    calls = _no_run(monkeypatch)
    assert cli.main(["check", str(batch), "-q", "--out", str(tmp_path), "--overwrite"]) == 2
    assert "holds the input file" in capsys.readouterr().err and not calls
    assert batch.exists() and tiny_file.exists()


# -- 1c. worker processes can be given a memory limit ----------------------------------------

_MEMORY_SCRIPT = """
import json, sys
import numpy as np
import yaml
import flowsim
from flowsim import experiment

scenario = flowsim.load_scenario(yaml.safe_load(sys.stdin.read()))
size = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
limit = size // 1024 + 1024  # this process's address space, and a gigabyte more
real = experiment.run_replication

def greedy(s, r, seed, patients=False):
    if r == 1:
        np.ones(3 << 30, dtype=np.uint8)  # three gigabytes: past the limit
    return real(s, r, seed, patients)

experiment.run_replication = greedy
results = flowsim.run(scenario, replications=3, jobs=1, memory_limit_mb=limit)
print(json.dumps({"limit": limit, "failures": results.failures.to_dict("records"),
                  "done": sorted(set(results.kpis["replication"].tolist()))}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.slow
def test_a_replication_past_the_worker_memory_limit_fails_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT],
        input=TINY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [failure] = report["failures"]
    assert failure["replication"] == 1
    assert failure["error"].startswith("MemoryError: this replication needed more than the ")
    assert f"{report['limit']} MB a worker may use" in failure["error"]
    assert report["done"] == [0, 2]


def _address_space_mb() -> int:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 64 * 1024
    return next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmSize:")) // 1024


def test_a_memory_limit_runs_in_workers_with_the_same_results(tiny_file: Path) -> None:
    s = flowsim.load_scenario(tiny_file)
    plain = flowsim.run(s, replications=2, jobs=1)
    limit = _address_space_mb() + 4096  # a worker starts as a copy of this process
    limited = flowsim.run(s, replications=2, jobs=1, memory_limit_mb=limit)
    pd.testing.assert_frame_equal(plain.kpis, limited.kpis)
    with pytest.raises(flowsim.FlowsimError, match="needs worker processes"):
        flowsim.run(s, replications=2, backend="serial", memory_limit_mb=1024)


# -- 4. the local Dask cluster listens on 127.0.0.1 only -------------------------------------


@pytest.mark.slow
def test_the_local_dask_cluster_listens_on_loopback_only_and_takes_a_memory_limit() -> None:
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("distributed")

    def listening(proc: object) -> set[tuple[str, int]]:
        conns = proc.net_connections(kind="inet")  # type: ignore[attr-defined]
        return {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}

    me = psutil.Process()
    before = listening(me)
    cluster = experiment.local_cluster(1, memory_limit_mb=4096)
    try:
        [worker] = cluster.scheduler_info["workers"].values()
        assert worker["memory_limit"] == 4096 * 2**20  # the limit reaches Dask's workers too
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert cluster.dashboard_link.startswith("http://127.0.0.1:")
        opened = listening(me) - before
        for child in me.children(recursive=True):
            opened |= listening(child)
        assert opened  # the scheduler and the dashboard at least
        assert {ip for ip, _ in opened} <= {"127.0.0.1"}, opened
    finally:
        cluster.close()


# -- 8. results folders that must not or cannot be written -----------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_the_folder_of_the_scenario_being_run_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "tiny.yaml").write_text(TINY)
    before = _files(tmp_path)
    calls = _no_run(monkeypatch)
    for out in (scenarios, scenarios / "tiny.yaml", tmp_path):
        argv = ["run", str(scenarios / "tiny.yaml"), "-q", "--out", str(out), "--overwrite"]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "input file" in err or "not a folder" in err, err
    assert _files(tmp_path) == before and not calls


def test_a_file_given_as_out_is_refused_before_simulating(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    calls = _no_run(monkeypatch)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(target), "--overwrite"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine" and not calls


@pytest.mark.parametrize("out", [".", "..", "here", "~"])
def test_the_current_and_home_folders_are_refused_before_simulating(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, out: str
) -> None:
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    monkeypatch.setenv("HOME", str(tmp_path / "work"))
    target = str(Path(out).expanduser()) if out == "~" else out
    if out == "here":
        target = str(here)
    calls = _no_run(monkeypatch)
    assert cli.main(["run", str(tiny_file), "-q", "--out", target, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "current folder" in err or "home folder" in err or "name the results folder" in err
    assert not calls and here.exists()


@pytest.mark.parametrize("mark", [".git", "pyproject.toml"])
def test_a_repository_is_refused_before_simulating(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, mark: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / mark).mkdir() if mark == ".git" else (repo / mark).write_text("[project]\n")
    calls = _no_run(monkeypatch)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(repo), "--overwrite"]) == 2
    assert "is a repository" in capsys.readouterr().err and not calls
    assert (repo / mark).exists()
    # And a repository the run is started in is the current folder, or holds it.
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(repo), "--overwrite"]) == 2
    assert "holds the current folder" in capsys.readouterr().err and not calls


def test_under_a_file_or_an_unwritable_folder_is_refused_before_simulating(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "file").write_text("x")
    calls = _no_run(monkeypatch)
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(tmp_path / "file" / "res")]) == 2
    assert "is a file" in capsys.readouterr().err
    if Path("/proc/self").exists():  # a folder that says it is writable, and is not
        assert cli.main(["run", str(tiny_file), "-q", "--out", "/proc/flowsim-results"]) == 2
        assert "cannot write in /proc" in capsys.readouterr().err
    monkeypatch.setattr(output.os, "access", lambda path, mode: False)  # a read-only mount
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(tmp_path / "a" / "res")]) == 2
    assert "read-only file system" in capsys.readouterr().err
    assert not calls and _files(tmp_path) == ["file", "tiny.yaml"]


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_while_writing_results_leaves_nothing_and_can_be_resumed(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "res"
    monkeypatch.setattr(pd.DataFrame, "to_csv", _no_space)
    assert cli.main(["run", str(tiny_file), "-q", "-j", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and f"--out {out} --resume" in err
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".res")] == [".res.checkpoint"]
    monkeypatch.undo()
    assert cli.main(["run", str(tiny_file), "-q", "-j", "1", "--out", str(out), "--resume"]) == 0
    assert (out / "kpis.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res")]


def test_a_full_disk_while_saving_a_replication_stops_cleanly(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "res"
    real_fsync = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) > 1:  # the plan is saved, the first replication is not
            _no_space()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert cli.main(["run", str(tiny_file), "-q", "-j", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot save finished replications (No space left on device)" in err
    assert not out.exists()
    saved = tmp_path / ".res.checkpoint"
    assert [p.name for p in saved.iterdir()] == ["plan.json"]  # whole files only


def test_a_refused_run_leaves_no_checkpoint(tiny_file: Path, tmp_path: Path, capsys) -> None:
    # Two scenarios of one name are refused by the run itself, after the run plan is made.
    out = tmp_path / "res"
    assert cli.main(["run", str(tiny_file), str(tiny_file), "-q", "--out", str(out)]) == 2
    assert "scenario names must differ" in capsys.readouterr().err
    assert _files(tmp_path) == ["tiny.yaml"]


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    return int(done.stdout)


def test_leftovers_of_killed_writes_are_removed_by_the_next_run(
    tiny_file: Path, tmp_path: Path
) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".res.partial-{dead}-abc123"
    (stale / "scenarios").mkdir(parents=True)
    (stale / "kpis.csv").write_text("half")
    live = tmp_path / f".res.partial-{os.getppid()}-def456"  # a writer still running
    live.mkdir()
    other = tmp_path / f".other.partial-{dead}-ghi789"  # another results folder's
    other.mkdir()
    assert cli.main(["run", str(tiny_file), "-q", "--out", str(tmp_path / "res")]) == 0
    assert not stale.exists() and live.exists() and other.exists()
    assert output.remove_leftovers(tmp_path / "other") == [other]


# -- 9. workers die with the run that started them -------------------------------------------


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                state, ppid = (d / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if state != "Z":
                parents.setdefault(int(ppid), []).append(int(d.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_workers_die_when_the_run_is_killed(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    argv = ["run", str(tiny_file), "--days", "300", "-r", "4", "-j", "2", "-q", "--out", str(out)]
    run = subprocess.Popen(
        [sys.executable, "-m", "flowsim.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.1)
            workers = _descendants(run.pid)
        assert len(workers) >= 2, "the workers never started"
        time.sleep(0.3)  # let them take their first replications
        workers = _descendants(run.pid)
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if _running(w)]
    for w in left:  # never leave them behind, even when the test fails
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers still running after their parent was killed: {left}"
    # The same run again with --resume starts cleanly from whatever the kill left: nothing, or
    # the replications that finished before it (a different run would rightly be refused).
    again = ["run", str(tiny_file), "--days", "300", "-r", "4", "-j", "1", "-q", "--out", str(out)]
    code = cli.main([*again, "--resume"])  # -j is not part of a run's plan: results are the same
    assert code == 0 and (out / "kpis.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res")]


def test_off_linux_a_watchdog_ends_a_worker_whose_parent_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Elsewhere than Linux a thread watches the parent; it must notice a change of parent.
    monkeypatch.setattr(experiment.sys, "platform", "darwin")
    parents = iter([100, 100, 1])
    monkeypatch.setattr(experiment.os, "getppid", lambda: next(parents, 1))
    exits: list[int] = []
    monkeypatch.setattr(experiment.os, "_exit", exits.append)
    monkeypatch.setattr(experiment.threading.Event, "wait", lambda self, timeout=None: True)

    class Inline:
        def __init__(self, target: object, **kwargs: object) -> None:
            self.target = target

        def start(self) -> None:
            self.target()  # type: ignore[operator]

    monkeypatch.setattr(experiment.threading, "Thread", Inline)
    experiment._die_with_parent(100)
    assert exits == [1]
