"""Experiments: every backend gives the same tables, failed replications are kept aside, progress
is reported, and an interrupted run resumes to the same results as an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flowsim
import flowsim.experiment as experiment
from flowsim.checkpoint import checkpoint_folder
from flowsim.cli import main
from flowsim.experiment import ReplicationError, Results


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a two-worker local Dask cluster (threads, so that it starts in a second)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def _same(a: Results, b: Results) -> None:
    pd.testing.assert_frame_equal(a.kpis, b.kpis)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)


def test_dask_gives_the_serial_results(
    tiny_file: Path, tiny_change_file: Path, scheduler: str
) -> None:
    scenarios = [flowsim.load_scenario(tiny_file), flowsim.load_scenario(tiny_change_file)]
    seen: list[tuple[int, int]] = []
    serial = flowsim.run(scenarios, replications=3, seed=5, jobs=1)
    dask = flowsim.run(
        scenarios,
        replications=3,
        seed=5,
        jobs=2,
        backend="dask",
        scheduler=scheduler,
        progress=lambda d, t: seen.append((d, t)),
    )
    _same(serial, dask)
    assert seen == [(k, 6) for k in range(7)]
    assert dask.failures.empty


def _break_replication(monkeypatch: pytest.MonkeyPatch, broken: int, message: str) -> None:
    """Make replication ``broken`` of every scenario raise RuntimeError(message)."""
    real = experiment.run_replication

    def run_replication(s, r, seed, patients=False):  # type: ignore[no-untyped-def]
        if r == broken:
            raise RuntimeError(message)
        return real(s, r, seed, patients)

    monkeypatch.setattr(experiment, "run_replication", run_replication)


@pytest.mark.parametrize("backend", ["serial", "processes", "dask"])
def test_a_failed_replication_is_listed_and_the_others_kept(
    tiny_file: Path, scheduler: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = flowsim.load_scenario(tiny_file)
    good = flowsim.run(scenario, replications=4, seed=9, jobs=1)
    _break_replication(monkeypatch, 2, "a stage ran out of beds")
    progress: list[int] = []
    got = flowsim.run(
        scenario,
        replications=4,
        seed=9,
        jobs=2,
        backend=backend,
        scheduler=scheduler if backend == "dask" else None,
        progress=lambda d, t: progress.append(d),
    )
    assert got.failures.to_dict("records") == [
        {
            "scenario": "tiny",
            "replication": 2,
            "seed": 9,
            "error": "RuntimeError: a stage ran out of beds",
        }
    ]
    assert sorted(got.kpis["replication"].unique()) == [0, 1, 3]
    expected = good.kpis[good.kpis["replication"] != 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.kpis, expected)
    assert progress == [0, 1, 2, 3, 4]


def test_no_replication_succeeding_is_an_error(
    tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ValueError("no")

    monkeypatch.setattr(experiment, "run_replication", broken)
    with pytest.raises(ReplicationError, match=r"replication 0 \(seed 7\)") as e:
        flowsim.run(flowsim.load_scenario(tiny_file), replications=2)
    assert e.value.failures is not None and len(e.value.failures) == 2


def test_cli_writes_the_others_and_exits_3(
    tiny_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _break_replication(monkeypatch, 1, "boom")
    out = tmp_path / "res"
    code = main(["run", str(tiny_file), "-r", "3", "-j", "1", "--out", str(out), "-q"])
    assert code == 3
    err = capsys.readouterr().err
    assert "scenario 'tiny', replication 1 (seed 7) failed: RuntimeError: boom" in err
    failures = pd.read_csv(out / "failures.csv")
    assert failures[["scenario", "replication", "seed"]].values.tolist() == [["tiny", 1, 7]]
    assert sorted(pd.read_csv(out / "kpis.csv")["replication"].unique()) == [0, 2]
    # The checkpoint is kept, so that a resumed run re-runs only the failed replication.
    monkeypatch.undo()
    assert checkpoint_folder(out).exists()
    code = main(["run", str(tiny_file), "-r", "3", "-j", "1", "--out", str(out), "-q", "--resume"])
    assert code == 0
    assert not (out / "failures.csv").exists() and not checkpoint_folder(out).exists()
    assert sorted(pd.read_csv(out / "kpis.csv")["replication"].unique()) == [0, 1, 2]


def test_cli_dask_scheduler(tiny_file: Path, tmp_path: Path, scheduler: str) -> None:
    assert (
        main(["run", str(tiny_file), "-r", "2", "-j", "1", "--out", str(tmp_path / "a"), "-q"]) == 0
    )
    assert (
        main(
            [
                "run",
                str(tiny_file),
                "-r",
                "2",
                "--scheduler",
                scheduler,
                "--out",
                str(tmp_path / "b"),
                "-q",
            ]
        )
        == 0
    )
    for name in ("kpis.csv", "hour_of_week.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.slow
def test_resume_after_a_killed_run_gives_the_uninterrupted_results(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [str(tiny_file), "-r", "24", "--days", "10", "-j", "1", "-q"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["run", *common, "--out", str(whole)]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowsim.cli", "run", *common, "--out", str(part)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = checkpoint_folder(part)
    deadline = time.monotonic() + 120
    while len(list(saved.glob("*.npz"))) < 3 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list(saved.glob("*.npz")))
    assert 3 <= kept < 24 and not part.exists()
    capsys.readouterr()
    # A different plan is refused, leaving the checkpoint alone ...
    assert main(["run", *common, "--seed", "8", "--out", str(part), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "seed" in err
    assert len(list(saved.glob("*.npz"))) == kept
    # ... and the same plan carries on from the saved replications.
    assert main(["run", *common, "--out", str(part), "--resume"]) == 0
    for name in ("kpis.csv", "summary.csv", "hour_of_week.csv"):
        assert (whole / name).read_bytes() == (part / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(whole / "timeseries.parquet"), pd.read_parquet(part / "timeseries.parquet")
    )
    assert not saved.exists()


def test_resume_needs_out(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_file), "--resume", "-q"]) == 2
    assert "--resume needs the --out folder" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_when_no_scheduler_is_given(tiny_file: Path) -> None:
    scenario = flowsim.load_scenario(tiny_file)
    serial = flowsim.run(scenario, replications=2, seed=3, jobs=1)
    local = flowsim.run(scenario, replications=2, seed=3, jobs=1, backend="dask")
    _same(serial, local)


def test_a_scheduler_needs_the_dask_backend(tiny_file: Path) -> None:
    with pytest.raises(flowsim.FlowsimError, match="only used by the dask backend"):
        flowsim.run(
            flowsim.load_scenario(tiny_file),
            replications=1,
            backend="processes",
            scheduler="tcp://127.0.0.1:1",
        )


def test_check_with_a_failed_replication_exits_3(
    tiny_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "replications: 3\nseed: 4\nwarmup_days: 1\ndays: 2\njobs: 1\nscenarios:\n"
        f"  - file: {tiny_file}\n    expect:\n"
        "      four_hour_pct: {min: 0, max: 100}\n"
    )
    _break_replication(monkeypatch, 0, "boom")
    assert main(["check", str(batch), "-q"]) == 3
    assert "scenario 'tiny', replication 0 (seed 4) failed" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["check", str(batch), "-q"]) == 0


def test_a_saved_replication_reads_back_field_for_field(tiny_file: Path, tmp_path: Path) -> None:
    from flowsim.checkpoint import Checkpoint

    result = experiment.run_replication(flowsim.load_scenario(tiny_file), 1, 7, patients=True)
    saved = Checkpoint.open(tmp_path / "out", {"seed": 7}, resume=False)
    saved.save(0, 1, result)
    back = saved.load(0, 1)
    assert back is not None and saved.load(0, 2) is None
    for name, value in vars(result).items():
        again = getattr(back, name)
        if isinstance(value, dict) and name == "visits":
            assert value.keys() == again.keys()
            for k in value:
                assert np.array_equal(value[k], again[k], equal_nan=True), k
        elif isinstance(value, tuple):
            assert all(
                np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
                for a, b in zip(value, again, strict=True)
            )
        elif isinstance(value, np.ndarray):
            assert value.dtype == again.dtype, name
            assert np.array_equal(value, again, equal_nan=value.dtype.kind == "f"), name
        elif name == "kpis":
            assert list(value) == list(again)
            assert np.array_equal(list(value.values()), list(again.values()), equal_nan=True)
        else:
            assert value == again, name


def test_a_checkpoint_file_holding_code_is_refused(tiny_file: Path, tmp_path: Path) -> None:
    from flowsim.checkpoint import Checkpoint

    saved = Checkpoint.open(tmp_path / "out", {"seed": 7}, resume=False)
    saved.save(0, 1, experiment.run_replication(flowsim.load_scenario(tiny_file), 1, 7))
    # An object array can only be stored by pickling it; reading it back must not unpickle.
    header = '{"places": {"array": "places", "text": true}}'
    np.savez(
        saved.folder / "s0-r0.npz",
        __header__=np.array(header),
        places=np.array([print], dtype=object),
    )
    with pytest.raises(flowsim.FlowsimError, match="saved replication.*Object arrays cannot"):
        saved.load(0, 0)
