"""Make the example's observed weekly figures: synthetic, drawn with numpy alone (not flowsim).

26 weeks before the change (weeks starting on Mondays from 2024-09-02) and 12 after it (the
change starts on 2025-03-03). Every parameter is stated below; the seed makes the file the same
every time. Run from the repository's top folder:

    python examples/pdsa/make_observed.py > examples/pdsa/observed_weeks.csv
"""

from __future__ import annotations

import csv
import datetime as dt
import sys

import numpy as np

SEED = 20250303
FIRST_WEEK = dt.date(2024, 9, 2)
WEEKS_BEFORE, WEEKS_AFTER = 26, 12

# Attendances a week: Poisson with mean 2,100 (about 300 a day); ambulance handovers: Poisson
# with mean 760.
ATTENDANCES, HANDOVERS = 2100, 760
# Proportions: each week's true share is drawn around the level (normal, sd given), then the
# week's count is binomial on the week's denominator: real weeks vary more than binomial.
# (level before, level after, sd of the weekly share)
FOUR_HOUR = (0.720, 0.742, 0.008)
LWBS = (0.035, 0.029, 0.003)
HANDOVER_60 = (0.050, 0.049, 0.006)
# Measures: normal weeks, (mean before, mean after, sd).
TIME_IN_DEPARTMENT = (209.0, 203.0, 5.0)
WARD_OCCUPANCY = (90.4, 90.4, 0.9)
# Trolley waits: Poisson counts, (mean before, mean after).
TROLLEY_WAITS = (1.0, 1.0)


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["week_start", "kpi", "value", "denominator"])
    for w in range(WEEKS_BEFORE + WEEKS_AFTER):
        k = int(w >= WEEKS_BEFORE)  # 0 before the change, 1 after it
        week = (FIRST_WEEK + dt.timedelta(weeks=w)).isoformat()
        att, hand = int(rng.poisson(ATTENDANCES)), int(rng.poisson(HANDOVERS))
        for kpi, params, n in (
            ("four_hour_pct", FOUR_HOUR, att),
            ("left_without_being_seen_pct", LWBS, att),
            ("handover_over_60_pct", HANDOVER_60, hand),
        ):
            share = min(max(rng.normal(params[k], params[2]), 0.0), 1.0)
            out.writerow([week, kpi, round(100.0 * rng.binomial(n, share) / n, 2), n])
        out.writerow(
            [
                week,
                "time_in_department_mean",
                round(rng.normal(TIME_IN_DEPARTMENT[k], TIME_IN_DEPARTMENT[2]), 1),
                "",
            ]
        )
        out.writerow([week, "dta_over_12h_count", int(rng.poisson(TROLLEY_WAITS[k])), ""])
        out.writerow(
            [
                week,
                "occupancy_mean_pct.wards",
                round(rng.normal(WARD_OCCUPANCY[k], WARD_OCCUPANCY[2]), 2),
                "",
            ]
        )


if __name__ == "__main__":
    main()
