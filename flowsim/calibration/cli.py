"""``flowsim calibrate``: a scenario file fitted to a trust's event log."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ..errors import FlowsimError


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``calibrate`` to the ``flowsim`` command's subcommands."""
    sp = sub.add_parser(
        "calibrate",
        help="write a scenario fitted to your own event log (attendances, spells, beds)",
        description="Fit arrival rates and profiles, class mix, routing, treatment times, "
        "lengths of stay, discharge timing, delays and beds to a trust's event log, and "
        "write them as a scenario file with a comment on every fitted value. The input "
        "format is described in docs/event-log.md.",
    )
    sp.add_argument("attendances", type=Path, metavar="ATTENDANCES", help="CSV or Parquet")
    sp.add_argument("--spells", type=Path, metavar="FILE", help="inpatient spells (CSV or Parquet)")
    sp.add_argument("--capacity", type=Path, metavar="FILE", help="beds by unit (CSV or Parquet)")
    sp.add_argument("--map", type=Path, metavar="MAP.yaml", help="renames your columns and codes")
    sp.add_argument("--out", "-o", type=Path, required=True, metavar="SCENARIO.yaml")
    sp.add_argument(
        "--from", dest="start", type=_date, metavar="DATE", help="first day used (YYYY-MM-DD)"
    )
    sp.add_argument("--to", dest="end", type=_date, metavar="DATE", help="last day used")
    sp.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="also run the scenario over the log's dates and write the model against what "
        "was observed (HTML and CSV) in DIR",
    )
    sp.add_argument(
        "--replications",
        "-r",
        type=int,
        default=10,
        metavar="N",
        help="replications for --report (default 10)",
    )
    sp.add_argument(
        "--jobs", "-j", type=int, default=1, metavar="J", help="worker processes for --report"
    )
    sp.set_defaults(func=_cmd_calibrate)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2025-04-01, got {text!r}"
        ) from None


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .eventlog import read_event_log, read_map

    if args.start and args.end and args.end < args.start:
        raise FlowsimError(f"--to {args.end} is before --from {args.start}")
    for path in (args.attendances, args.spells, args.capacity, args.map):
        if path is not None and not path.is_file():
            raise FlowsimError(f"{path}: no such file")
    mapping = read_map(args.map) if args.map is not None else None
    log = read_event_log(
        args.attendances, args.spells, args.capacity, mapping, args.start, args.end
    )
    # scipy is imported only once the log has passed its checks: a bad log is told at once.
    from .fit import calibrate
    from .write import write_scenario

    cal = calibrate(log)
    if args.report is not None and not 2 <= args.replications <= 1000:
        raise FlowsimError("--replications must be 2 to 1,000 for a prediction interval")
    scenario = write_scenario(cal, args.out, args.attendances.name)
    for d in log.dropped:
        print(f"dropped: {d}", file=sys.stderr)
    if args.report is not None:
        from ..experiment import run
        from .against import compare, write_comparison

        results = run(scenario, replications=args.replications, jobs=args.jobs, patients=True)
        c = compare(log, scenario, results)
        write_comparison(c, args.report, args.attendances.name)
        inside = c.measures["inside"].dropna()
        print(
            f"{args.report / 'model-vs-observed.html'}: observed inside the model's 95% "
            f"prediction interval for {int(inside.sum())} of {len(inside)} measures"
        )
    assumed = [u for u, f in cal.units.items() if f.beds_assumed]
    print(
        f"{args.out}: calibrated from {len(log.attendances):,} attendances"
        + (f" and {len(log.spells):,} spells" if log.spells is not None else "")
        + f", {log.first_day} to {log.last_day}"
    )
    if assumed:
        print(
            f"beds ASSUMED (inferred from occupancy; give --capacity): {', '.join(assumed)}",
            file=sys.stderr,
        )
    return 0
