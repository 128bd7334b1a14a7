"""Stays by destination: a small hand-made log whose AMU stays depend on where the patient goes
next (known distributions, fixed seed) is calibrated into ``duration_by_next``; destinations
with too few spells use the pooled stay. The shipped year's generator draws AMU stays whatever
comes next (examples/eventlog/truth.json), so it cannot show a difference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from flowsim.calibration.eventlog import read_event_log
from flowsim.calibration.fit import MIN_BY_DESTINATION, calibrate
from flowsim.calibration.write import write_scenario
from flowsim.distributions import Lognormal, Weibull
from flowsim.scenario import Stage

TO_WARD = (1.5, 2 * 1440.0)  # Weibull shape and scale (minutes): moved on to the ward
HOME = (720.0, 480.0)  # lognormal mean and sd (minutes): went home or to a care home
N_WARD, N_HOME, N_SURGERY = 600, 600, 12


def _stamp(t: pd.Series) -> pd.Series:
    return t.dt.strftime("%Y-%m-%d %H:%M")


def _log(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1313)
    n = N_WARD + N_HOME + N_SURGERY
    start = pd.Timestamp("2025-05-05")
    arrival = start + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 1440, n)), unit="min")
    arrival = pd.Series(arrival).dt.floor("min")
    departure = arrival + pd.Timedelta(hours=3)
    ids = [f"A{i:05d}" for i in range(n)]
    att = pd.DataFrame(
        {
            "attendance_id": ids,
            "arrival": _stamp(arrival),
            "mode": "ambulance",
            "acuity": "2",
            "first_seen": _stamp(arrival + pd.Timedelta(minutes=30)),
            "decision_to_admit": _stamp(arrival + pd.Timedelta(hours=2)),
            "departure": _stamp(departure),
            "disposal": "admitted",
            "admitted_to": "AMU",
        }
    )
    dest = np.array(["MEDWARD"] * N_WARD + ["home"] * N_HOME + ["SURGWARD"] * N_SURGERY)
    rng.shuffle(dest)
    k, scale = TO_WARD
    s2 = math.log1p((HOME[1] / HOME[0]) ** 2)
    stay = np.where(
        dest == "home",
        rng.lognormal(math.log(HOME[0]) - s2 / 2, math.sqrt(s2), n),
        scale * rng.weibull(k, n),
    )
    amu_out = departure + pd.to_timedelta(stay, unit="min")
    moved = dest != "home"
    later = amu_out[moved] + pd.to_timedelta(rng.gamma(2.0, 2 * 1440.0, moved.sum()), unit="min")
    # Half of those going home are written as going to a care home: leaving is one route
    # (exit), whatever the destination's word.
    written = np.where((dest == "home") & (np.arange(n) % 2 == 0), "care_home", dest)
    spells = pd.concat(
        [
            pd.DataFrame(
                {
                    "attendance_id": ids,
                    "unit": "AMU",
                    "area": "assessment",
                    "admitted": _stamp(departure),
                    "discharged": _stamp(amu_out),
                    "destination": written,
                }
            ),
            pd.DataFrame(
                {
                    "attendance_id": np.asarray(ids)[moved],
                    "unit": dest[moved],
                    "area": "ward",
                    "admitted": _stamp(amu_out[moved]),
                    "discharged": _stamp(later),
                    "destination": "home",
                }
            ),
        ],
        ignore_index=True,
    )
    spells.insert(0, "spell_id", [f"S{i:05d}" for i in range(len(spells))])
    a, s = folder / "attendances.csv", folder / "spells.csv"
    att.to_csv(a, index=False)
    spells.to_csv(s, index=False)
    return a, s


def test_stays_by_destination_are_recovered_and_written(tmp_path: Path) -> None:
    a, s = _log(tmp_path)
    cal = calibrate(read_event_log(a, s))
    amu = cal.units["AMU"]
    assert set(amu.stay_by_next) == {"MEDWARD", "exit"}
    # Twelve moves to surgery are under the threshold: their stay is the pooled one.
    assert amu.stay_pooled_for == {"SURGWARD": N_SURGERY} and N_SURGERY < MIN_BY_DESTINATION

    ward = Stage.model_validate({"duration": amu.stay_by_next["MEDWARD"].dist}).duration
    home = Stage.model_validate({"duration": amu.stay_by_next["exit"].dist}).duration
    assert isinstance(ward, Weibull), amu.stay_by_next["MEDWARD"].method
    assert isinstance(home, Lognormal), amu.stay_by_next["exit"].method
    # Three asymptotic standard errors (see test_calibration_fit.py for the Weibull's); the
    # lognormal's mean: sd / sqrt(n). Times are recorded to the minute: half a minute more.
    k, scale = TO_WARD
    n = amu.stay_by_next["MEDWARD"].n
    assert n == N_WARD and amu.stay_by_next["exit"].n == N_HOME
    assert abs(ward.shape - k) <= 3 * math.sqrt(6) / math.pi * k / math.sqrt(n)
    info = 1 + 6 * (1 - np.euler_gamma) ** 2 / math.pi**2
    assert abs(ward.scale - scale) <= 3 * math.sqrt(info) * scale / (k * math.sqrt(n)) + 0.5
    assert abs(home.mean - HOME[0]) <= 3 * HOME[1] / math.sqrt(N_HOME) + 0.5
    # The pooled stay mixes both: its mean lies between them.
    pooled = Stage.model_validate({"duration": amu.stay.dist}).duration.expected()
    assert home.expected() < pooled < ward.expected()

    out = tmp_path / "trust.yaml"
    scenario = write_scenario(cal, out, "a hand-made log")
    stage = scenario.stages["amu_stay"]
    assert set(stage.duration_by_next) == {"medward_stay", "exit"}
    assert set(stage.next) == {"medward_stay", "surgward_stay", "exit"}
    text = out.read_text()
    assert "fewer, so the pooled duration above: SURGWARD (n=12)" in text
