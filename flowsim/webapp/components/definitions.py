"""What the measures mean: a table drawn from the KPI registry (:data:`flowsim.kpis.KPIS`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from flowsim.kpis import KPIS, kpi_info, label


def definitions_table(kpis: list[str] | None = None) -> pd.DataFrame:
    """One row per KPI: its label, unit, definition and better direction (every KPI in the
    registry when ``kpis`` is None)."""
    keys = kpis if kpis is not None else [k.pattern for k in KPIS]
    rows = []
    for k in keys:
        info = kpi_info(k)  # listed names (``wait_mean.<stage>``) resolve as well
        rows.append(
            {
                "Measure": info.label if info is not None and k == info.pattern else label(k),
                "Unit": info.unit if info is not None else "",
                "What it measures": info.definition if info is not None else "",
                "Better when": "(depends)"
                if info is None or info.better == "neither"
                else info.better,
                "KPI": k,
            }
        )
    return pd.DataFrame(rows)


def show_definitions(kpis: list[str] | None = None) -> None:
    st.dataframe(definitions_table(kpis), hide_index=True, width="stretch")
