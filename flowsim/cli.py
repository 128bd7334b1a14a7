"""The ``flowsim`` command: run, compare, validate, check and describe scenarios.

Exit codes: 0 success; 1 a ``check`` bound was broken; 2 bad input (a scenario, batch file or
option), reported as ``file:line:column: field: message`` without a traceback; 3 some
replications failed (each is listed with its scenario, replication and seed, and the results of
the others are written, with ``failures.csv``); 130 interrupted (no results folder is written by
an interrupted run, but its finished replications are kept for ``--resume``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .argtypes import number, whole_number
from .backends import BACKENDS
from .batch import broken_bounds, load_batch
from .budget import (
    CLI_MAX_PATIENTS,
    MAX_DAYS,
    MAX_JOBS,
    MAX_REPLICATIONS,
    check_budget,
    estimate,
    physical_memory,
)
from .checkpoint import FORMAT as CHECKPOINT_FORMAT
from .checkpoint import Checkpoint, checkpoint_folder
from .errors import FlowsimError, ReplicationError, ScenarioError
from .kpis import HEADLINE as KPI_HEADLINE
from .kpis import KPIS, headline_kpis, kpi_definition, kpi_markdown, shown_decimals
from .loader import load_scenario, scenario_hash
from .output import (
    OutputError,
    check_out_folder,
    command_line,
    remove_leftovers,
    write_results,
)
from .scenario import Scenario, with_run_length

if TYPE_CHECKING:
    # pandas and the experiment machinery are imported by the commands that run scenarios, so
    # that ``flowsim validate`` and ``flowsim kpis`` start in a fraction of a second.
    import pandas as pd

    from .experiment import Progress, Results

HEADLINE = list(KPI_HEADLINE)
"""The measures ``run`` and ``compare`` print (with each place's headline occupancy): the
registry's headline set, :data:`flowsim.kpis.HEADLINE`."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return 2
    except ReplicationError as e:
        if e.failures is not None:
            _print_failures(e.failures)
        print(f"flowsim: error: no replication succeeded; {e}", file=sys.stderr)
        return FAILED
    except FlowsimError as e:
        print(f"flowsim: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file that cannot be read or written: said plainly, not a traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"flowsim: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        kept = e.out if isinstance(e, _Interrupted) else None
        print(
            "flowsim: interrupted; no results were written"
            + (
                f" (finished replications are kept: add --out {kept} --resume to the same "
                "command to carry on)"
                if kept
                else ""
            ),
            file=sys.stderr,
        )
        return 130


FAILED = 3
"""Exit code when some replications failed (the others' results are written)."""


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="flowsim",
        description="Simulate patient flow through urgent and emergency care, and compare "
        "change ideas with a baseline before trying them on real patients.",
    )
    p.add_argument("--version", action="version", version=f"flowsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--replications",
            "-r",
            type=_replications,
            metavar="N",
            help="replications per scenario (default: the first scenario's; at most "
            f"{MAX_REPLICATIONS:,})",
        )
        sp.add_argument(
            "--seed",
            type=_non_negative_int,
            metavar="S",
            help="master seed (default: the first scenario's)",
        )
        sp.add_argument(
            "--jobs",
            "-j",
            type=_jobs,
            default=0,
            metavar="J",
            help=f"worker processes; 0 (default) means one per core (at most {MAX_JOBS})",
        )
        sp.add_argument(
            "--days",
            type=_days,
            metavar="D",
            help=f"days measured after warm-up, for every scenario (at most {MAX_DAYS})",
        )
        sp.add_argument(
            "--warmup-days",
            type=_warmup_days,
            metavar="W",
            help=f"warm-up days, for every scenario (at most {MAX_DAYS})",
        )
        sp.add_argument(
            "--out", "-o", type=Path, metavar="DIR", help="results folder (default: results/<time>)"
        )
        sp.add_argument(
            "--overwrite", action="store_true", help="replace the results folder if it exists"
        )
        sp.add_argument(
            "--patients",
            action="store_true",
            help="also write patients.parquet, one row per patient visit to a stage",
        )
        sp.add_argument("--quiet", "-q", action="store_true", help="no progress output")
        sp.add_argument(
            "--resume",
            action="store_true",
            help="carry on an interrupted run into the same --out, keeping the "
            "replications it finished",
        )
        max_patients_option(sp)
        backend_options(sp)

    def max_patients_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--max-patients",
            type=_positive_int,
            default=CLI_MAX_PATIENTS,
            metavar="N",
            help="refuse a run expected to simulate more than N patients in all, over every "
            f"scenario and replication (default {CLI_MAX_PATIENTS:,})",
        )

    def backend_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--backend",
            choices=BACKENDS,
            default=None,
            help="where replications run: serial, local processes (default) or "
            "dask (a cluster; see --scheduler)",
        )
        sp.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local "
            "Dask cluster of --jobs workers)",
        )

    def root_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--scenarios-root",
            type=Path,
            metavar="DIR",
            help="extends may only read .yaml/.yml files inside DIR (default: the current "
            "folder if the file is inside it, else the file's own folder)",
        )

    sp = sub.add_parser("run", help="run scenarios and write tidy results")
    sp.add_argument("scenarios", nargs="+", type=Path, metavar="SCENARIO")
    run_options(sp)
    root_option(sp)
    sp.set_defaults(func=_cmd_run)

    sp = sub.add_parser("compare", help="run a baseline and changes; paired differences with CIs")
    sp.add_argument("baseline", type=Path, metavar="BASELINE")
    sp.add_argument("changes", nargs="+", type=Path, metavar="CHANGE")
    run_options(sp)
    root_option(sp)
    sp.set_defaults(func=_cmd_compare)

    sp = sub.add_parser("validate", help="check scenario files; exit 2 listing every problem")
    sp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    root_option(sp)
    sp.set_defaults(func=_cmd_validate)

    sp = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sp.add_argument("--out", "-o", type=Path, metavar="FILE", help="write to FILE instead")
    sp.set_defaults(func=_cmd_schema)

    sp = sub.add_parser("check", help="run a batch file; exit 1 if a KPI leaves its bounds")
    sp.add_argument("batch", type=Path, metavar="BATCH")
    sp.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="J")
    sp.add_argument("--out", "-o", type=Path, metavar="DIR", help="also write the results")
    sp.add_argument("--overwrite", action="store_true")
    sp.add_argument("--quiet", "-q", action="store_true")
    max_patients_option(sp)
    backend_options(sp)
    root_option(sp)
    sp.set_defaults(func=_cmd_check)

    sp = sub.add_parser("kpis", help="list the KPIs with their units and definitions")
    sp.add_argument(
        "--markdown",
        action="store_true",
        help="print the KPI table as Markdown (the text of docs/kpis.md)",
    )
    sp.set_defaults(func=_cmd_kpis)

    sp = sub.add_parser(
        "report", help="write one offline HTML report (and PNGs) from a results folder"
    )
    sp.add_argument("results", type=Path, metavar="RESULTS_DIR")
    sp.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="FILE",
        help="the HTML file to write (default: report.html in RESULTS_DIR)",
    )
    sp.add_argument("--png", type=Path, metavar="DIR", help="also write one PNG per chart in DIR")
    sp.set_defaults(func=_cmd_report)

    # Each capability's commands live in its own subpackage.
    from .calibration.cli import add_command as add_calibrate_command
    from .pdsa.cli import add_command as add_pdsa_commands
    from .search.cli import add_command as add_search_command

    add_calibrate_command(sub)
    add_pdsa_commands(sub)
    add_search_command(sub)
    _add_model_checks(sub)

    from .appcli import add_app_command

    add_app_command(sub)
    return p


# -- commands --------------------------------------------------------------------------------
def _cmd_run(args: argparse.Namespace) -> int:
    return _run_and_write(RunPlan.from_args(args, args.scenarios), compare=False)


def _cmd_compare(args: argparse.Namespace) -> int:
    return _run_and_write(RunPlan.from_args(args, [args.baseline, *args.changes]), compare=True)


def _cmd_validate(args: argparse.Namespace) -> int:
    bad = 0
    for f in args.files:
        try:
            s = load_scenario(f, root=args.scenarios_root)
        except ScenarioError as e:
            bad += 1
            for problem in e.problems:
                print(problem, file=sys.stderr)
        else:
            print(
                f"{f}: ok ({s.name}: {len(s.stages)} stages, {len(s.places)} places, "
                f"{len(s.arrivals)} arrival streams)"
            )
    return 2 if bad else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from .schema import schema_text

    text = schema_text()
    if args.out is None:
        sys.stdout.write(text)
    else:
        tmp = args.out.with_name(f".{args.out.name}.partial")
        tmp.write_text(text)
        os.replace(tmp, args.out)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .experiment import run

    loaded = load_batch(args.batch, root=args.scenarios_root)
    b = loaded.batch
    jobs = args.jobs if args.jobs is not None else b.jobs
    inputs = [args.batch, *(args.batch.parent / e.file for e in b.scenarios)]
    if args.out is not None:
        check_out_folder(args.out, inputs, args.overwrite)
    workers = _workers(jobs, args.scheduler)
    work = estimate(loaded.scenarios, b.replications, patients=False, workers=workers)
    check_budget(work, args.max_patients, memory_bytes=physical_memory())
    if args.out is not None:
        remove_leftovers(args.out)
    results = run(
        loaded.scenarios,
        replications=b.replications,
        seed=b.seed,
        jobs=jobs,
        progress=_progress(args.quiet, len(loaded.scenarios) * b.replications),
        backend=_backend(args.backend, args.scheduler),
        scheduler=args.scheduler,
    )
    summary = results.summary()
    if args.out is not None:
        results.meta["files"] = {
            s.name: e.file for s, e in zip(loaded.scenarios, b.scenarios, strict=True)
        }
        write_results(
            results,
            args.out,
            overwrite=args.overwrite,
            extra={"command": command_line(), "batch": str(args.batch)},
            inputs=inputs,
        )
    if len(results.failures):
        return _failed(results)
    broken = broken_bounds(summary, loaded.scenarios, loaded.bounds)
    checked = sum(len(x) for x in loaded.bounds)
    if broken:
        print(f"{args.batch}: {len(broken)} of {checked} bounds broken:")
        for line in broken:
            print(f"  {line}")
        return 1
    print(
        f"{args.batch}: all {checked} bounds hold ({len(loaded.scenarios)} scenarios, "
        f"{b.replications} replications each, seed {b.seed})"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    out = args.out if args.out is not None else args.results / "report.html"
    written = build_report(args.results, out, args.png)
    print(f"wrote {len(written)} file{'s' if len(written) != 1 else ''}: {written[0]}")
    return 0


def _cmd_kpis(args: argparse.Namespace) -> int:
    if args.markdown:
        print(kpi_markdown(), end="")
        return 0
    width = max(len(k.pattern) for k in KPIS)
    print(f"{'KPI':<{width}}  {'unit':<10}  {'better':<8}  definition (* headline)")
    for k in KPIS:
        mark = " *" if k.headline else ""
        print(f"{k.pattern:<{width}}  {k.unit:<10}  {k.better:<8}  {k.definition}{mark}")
    return 0


# -- run and compare -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPlan:
    """What ``run`` or ``compare`` will do, settled once from the command line: the scenarios
    (with ``--days`` and ``--warmup-days`` applied) and the files they came from, the run
    settings, and the results folder with whether it may be replaced and whether the run carries
    on from the replications an earlier, interrupted one saved."""

    scenarios: list[Scenario]
    files: dict[str, str]
    replications: int | None
    seed: int | None
    jobs: int
    patients: bool
    quiet: bool
    backend: str | None
    scheduler: str | None
    out: Path
    overwrite: bool
    resume: bool
    max_patients: int = CLI_MAX_PATIENTS

    @classmethod
    def from_args(cls, args: argparse.Namespace, paths: list[Path]) -> RunPlan:
        """Load the scenarios at ``paths`` (every problem reported together) and settle the
        options; raises if the results folder cannot or must not be used, or if the run is
        expected to be bigger than the budget: all before anything runs."""
        scenarios = _load_all(
            paths, args.days, args.warmup_days, getattr(args, "scenarios_root", None)
        )
        if args.resume and args.out is None:
            raise FlowsimError("--resume needs the --out folder of the run to carry on")
        out: Path = args.out or Path("results") / time.strftime("%Y%m%d-%H%M%S")
        # On --resume the folder, if any, holds this run's results up to a failure: replace it.
        overwrite = bool(args.overwrite) or (args.resume and checkpoint_folder(out).exists())
        check_out_folder(out, paths, overwrite)
        reps = args.replications or scenarios[0].run.replications
        workers = _workers(args.jobs, args.scheduler)
        work = estimate(scenarios, reps, bool(args.patients), workers=workers)
        check_budget(work, args.max_patients, memory_bytes=physical_memory())
        return cls(
            scenarios=scenarios,
            files={s.name: str(p) for s, p in zip(scenarios, paths, strict=True)},
            replications=args.replications,
            seed=args.seed,
            jobs=args.jobs,
            patients=bool(args.patients),
            quiet=bool(args.quiet),
            backend=_backend(args.backend, args.scheduler),
            scheduler=args.scheduler,
            out=out,
            overwrite=overwrite,
            resume=bool(args.resume),
            max_patients=args.max_patients,
        )

    def checkpoint_key(self) -> dict[str, object]:
        """What a checkpoint must have been made for to be resumed by this plan."""
        first = self.scenarios[0].run
        return {
            "seed": self.seed if self.seed is not None else first.seed,
            "replications": self.replications or first.replications,
            "patients": self.patients,
            "scenarios": [[s.name, scenario_hash(s)] for s in self.scenarios],
            "flowsim_version": _version(),
            "checkpoint_format": CHECKPOINT_FORMAT,
        }


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run whose finished replications are kept for ``--resume`` into ``out``."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out


def _run_and_write(plan: RunPlan, compare: bool) -> int:
    from .experiment import run

    try:
        remove_leftovers(plan.out)
        checkpoint = Checkpoint.open(plan.out, plan.checkpoint_key(), resume=plan.resume)
        reps = plan.replications or plan.scenarios[0].run.replications
        results = run(
            plan.scenarios,
            replications=plan.replications,
            seed=plan.seed,
            jobs=plan.jobs,
            patients=plan.patients,
            progress=_progress(plan.quiet, reps * len(plan.scenarios)),
            backend=plan.backend,
            scheduler=plan.scheduler,
            checkpoint=checkpoint,
        )
        results.meta["files"] = plan.files
        comparison = None
        if compare:
            comparison = results.compare(plan.scenarios[0].name)
            _print_comparison(comparison, sys.stdout, results)
        else:
            _print_summary(results, sys.stdout)
        try:
            files = write_results(
                results,
                plan.out,
                overwrite=plan.overwrite,
                comparison=comparison,
                extra={"command": command_line()},
                inputs=list(plan.files.values()),
            )
        except OutputError as e:
            raise OutputError(
                f"{e}; the finished replications are kept: once this is fixed, add "
                f"--out {plan.out} --resume to the same command to write them"
            ) from e
    except KeyboardInterrupt:
        raise _Interrupted(plan.out) from None
    if not len(results.failures):
        checkpoint.remove()  # kept otherwise, so that --resume can re-run the failed ones
    print(f"\nwrote {len(files)} files to {plan.out}/")
    return _failed(results)


# -- helpers ---------------------------------------------------------------------------------
def _load_all(
    paths: list[Path], days: float | None, warmup_days: float | None, root: Path | None = None
) -> list[Scenario]:
    problems = []
    scenarios = []
    for path in paths:
        try:
            s = load_scenario(path, root=root)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        if days is not None or warmup_days is not None:
            s = with_run_length(s, days, warmup_days)
        scenarios.append(s)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def _version() -> str:
    from . import __version__

    return __version__


def _workers(jobs: int, scheduler: str | None) -> int:
    """The worker processes on this machine that ``--jobs`` asks for (0: one per core); none
    when the replications run on a Dask cluster elsewhere."""
    if scheduler is not None:
        return 0
    return jobs if jobs > 0 else (os.cpu_count() or 1)


def _backend(backend: str | None, scheduler: str | None) -> str | None:
    if scheduler is not None and backend is None:
        return "dask"
    return backend


def _failed(results: Results) -> int:
    """List failed replications on stderr; the exit code says whether there were any."""
    if not len(results.failures):
        return 0
    _print_failures(results.failures)
    n = results.replications * len(results.scenarios)
    print(
        f"flowsim: {len(results.failures)} of {n} replications failed; the results of the "
        "others are kept",
        file=sys.stderr,
    )
    return FAILED


def _print_failures(failures: pd.DataFrame) -> None:
    for f in failures.itertuples(index=False):
        print(
            f"flowsim: scenario '{f.scenario}', replication {f.replication} (seed {f.seed}) "
            f"failed: {f.error}",
            file=sys.stderr,
        )


def _progress(quiet: bool, total: int) -> Progress | None:
    if quiet:
        return None
    if sys.stderr.isatty() and not os.environ.get("CI"):
        return _RichProgress(total)
    return _PlainProgress()


class _PlainProgress:
    """A line at each tenth of the work: quiet enough for CI logs."""

    def __init__(self, line: str = "{done}/{total} replications done") -> None:
        self.last = -1
        self.line = line
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        step = math.floor(10 * done / total) if total else 10
        if step != self.last and (done == total or done == 0 or step > self.last):
            self.last = step
            elapsed = time.perf_counter() - self.started
            print(
                f"flowsim: {self.line.format(done=done, total=total)} ({elapsed:.0f} s)",
                file=sys.stderr,
                flush=True,
            )


class _RichProgress:
    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("replications"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.task = self.progress.add_task("run", total=total)
        self.progress.start()

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)
        if done >= total:
            self.progress.stop()


def _fmt(x: float) -> str:
    if x != x:
        return "-"
    return f"{x:,.1f}" if abs(x) < 1e5 else f"{x:,.0f}"


def _print_summary(results: Results, out: TextIO) -> None:
    import pandas as pd

    summary = results.summary()
    shown = headline_kpis(summary["kpi"].astype(str))
    rows = summary[summary["kpi"].isin(shown)]
    names = list(results.scenarios)
    print(
        f"Mean and 95% confidence interval over {results.replications} replications "
        f"(seed {results.seed}):",
        file=out,
    )
    table: dict[str, dict[str, str]] = {}
    for r in rows.itertuples(index=False):
        table.setdefault(r.kpi, {})[r.scenario] = (
            f"{_fmt(r.mean)} ({_fmt(r.ci_low)} to {_fmt(r.ci_high)})"
        )
    df = pd.DataFrame.from_dict(table, orient="index").reindex(index=shown, columns=names)
    df.index = [f"{k} [{kpi_definition(k)[0]}]" for k in df.index]
    print(df.to_string(), file=out)
    _print_stability(results, out)


def _print_stability(results: Results, out: TextIO) -> None:
    from .stability import warnings

    for warning in warnings(results.stability()):
        print("\n" + textwrap.fill(warning, width=100), file=out)


def _print_alterations(results: Results, scenario: str, out: TextIO) -> None:
    from .alterations import alterations

    names = list(results.scenarios)
    if scenario not in results.scenarios or scenario == names[0]:
        return
    lines = alterations(results.scenarios[scenario], results.scenarios[names[0]])
    text = "; ".join(lines) if lines else "nothing (it runs as the baseline does)"
    wrapped = textwrap.wrap(f"What it alters: {text}", width=100, subsequent_indent="  ")
    if len(wrapped) > 3:  # a line or two: the report lists every alteration
        wrapped = wrapped[:3]
        wrapped[-1] += " ... (the report lists them all)"
    print("\n".join(wrapped), file=out)


def _print_comparison(
    comparison: pd.DataFrame, out: TextIO, results: Results | None = None
) -> None:
    import pandas as pd

    order = {k: i for i, k in enumerate(headline_kpis(comparison["kpi"].astype(str)))}
    keep = comparison["kpi"].isin(order)
    for scenario, g in comparison[keep].groupby("scenario", sort=False, observed=True):
        g = g.sort_values("kpi", key=lambda kpi: kpi.astype(str).map(order), kind="stable")
        n = int(g["n"].max()) if len(g) else 0
        print(f"\n{scenario} minus baseline (paired over {n} replications, 95% CI):", file=out)
        if results is not None:
            _print_alterations(results, str(scenario), out)
        rows = []
        for _, r in g.iterrows():
            d = shown_decimals([r["ci_low"], r["ci_high"]])
            rows.append(
                {
                    "kpi": r["kpi"],
                    "unit": r["unit"],
                    "better": r["better_when"] if r["better_when"] != "neither" else "",
                    "baseline": _fmt(r["baseline_mean"]),
                    "change": _fmt(r["scenario_mean"]),
                    "difference": _fixed(r["difference"], d, sign=True),
                    "95% CI": f"{_fixed(r['ci_low'], d)} to {_fixed(r['ci_high'], d)}",
                    "": r["verdict"],
                }
            )
        print(pd.DataFrame(rows).to_string(index=False), file=out)
    if results is not None:
        _print_stability(results, out)


def _fixed(x: float, decimals: int, sign: bool = False) -> str:
    if x != x:
        return "-"
    return f"{x:{'+' if sign else ''},.{decimals}f}"


_replications = whole_number(1, MAX_REPLICATIONS)
_jobs = whole_number(0, MAX_JOBS)
_days = number(0, MAX_DAYS, low_included=False)
_warmup_days = number(0, MAX_DAYS, low_included=True)
_window = whole_number(1, MAX_DAYS)
_look_ahead = whole_number(0, MAX_REPLICATIONS)
_positive_int = whole_number(1)
_non_negative_int = whole_number(0)


# -- validation and run settings ------------------------------------------------------------
def _add_model_checks(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sp = sub.add_parser(
        "validate-model",
        help="check the engine against queueing theory, Little's law and Ciw; "
        "exit 1 if any check fails",
    )
    sp.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("docs/validation.md"),
        metavar="FILE",
        help="the report to write (default: docs/validation.md)",
    )
    sp.add_argument(
        "--scenarios",
        type=Path,
        default=Path("scenarios"),
        metavar="DIR",
        help="folder of shipped scenarios for the Little's law checks "
        "(default: scenarios; skipped if it does not exist)",
    )
    sp.add_argument(
        "--fast",
        action="store_true",
        help="only the cases marked fast, and Little's law on the baseline only",
    )
    sp.add_argument(
        "--case",
        action="append",
        type=Path,
        metavar="FILE",
        default=None,
        help="run this case file instead of the shipped ones (repeatable)",
    )
    sp.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=0,
        metavar="J",
        help="worker processes; 0 (default) means one per core",
    )
    sp.add_argument("--quiet", "-q", action="store_true")
    sp.set_defaults(func=_cmd_validate_model)

    sp = sub.add_parser("warmup", help="suggest a warm-up: Welch plot and MSER-5 on a KPI")
    sp.add_argument("scenario", type=Path, metavar="SCENARIO")
    sp.add_argument(
        "--kpi",
        required=True,
        metavar="KPI",
        help="the KPI to study day by day, e.g. occupancy_mean.wards",
    )
    sp.add_argument("--replications", "-r", type=_replications, metavar="N")
    sp.add_argument("--seed", type=_non_negative_int, metavar="S")
    sp.add_argument(
        "--days",
        type=_days,
        metavar="D",
        help="days to run from empty (default: the scenario's warm-up + length)",
    )
    sp.add_argument(
        "--window",
        type=_window,
        default=7,
        metavar="W",
        help="Welch moving-average half-window, in days (default 7)",
    )
    sp.add_argument("--jobs", "-j", type=_jobs, default=0, metavar="J")
    sp.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="FILE.csv",
        help="write the daily series and Welch curve as CSV, and the chart beside "
        "it as .html (when Altair is installed)",
    )
    sp.set_defaults(func=_cmd_warmup)

    sp = sub.add_parser(
        "replications", help="how many replications: CI half-width within a %% of the mean"
    )
    sp.add_argument("scenario", type=Path, metavar="SCENARIO")
    sp.add_argument(
        "--kpi",
        required=True,
        action="append",
        metavar="KPI",
        help="a KPI to make precise (repeatable)",
    )
    sp.add_argument(
        "--precision",
        type=_percent,
        default=0.05,
        metavar="P%",
        help="largest 95%% CI half-width as a share of the mean (default 5%%)",
    )
    sp.add_argument(
        "--max",
        type=_replications,
        default=100,
        metavar="N",
        dest="max_reps",
        help="give up after N replications (default 100)",
    )
    sp.add_argument(
        "--look-ahead",
        type=_look_ahead,
        default=5,
        metavar="K",
        help="replications beyond the answer that must keep the precision (5)",
    )
    sp.add_argument("--seed", type=_non_negative_int, metavar="S")
    sp.add_argument("--jobs", "-j", type=_jobs, default=0, metavar="J")
    sp.add_argument(
        "--out", "-o", type=Path, metavar="FILE.csv", help="write the cumulative table as CSV"
    )
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    sp.set_defaults(func=_cmd_replications)


def _percent(text: str) -> float:
    try:
        value = float(text.strip().rstrip("%")) / (100.0 if text.strip().endswith("%") else 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 5%, got {text!r}"
        ) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a percentage between 0% and 100%, got {text!r}")
    return value


def _cmd_validate_model(args: argparse.Namespace) -> int:
    from .validation import run_suite, write_report
    from .validation.crosscheck import CiwMissing
    from .validation.suite import shipped_scenarios

    scenarios: list[Path] = []
    if args.scenarios.is_dir():
        scenarios = shipped_scenarios(args.scenarios)
        if args.fast:
            scenarios = [p for p in scenarios if p.name == "baseline.yaml"]
    elif args.scenarios != Path("scenarios"):
        raise FlowsimError(f"{args.scenarios}: no such folder of scenarios")
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    try:
        results = run_suite(args.case, scenarios, jobs=args.jobs, fast_only=args.fast, say=say)
    except CiwMissing as e:
        print(f"flowsim: error: {e}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    write_report(results, args.out, command_line(), seconds)
    checks = [c for r in results for c in r.checks]
    failed = sum(not c.passed for c in checks)
    print(
        f"{len(checks) - failed} of {len(checks)} checks passed in {len(results)} cases "
        f"({seconds:.0f} s); report: {args.out}"
    )
    return 1 if failed else 0


def _cmd_warmup(args: argparse.Namespace) -> int:
    from .run_settings import warmup_study, welch_chart

    scenario = load_scenario(args.scenario)
    try:
        advice = warmup_study(
            scenario, args.kpi, args.replications, args.seed, args.days, args.window, args.jobs
        )
    except ValueError as e:
        raise FlowsimError(str(e)) from e
    m = advice.mser
    print(
        f"{scenario.name}: {args.kpi}, {advice.series.shape[1] - 3} replications, "
        f"{len(advice.series)} days from empty"
    )
    print(
        f"MSER-5 warm-up: {m.truncate} days"
        + (
            ""
            if m.reliable
            else " (unreliable: the minimum is in the second half of the "
            "run; run longer with --days)"
        )
    )
    print(f"the scenario's own warm-up: {scenario.run.warmup / 1440:g} days")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        advice.series.to_csv(args.out, index=False)
        html = args.out.with_suffix(".html")
        drawn = welch_chart(advice, str(html))
        print(
            f"daily series and Welch curve: {args.out}"
            + (f"; chart: {html}" if drawn else " (install the app extra for the chart)")
        )
    return 0


def _cmd_replications(args: argparse.Namespace) -> int:
    from .run_settings import replications_needed

    scenario = load_scenario(args.scenario)
    shown = None if args.quiet else _PlainProgress("{done} replications run (at most {total})")
    advice = replications_needed(
        scenario,
        args.kpi,
        args.precision,
        args.max_reps,
        args.look_ahead,
        args.seed,
        args.jobs,
        progress=None if shown is None else (lambda n: shown(n, args.max_reps)),
    )
    last = advice.table[advice.table["replications"] == advice.table["replications"].max()]
    for row in last.itertuples():
        print(
            f"{row.kpi}: mean {_fmt(row.mean)}, 95% CI half-width "
            f"{row.half_width_pct:.1f}% of the mean after {row.replications} replications"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        advice.table.to_csv(args.out, index=False)
    if advice.recommended is None:
        print(
            f"not within {advice.precision_pct:g}% after {args.max_reps} replications; "
            "raise --max or loosen --precision"
        )
        return 1
    print(
        f"replications needed: {advice.recommended} (every KPI within "
        f"{advice.precision_pct:g}% from there on, {args.look_ahead} more checked)"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
