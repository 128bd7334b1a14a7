"""A synthetic year of ED attendances and inpatient spells with known parameters, not by flowsim.

This is a statistical generator, not a simulation of queues: every time is drawn independently
from a stated distribution (numpy only; pandas just writes the files), so that flowsim's
calibration is tested on data its own engine did not produce. The true parameters are written
beside the log as JSON, and the tests check that calibration recovers them.

    python examples/eventlog/generate.py                      # a year, ~100,000 attendances
    python examples/eventlog/generate.py --days 28 --out DIR  # a small sample

What it draws, in local UK time (the clock changes of 30 March and 26 October 2025 are in it):
- arrivals by mode: a Poisson process whose rate is ``per_day`` x weekday factor x hourly
  profile (both normalised to mean 1);
- acuity (triage category 1-5) from a mix by mode;
- left before treatment: a share by mode and acuity, leaving after a lognormal time;
- first clinician: arrival + an exponential wait (mean by acuity), a wait, not a queue;
- treatment: first clinician to decision (admitted) or departure, lognormal by acuity;
- disposal by mode and acuity: admitted, SDEC, transferred, died or discharged;
- admitted patients leave the ED after an exponential exit-block wait, to the AMU or straight to
  a medical ward; AMU stays are lognormal, then a share moves to a medical ward; ward stays to
  medically fit are gamma; a share of ward patients wait a lognormal delay after medically fit;
  ward discharges leave at an hour drawn from fixed weights, on weekdays more than weekends
  (a discharge falling on a weekend day is kept with the weekend share, else moved to Monday);
- direct admissions to the medical ward (no attendance), a Poisson number a day.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

TRUTH: dict = {
    "start": "2025-01-06",
    "days": 364,
    "seed": 20250106,
    "per_day": {"ambulance": 95.0, "walk_in": 185.0},
    "hourly_profile": [
        0.50,
        0.40,
        0.33,
        0.28,
        0.22,
        0.22,
        0.28,
        0.45,
        0.90,
        1.40,
        1.72,
        1.80,
        1.74,
        1.64,
        1.58,
        1.52,
        1.48,
        1.42,
        1.36,
        1.28,
        1.14,
        0.98,
        0.82,
        0.66,
    ],
    "weekday_factors": [1.14, 1.01, 0.98, 0.97, 0.98, 0.94, 0.98],
    "acuity_mix": {
        "ambulance": {"1": 0.05, "2": 0.30, "3": 0.45, "4": 0.17, "5": 0.03},
        "walk_in": {"1": 0.01, "2": 0.10, "3": 0.35, "4": 0.40, "5": 0.14},
    },
    "lwbs_share": {
        "ambulance": 0.0,
        "walk_in": {"1": 0.0, "2": 0.0, "3": 0.02, "4": 0.06, "5": 0.10},
    },
    "lwbs_time": {"dist": "lognormal", "mean_min": 150.0, "sd_min": 90.0},
    "first_seen_wait_mean_min": {"1": 5.0, "2": 30.0, "3": 70.0, "4": 90.0, "5": 100.0},
    "treatment": {
        "1": {"dist": "lognormal", "mean_min": 240.0, "sd_min": 120.0},
        "2": {"dist": "lognormal", "mean_min": 200.0, "sd_min": 100.0},
        "3": {"dist": "lognormal", "mean_min": 170.0, "sd_min": 90.0},
        "4": {"dist": "lognormal", "mean_min": 90.0, "sd_min": 60.0},
        "5": {"dist": "lognormal", "mean_min": 60.0, "sd_min": 40.0},
    },
    "disposal": {
        "ambulance": {
            "1": {"admitted": 0.70, "sdec": 0.00, "transferred": 0.08, "died": 0.04},
            "2": {"admitted": 0.50, "sdec": 0.06, "transferred": 0.02, "died": 0.005},
            "3": {"admitted": 0.38, "sdec": 0.08, "transferred": 0.01, "died": 0.0},
            "4": {"admitted": 0.12, "sdec": 0.03, "transferred": 0.0, "died": 0.0},
            "5": {"admitted": 0.05, "sdec": 0.0, "transferred": 0.0, "died": 0.0},
        },
        "walk_in": {
            "1": {"admitted": 0.60, "sdec": 0.0, "transferred": 0.05, "died": 0.02},
            "2": {"admitted": 0.40, "sdec": 0.08, "transferred": 0.01, "died": 0.0},
            "3": {"admitted": 0.22, "sdec": 0.07, "transferred": 0.005, "died": 0.0},
            "4": {"admitted": 0.05, "sdec": 0.02, "transferred": 0.0, "died": 0.0},
            "5": {"admitted": 0.01, "sdec": 0.0, "transferred": 0.0, "died": 0.0},
        },
    },
    "exit_block_mean_min": 120.0,
    "admitted_to": {"AMU": 0.65, "MEDWARD": 0.35},
    "amu_stay": {"dist": "lognormal", "mean_min": 1200.0, "sd_min": 720.0},
    "amu_to_ward": 0.55,
    "ward_stay_to_fit": {"dist": "gamma", "mean_min": 7200.0, "sd_min": 6000.0},
    "delayed_share": 0.22,
    "delay": {"dist": "lognormal", "mean_min": 4320.0, "sd_min": 4320.0},
    "ward_discharge_hours": [
        0.1,
        0.05,
        0.05,
        0.05,
        0.05,
        0.05,
        0.1,
        0.2,
        0.4,
        0.6,
        1.0,
        1.3,
        1.8,
        2.2,
        2.4,
        2.2,
        1.9,
        1.6,
        1.2,
        0.8,
        0.5,
        0.3,
        0.2,
        0.15,
    ],
    "weekend_discharge_share": 0.45,
    "direct_admissions_per_day": 8.0,
    "beds": {"AMU": 60, "MEDWARD": 520},
}

ACUITIES = ["1", "2", "3", "4", "5"]


def _lognormal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    s2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - s2 / 2, np.sqrt(s2), n)


def _gamma(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    shape = (mean / sd) ** 2
    return rng.gamma(shape, mean / shape, n)


def _draw(rng: np.random.Generator, spec: dict, n: int) -> np.ndarray:
    f = _lognormal if spec["dist"] == "lognormal" else _gamma
    return f(rng, spec["mean_min"], spec["sd_min"], n)


def _arrivals(rng: np.random.Generator, t: dict, mode: str) -> np.ndarray:
    """Arrival instants in real minutes from the start, at rates that follow the local clock."""
    hourly = np.asarray(t["hourly_profile"]) / np.mean(t["hourly_profile"])
    weekday = np.asarray(t["weekday_factors"]) / np.mean(t["weekday_factors"])
    hours = np.arange(t["days"] * 24)
    local = pd.DatetimeIndex(_origin(t["start"]) + pd.to_timedelta(hours, unit="h")).tz_convert(
        "Europe/London"
    )
    rate = t["per_day"][mode] / 24 * hourly[local.hour] * weekday[local.day_of_week]
    counts = rng.poisson(rate)
    starts = np.repeat(hours * 60.0, counts)
    return np.sort(starts + rng.uniform(0, 60, starts.size))


def _origin(start: str) -> pd.Timestamp:
    return pd.Timestamp(start).tz_localize("Europe/London").tz_convert("UTC")


def _clock_ahead(start: str, minutes: np.ndarray) -> np.ndarray:
    """Minutes the local clock is ahead of real time since ``start`` (60 in summer time)."""
    stamps = pd.DatetimeIndex(_origin(start) + pd.to_timedelta(minutes, unit="min"))
    local = stamps.tz_convert("Europe/London").tz_localize(None)
    return np.asarray((local - stamps.tz_localize(None)) / pd.Timedelta(minutes=1)) - (
        (
            _origin(start).tz_convert("Europe/London").tz_localize(None)
            - _origin(start).tz_localize(None)
        )
        / pd.Timedelta(minutes=1)
    )


def _to_local(start: str, minutes: np.ndarray) -> pd.Series:
    """Real elapsed minutes from local midnight of ``start`` as local UK wall-clock strings."""
    stamps = _origin(start) + pd.to_timedelta(np.round(minutes), unit="min")
    local = pd.DatetimeIndex(stamps).tz_convert("Europe/London")
    return pd.Series(local.strftime("%Y-%m-%d %H:%M"))


def _at_discharge_hour(
    rng: np.random.Generator, t: dict, start: str, ready: np.ndarray
) -> np.ndarray:
    """Each ready time moved to the next hour drawn from the ward's discharge weights, on a day
    that lets the patient go (weekends let a share go; the rest wait to Monday)."""
    w = np.asarray(t["ward_discharge_hours"])
    hour = rng.choice(24, size=ready.size, p=w / w.sum())
    minute = hour * 60 + rng.uniform(0, 60, ready.size)
    wall = ready + _clock_ahead(start, ready)
    out = np.floor(wall / 1440) * 1440 + minute
    out = np.where(out < wall, out + 1440, out)
    weekday = (np.floor(out / 1440) + pd.Timestamp(start).weekday()) % 7
    weekend = weekday >= 5
    held = weekend & (rng.uniform(size=ready.size) > t["weekend_discharge_share"])
    to_monday = np.where(weekday == 5, 2, 1) * 1440
    out = np.where(held, out + to_monday, out)
    return out - _clock_ahead(start, out)


def generate(t: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The attendances and spells tables for the parameters ``t``."""
    rng = np.random.default_rng(t["seed"])
    parts = []
    for mode in ("ambulance", "walk_in"):
        arrive = _arrivals(rng, t, mode)
        mix = t["acuity_mix"][mode]
        acuity = rng.choice(ACUITIES, size=arrive.size, p=[mix[a] for a in ACUITIES])
        parts.append(pd.DataFrame({"arrive": arrive, "mode": mode, "acuity": acuity}))
    a = pd.concat(parts).sort_values("arrive", kind="stable").reset_index(drop=True)
    n = len(a)
    acuity = a["acuity"].to_numpy()
    mode = a["mode"].to_numpy()

    lwbs_p = np.array(
        [
            0.0 if m == "ambulance" else t["lwbs_share"]["walk_in"][c]
            for m, c in zip(mode, acuity, strict=True)
        ]
    )
    lwbs = rng.uniform(size=n) < lwbs_p
    wait_mean = np.array([t["first_seen_wait_mean_min"][c] for c in ACUITIES])
    idx = np.searchsorted(ACUITIES, acuity)
    seen = a["arrive"].to_numpy() + rng.exponential(wait_mean[idx])
    treat = np.empty(n)
    for i, c in enumerate(ACUITIES):
        sel = idx == i
        treat[sel] = _draw(rng, t["treatment"][c], int(sel.sum()))
    end_of_treatment = seen + treat

    u = rng.uniform(size=n)
    disposal = np.full(n, "discharged", dtype=object)
    for m in ("ambulance", "walk_in"):
        for c in ACUITIES:
            sel = (mode == m) & (acuity == c)
            edge = 0.0
            for what, p in t["disposal"][m][c].items():
                disposal[sel & (u >= edge) & (u < edge + p)] = what
                edge += p
    disposal[lwbs] = "left_before_treatment"
    admitted = disposal == "admitted"
    dta = np.where(admitted, end_of_treatment, np.nan)
    depart = np.where(
        admitted, dta + rng.exponential(t["exit_block_mean_min"], n), end_of_treatment
    )
    depart = np.where(lwbs, a["arrive"].to_numpy() + _draw(rng, t["lwbs_time"], n), depart)
    seen = np.where(lwbs, np.nan, seen)
    units = list(t["admitted_to"])
    admitted_to = np.where(
        admitted, rng.choice(units, size=n, p=[t["admitted_to"][k] for k in units]), ""
    )

    attendances = pd.DataFrame(
        {
            "attendance_id": [f"A{i:07d}" for i in range(n)],
            "arrival": _to_local(t["start"], a["arrive"].to_numpy()),
            "mode": mode,
            "acuity": acuity,
            "first_seen": _to_local(t["start"], seen).where(~np.isnan(seen), ""),
            "decision_to_admit": _to_local(t["start"], dta).where(admitted, ""),
            "departure": _to_local(t["start"], depart),
            "disposal": disposal,
            "admitted_to": admitted_to,
        }
    )
    spells = _spells(rng, t, attendances["attendance_id"].to_numpy(), depart, admitted_to)
    return attendances, spells


def _spells(
    rng: np.random.Generator, t: dict, ids: np.ndarray, depart: np.ndarray, unit: np.ndarray
) -> pd.DataFrame:
    rows: list[pd.DataFrame] = []
    amu = unit == "AMU"
    amu_in = depart[amu]
    amu_out = amu_in + _draw(rng, t["amu_stay"], amu_in.size)
    moves = rng.uniform(size=amu_in.size) < t["amu_to_ward"]
    rows.append(
        pd.DataFrame(
            {
                "attendance_id": ids[amu],
                "unit": "AMU",
                "area": "assessment",
                "admitted": amu_in,
                "discharged": amu_out,
                "medically_fit": np.nan,
                "destination": np.where(moves, "MEDWARD", "home"),
            }
        )
    )
    direct_days = rng.poisson(t["direct_admissions_per_day"], t["days"])
    direct_in = np.repeat(np.arange(t["days"]) * 1440.0, direct_days) + rng.uniform(
        8 * 60, 20 * 60, int(direct_days.sum())
    )
    ward_in = np.concatenate([depart[unit == "MEDWARD"], amu_out[moves], direct_in])
    ward_ids = np.concatenate(
        [ids[unit == "MEDWARD"], ids[amu][moves], np.full(direct_in.size, "")]
    )
    fit = ward_in + _draw(rng, t["ward_stay_to_fit"], ward_in.size)
    delayed = rng.uniform(size=fit.size) < t["delayed_share"]
    ready = fit + np.where(delayed, _draw(rng, t["delay"], fit.size), 0.0)
    out = _at_discharge_hour(rng, t, t["start"], ready)
    rows.append(
        pd.DataFrame(
            {
                "attendance_id": ward_ids,
                "unit": "MEDWARD",
                "area": "ward",
                "admitted": ward_in,
                "discharged": out,
                "medically_fit": fit,
                "destination": "home",
            }
        )
    )
    s = pd.concat(rows).sort_values("admitted", kind="stable").reset_index(drop=True)
    s.insert(0, "spell_id", [f"S{i:07d}" for i in range(len(s))])
    for col in ("admitted", "discharged", "medically_fit"):
        v = s[col].to_numpy(dtype=float)
        s[col] = _to_local(t["start"], np.nan_to_num(v)).where(~np.isnan(v), "")
    return s


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=TRUTH["days"])
    p.add_argument("--seed", type=int, default=TRUTH["seed"])
    p.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = p.parse_args()
    truth = dict(TRUTH, days=args.days, seed=args.seed)
    attendances, spells = generate(truth)
    args.out.mkdir(parents=True, exist_ok=True)
    attendances.to_csv(args.out / "attendances.csv.gz", index=False)
    spells.to_csv(args.out / "spells.csv.gz", index=False)
    beds = pd.DataFrame({"unit": list(truth["beds"]), "beds": list(truth["beds"].values())})
    beds.to_csv(args.out / "capacity.csv", index=False)
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"{len(attendances):,} attendances and {len(spells):,} spells written to {args.out}")


if __name__ == "__main__":
    main()
