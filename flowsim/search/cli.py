"""``flowsim search``: the fewest beds or staff that meet a target, from the command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..argtypes import whole_number
from ..backends import BACKENDS
from ..budget import CLI_MAX_PATIENTS, MAX_JOBS
from ..errors import FlowsimError

DEFAULT_MOST = 40
"""Replications a lever value may get at most, unless --max-replications says otherwise."""


def add_command(sub: Any) -> None:
    """Add ``flowsim search`` to the command's subparsers ``sub``."""
    sp = sub.add_parser(
        "search",
        help="find the smallest lever value (beds, staff) whose KPIs meet every target",
        description="Find the smallest value of a lever (a number in the scenario, e.g. "
        "places.wards.capacity) whose KPI means meet every target with the stated confidence. "
        "Give --lever and --values twice to search two levers (a frontier).",
    )
    sp.add_argument("scenario", type=Path, metavar="SCENARIO")
    sp.add_argument(
        "--lever",
        action="append",
        required=True,
        metavar="LEVER",
        help="a path to a number in the scenario, e.g. places.wards.capacity, "
        "staff.ed_doctor.shifts.late.count, arrivals.walk_in.per_day (once or twice)",
    )
    sp.add_argument(
        "--values",
        action="append",
        required=True,
        metavar="LOW:HIGH[:STEP]",
        help="the values to search for the lever of the same place, e.g. 540:700:10",
    )
    sp.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="KPI>=VALUE",
        help='a KPI and the mean it must reach, e.g. "four_hour_pct>=76" or '
        '"twelve_hour_pct<=2" (repeat: every target must hold)',
    )
    sp.add_argument(
        "--confidence", type=_confidence, default=0.95, metavar="C", help="default 0.95"
    )
    sp.add_argument(
        "--max-replications",
        type=whole_number(1),
        default=DEFAULT_MOST,
        metavar="N",
        help=f"most replications for one value when the decision is close (default {DEFAULT_MOST})",
    )
    sp.add_argument(
        "--replications",
        "-r",
        type=whole_number(1),
        metavar="N",
        help="replications at the first look at each value (default: the scenario's, at least 2)",
    )
    sp.add_argument("--seed", type=int, metavar="S", help="master seed (default: the scenario's)")
    sp.add_argument(
        "--jobs",
        "-j",
        type=whole_number(0, MAX_JOBS),
        default=0,
        metavar="J",
        help="worker processes (0: one per core)",
    )
    sp.add_argument("--backend", choices=BACKENDS, default=None)
    sp.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address")
    sp.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="DIR",
        help="folder to write (default: results/search-<time>)",
    )
    sp.add_argument("--overwrite", action="store_true", help="replace the folder if it exists")
    sp.add_argument(
        "--resume",
        action="store_true",
        help="carry on an interrupted search into the same --out, keeping its runs",
    )
    sp.add_argument(
        "--max-patients",
        type=whole_number(1),
        default=CLI_MAX_PATIENTS,
        metavar="N",
        help=f"refuse a search expected to simulate more patients (default {CLI_MAX_PATIENTS:,})",
    )
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    sp.set_defaults(func=_cmd_search)


def _cmd_search(args: argparse.Namespace) -> int:
    from ..checkpoint import Checkpoint, checkpoint_folder
    from ..cli import _Interrupted
    from ..kpis import kpi_names
    from ..loader import load_scenario
    from ..output import check_out_folder, command_line
    from .core import Search
    from .output import answer_text, write_search
    from .plan import plan_search, search_budget
    from .runner import checkpoint_plan, make_evaluate

    scenario = load_scenario(args.scenario)
    if len(args.lever) != len(args.values):
        raise FlowsimError("give one --values for each --lever, in the same order")
    levers = plan_search(scenario, args.lever, args.values)
    targets = _targets(args.target, kpi_names(scenario))
    most = args.max_replications
    first = min(args.replications or max(2, scenario.run.replications), most)
    seed = args.seed if args.seed is not None else scenario.run.seed
    if args.resume and args.out is None:
        raise FlowsimError("--resume needs the --out folder of the search to carry on")
    out: Path = args.out or Path("results") / time.strftime("search-%Y%m%d-%H%M%S")
    overwrite = bool(args.overwrite) or (args.resume and checkpoint_folder(out).exists())
    check_out_folder(out, [args.scenario], overwrite)
    workers = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    backend = args.backend or (
        "dask" if args.scheduler else ("serial" if workers == 1 else "processes")
    )
    budget = search_budget(scenario, levers, first, args.max_patients, workers)
    checkpoint = Checkpoint.open(out, checkpoint_plan(scenario, levers, seed), resume=args.resume)
    evaluate = make_evaluate(scenario, levers, seed, backend, workers, args.scheduler, checkpoint)
    started = time.perf_counter()

    def progress(runs: int, doing: str) -> None:
        if not args.quiet:
            took = time.perf_counter() - started
            print(f"flowsim: {runs} runs so far ({took:.0f} s); {doing}", file=sys.stderr)

    try:
        result = Search(
            levers, targets, evaluate, args.confidence, first, most, progress, max_runs=budget
        ).run()
        files = write_search(
            result,
            scenario,
            out,
            seed,
            overwrite=overwrite,
            extra={"command": command_line(), "scenario_file": str(args.scenario)},
        )
    except KeyboardInterrupt:
        raise _Interrupted(out) from None
    checkpoint.remove()
    sys.stdout.write(answer_text(result))
    print(f"\nwrote {len(files)} files to {out}/ ({time.perf_counter() - started:.0f} s)")
    return 0


def _targets(texts: list[str], kpis: set[str]) -> list[Any]:
    from .procedure import parse_target

    return [parse_target(t, kpis) for t in texts]


def _confidence(text: str) -> float:
    v = float(text)
    if not 0.5 <= v < 1:
        raise argparse.ArgumentTypeError("give a confidence from 0.5 to below 1, e.g. 0.95")
    return v
