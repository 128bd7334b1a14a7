"""``flowsim predict`` and ``flowsim study``: the two commands of a PDSA cycle.

Handlers import the simulation and chart modules only when they run, so that ``flowsim --help``
stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..argtypes import iso_date, whole_number
from ..errors import FlowsimError

MAX_WEEKS = 104
MAX_REPLICATIONS = 200


def _rule_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--shift",
        type=whole_number(0, 30),
        default=7,
        metavar="N",
        help="points on one side of the centre line that make a shift (default 7; 0: off)",
    )
    sp.add_argument(
        "--trend",
        type=whole_number(0, 30),
        default=7,
        metavar="N",
        help="points rising or falling that make a trend (default 7; 0: off)",
    )


def add_command(sub: Any) -> None:
    """Add ``predict`` and ``study`` to the ``flowsim`` command's subparsers ``sub``."""
    sp = sub.add_parser(
        "predict",
        help="record what a change should do to a single week's figures, before trying it",
    )
    sp.add_argument("baseline", type=Path, metavar="BASELINE")
    sp.add_argument("change", type=Path, metavar="CHANGE")
    sp.add_argument(
        "--weeks",
        type=whole_number(1, MAX_WEEKS),
        default=12,
        metavar="N",
        help="weeks simulated after the warm-up in each replication (default 12)",
    )
    sp.add_argument(
        "--from",
        dest="start",
        type=iso_date,
        metavar="DATE",
        help="the date the change starts (YYYY-MM-DD): the simulated weeks begin on it",
    )
    sp.add_argument(
        "--out", "-o", type=Path, default=Path("prediction.json"), metavar="FILE",
        help="the prediction file to write (default prediction.json)",
    )  # fmt: skip
    sp.add_argument(
        "--replications", "-r", type=whole_number(2, MAX_REPLICATIONS), metavar="N",
        help="replications of each scenario (default: the baseline's)",
    )  # fmt: skip
    sp.add_argument("--seed", type=whole_number(0, 2**63 - 1), metavar="S", help="master seed")
    sp.add_argument(
        "--warmup-days", type=whole_number(0, 3650), metavar="W",
        help="warm-up days (default: the baseline's)",
    )  # fmt: skip
    sp.add_argument(
        "--baseline-weeks", type=whole_number(2, MAX_WEEKS), default=26, metavar="N",
        help="weeks your chart will have before the change, for the weeks-needed figure "
        "(default 26)",
    )  # fmt: skip
    sp.add_argument(
        "--jobs", "-j", type=whole_number(0, 256), default=1, metavar="J",
        help="worker processes (default 1; 0: one per core)",
    )  # fmt: skip
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    sp.add_argument(
        "--scenarios-root", type=Path, metavar="DIR",
        help="extends may only read .yaml/.yml files inside DIR",
    )  # fmt: skip
    _rule_options(sp)
    sp.set_defaults(func=_cmd_predict)

    sp = sub.add_parser(
        "study", help="observed weeks on SPC charts against a prediction: HTML, PNGs and CSV"
    )
    sp.add_argument("prediction", type=Path, metavar="PREDICTION")
    source = sp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--observed", type=Path, metavar="WEEKLY.csv",
        help="observed weeks: columns week_start, kpi, value[, denominator]",
    )  # fmt: skip
    source.add_argument(
        "--log", type=Path, metavar="ATTENDANCES.csv",
        help="count the weekly figures from an event log's attendances (CSV or Parquet)",
    )  # fmt: skip
    sp.add_argument(
        "--spells", type=Path, metavar="SPELLS",
        help="with --log: the inpatient spells, for ward occupancy",
    )  # fmt: skip
    sp.add_argument(
        "--capacity", type=Path, metavar="CAPACITY",
        help="with --log: beds by unit, for ward occupancy",
    )  # fmt: skip
    sp.add_argument(
        "--map", type=Path, metavar="MAP.yaml",
        help="with --log: how the log's columns and codes map onto the event-log format",
    )  # fmt: skip
    sp.add_argument("--change-date", type=iso_date, required=True, metavar="DATE")
    sp.add_argument(
        "--out", "-o", type=Path, default=Path("study"), metavar="DIR",
        help="folder for study.html, points.csv and charts/ (default ./study)",
    )  # fmt: skip
    sp.add_argument(
        "--rephase", action="store_true",
        help="set the centre and limits again from the weeks after the change",
    )  # fmt: skip
    sp.add_argument(
        "--anchor", choices=("model", "observed"), default="model",
        help="predicted band as modelled (default), or moved by the gap between your "
        "baseline weeks and the modelled baseline",
    )  # fmt: skip
    sp.add_argument("--no-png", action="store_true", help="no PNG per chart")
    _rule_options(sp)
    sp.set_defaults(func=_cmd_study)


def _cmd_predict(args: argparse.Namespace) -> int:
    from ..budget import CLI_MAX_PATIENTS, check_budget, estimate
    from ..loader import load_scenario
    from ..report.page import write_atomic
    from .predict import effect_sentence, predict, prediction_json, prepare
    from .spc import Rules

    base = load_scenario(args.baseline, root=args.scenarios_root)
    change = load_scenario(args.change, root=args.scenarios_root)
    reps = args.replications or base.run.replications
    shaped = [prepare(s, args.weeks, args.warmup_days, args.start) for s in (base, change)]
    check_budget(estimate(shaped, reps, patients=False), CLI_MAX_PATIENTS)

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"flowsim: {done}/{total} replications done", file=sys.stderr, flush=True)

    record = predict(
        base,
        change,
        weeks=args.weeks,
        replications=reps,
        seed=args.seed,
        warmup_days=args.warmup_days,
        start=args.start,
        jobs=args.jobs,
        baseline_weeks=args.baseline_weeks,
        rules=Rules(shift=args.shift, trend=args.trend),
        files=(str(args.baseline), str(args.change)),
        progress=progress,
    )
    text = prediction_json(record)
    write_atomic(args.out, lambda p: p.write_text(text, encoding="utf-8"))
    for k in record["kpis"]:
        print(effect_sentence(k))
    print(f"wrote {args.out}")
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from .observed import read_observed, spellings
    from .predict import load_prediction
    from .report import write_study
    from .spc import Rules
    from .study import study

    prediction = load_prediction(args.prediction)
    if args.log is None:
        extra = [f"--{o}" for o in ("spells", "capacity", "map") if getattr(args, o) is not None]
        if extra:
            raise FlowsimError(f"{', '.join(extra)} can only be given with --log ATTENDANCES")
        try:
            text = args.observed.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise FlowsimError(f"{args.observed}: not a text file (UTF-8)") from e
        known = spellings((k["kpi"], k.get("label", k["kpi"])) for k in prediction["kpis"])
        units = {k["kpi"]: k.get("unit", "") for k in prediction["kpis"]}
        observed = read_observed(text, str(args.observed), known, units)
        notes: list[str] = []
    else:
        from .from_log import read_log_weeks

        weeks = read_log_weeks(
            args.log, [k["kpi"] for k in prediction["kpis"]], args.change_date,
            args.spells, args.capacity, args.map,
        )  # fmt: skip
        for line in weeks.summary:
            print(f"flowsim: {line}", file=sys.stderr)
        notes = weeks.notes
        for line in notes:
            print(f"flowsim: {line}", file=sys.stderr)
        if not weeks.observed:
            raise FlowsimError(f"{args.log}: none of the prediction's measures can be counted")
        observed = weeks.observed
    rules = Rules(shift=args.shift, trend=args.trend)
    studies = study(observed, prediction, args.change_date, rules, args.rephase, args.anchor)
    written = write_study(
        args.out, studies, prediction, args.change_date, rules, args.rephase, args.anchor,
        png=not args.no_png, notes=notes,
    )  # fmt: skip
    if args.log is not None:
        from ..report.page import write_atomic
        from .from_log import OBSERVED_NAME, observed_csv

        table = observed_csv(observed)
        target = args.out / OBSERVED_NAME
        write_atomic(target, lambda p: p.write_text(table, encoding="utf-8"))
        written.append(target)
    for s in studies:
        print(s.verdict)
    print(f"wrote {len(written)} files in {args.out}")
    return 0
