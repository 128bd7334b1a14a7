"""Back-test: today's numbers, pinned, so that any change to what the engine computes is deliberate.

Three small scenarios (``tests/backtest/*.yaml``, standalone copies that editing ``scenarios/``
cannot move) are run at their fixed seeds, and every replication's records are reduced to a
fingerprint: the number of SimPy events and of arrivals, a checksum of each per-patient, per-visit
and per-pool array, and every KPI. ``tests/backtest/expected.json`` holds the fingerprints as they
were; a test fails naming each figure that moved.

When a change is meant to move them, regenerate the file and read its diff, which says what moved::

    python tests/test_backtest.py --regenerate && git diff tests/backtest/expected.json
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowsim.engine import simulate
from flowsim.kpis import compute_kpis, ed_series, hourly_series, time_in_department_cdf
from flowsim.loader import load_scenario

HERE = Path(__file__).resolve().parent / "backtest"
EXPECTED = HERE / "expected.json"
CASES = ("tiny", "baseline_short", "pressure")
REGENERATE = "python tests/test_backtest.py --regenerate"


def _checksum(values: Any) -> str:
    """A checksum of an array's values, blind to its dtype (int16 and int64 hash alike) but not to
    a single bit of a value: floats are hashed as float64, everything else as int64."""
    a = np.asarray(values)
    a = a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64)
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _kpi_value(x: float) -> float | None:
    return None if math.isnan(x) else x


def fingerprint(case: str) -> list[dict[str, Any]]:
    """The fingerprint of each replication of back-test ``case``."""
    scenario = load_scenario(HERE / f"{case}.yaml")
    out = []
    for r in range(scenario.run.replications):
        rec = simulate(scenario, r, scenario.run.seed, record_visits=True)
        assert rec.visits is not None and rec.open_visits is not None
        arrays: dict[str, Any] = {
            name: getattr(rec, name)
            for name in (
                "arrival",
                "stream",
                "patient_class",
                "ed_attendance",
                "ed_departure",
                "decision_to_admit",
                "triage",
                "clinician",
                "handover",
                "left",
                "left_without_being_seen",
                "stage_wait_sum",
                "stage_wait_count",
            )
        }
        arrays.update({f"visits.{k}": v for k, v in rec.visits.items()})
        arrays.update({f"open_visits.{k}": v for k, v in rec.open_visits.items()})
        for pool, log in rec.pools.items():
            for k in ("time", "in_use", "waiting", "cap_time", "cap_value"):
                arrays[f"pool.{pool}.{k}"] = log[k]
        hourly = hourly_series(rec)
        arrays.update(
            {f"hourly.{k}": getattr(hourly, k) for k in ("hour", "occupancy", "queue", "capacity")}
        )
        ed = ed_series(rec)
        arrays.update(
            {
                "ed.boarders": ed.boarders,
                "ed.ambulance_queue": ed.ambulance_queue,
                "time_in_department": time_in_department_cdf(rec),
            }
        )
        out.append(
            {
                "replication": r,
                "events": rec.events,
                "arrivals": len(rec.arrival),
                "visits": len(rec.visits["patient"]),
                "delayed_minutes": rec.delayed_minutes,
                "checksums": {k: _checksum(v) for k, v in sorted(arrays.items())},
                "kpis": {k: _kpi_value(v) for k, v in sorted(compute_kpis(rec).items())},
            }
        )
    return out


def _expected() -> dict[str, Any]:
    if not EXPECTED.exists():
        pytest.fail(f"{EXPECTED} is missing; make it with: {REGENERATE}")
    return json.loads(EXPECTED.read_text())


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every place where ``actual`` differs from ``expected``, as ``path: was -> now``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{k}" if path else str(k)
            if k not in actual:
                out.append(f"{where}: gone (was {expected[k]!r})")
            elif k not in expected:
                out.append(f"{where}: new ({actual[k]!r})")
            else:
                out.extend(differences(expected[k], actual[k], where))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items -> {len(actual)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: {expected!r} -> {actual!r}"]


@pytest.mark.parametrize("case", CASES)
def test_engine_numbers_are_pinned(case: str) -> None:
    moved = differences(_expected()[case], json.loads(json.dumps(fingerprint(case))))
    assert not moved, (
        f"back-test '{case}': {len(moved)} figures moved:\n  "
        + "\n  ".join(moved[:40])
        + f"\nIf the change is meant to move them: {REGENERATE}, and say in the commit why."
    )


def test_the_cases_cover_what_the_engine_does() -> None:
    # A back-test that never blocks, queues or sends anyone home unseen would pin little.
    kpis = {case: _expected()[case][0]["kpis"] for case in CASES}
    assert kpis["pressure"]["handover_over_60_pct"] > 10  # ambulances wait: no cubicle free
    assert kpis["pressure"]["dta_over_12h_count"] > 0  # exit block
    assert kpis["pressure"]["occupancy_ge_100_pct_time.wards"] > 10
    assert kpis["baseline_short"]["left_without_being_seen_pct"] > 0
    assert kpis["baseline_short"]["delayed_discharge_bed_days"] > 0
    assert kpis["tiny"]["queue_mean.ward"] > 0


def test_differences_name_what_moved() -> None:
    was = {"a": [{"events": 3, "kpis": {"x": 1.0}}]}
    now = {"a": [{"events": 4, "kpis": {"x": 1.0, "y": 2.0}}]}
    assert differences(was, now) == ["a[0].events: 3 -> 4", "a[0].kpis.y: new (2.0)"]
    assert differences(was, was) == []


def regenerate() -> None:
    data = {case: fingerprint(case) for case in CASES}
    EXPECTED.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: {REGENERATE}")
    regenerate()
