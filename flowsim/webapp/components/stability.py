"""The stability warning: a scenario whose queues kept growing through the measured period is
flagged, with a plain explanation and each replication's measure of drift, so that nobody reads
its figures as a forecast (see :mod:`flowsim.stability`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from flowsim.stability import warnings

from .safe_text import plain


def stability_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each replication's check as people read it."""
    return pd.DataFrame(
        {
            "Scenario": table["scenario"].astype(str),
            "Replication": table["replication"],
            "Steady": ["yes" if s else "NO" for s in table["steady"]],
            "Patients waiting (mean)": table["waiting_mean"].round(1),
            "Drift (patients a day)": table["drift_per_day"].round(2),
            "Rise over the period (patients)": table["growth"].round(1),
            "What it means": table["note"],
        }
    )


def steady_words(table: pd.DataFrame | None, scenario: str, baseline: str) -> str:
    """Whether a comparison's two sides settled, in a few words for the KPI table's "Steady?"
    column: ``yes``, or which side kept growing in how many replications."""
    if table is None or not len(table):
        return ""
    parts = []
    for who, name in (("change", scenario), ("baseline", baseline)):
        g = table[table["scenario"].astype(str) == name]
        bad = int((~g["steady"].astype(bool)).sum())
        if bad:
            parts.append(f"{who}: {bad} of {len(g)} replications")
    return "NO (" + "; ".join(parts) + ")" if parts else "yes"


def show_stability(table: pd.DataFrame) -> None:
    """A warning per scenario that is not steady, and every replication's check on request."""
    if table is None or not len(table):
        return
    for warning in warnings(table):
        st.warning(plain(warning), icon="⚠️")
    with st.expander("Stability check: did the queues settle?"):
        st.caption(
            "A replication is steady when the number of patients waiting (for beds, cubicles "
            "and chairs, and in waiting rooms) settles during the measured period. When it keeps "
            "rising, the results depend on how long the run was and are not a forecast."
        )
        # A static table: the page's interactive tables are its results (tests find them by order).
        st.table(stability_rows(table).set_index(["Scenario", "Replication"]))
