"""Downloads of a result: KPIs, summary, comparison, time series and the scenarios as run."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import streamlit as st

from flowsim.experiment import Results
from flowsim.loader import scenario_yaml

Download = tuple[str, bytes, str, str]
"""``(label, content, file name, type)``"""


def downloads(results: Results, comparison: pd.DataFrame | None = None) -> list[Download]:
    """Each download of a result (the comparison only when there is one)."""
    out = [
        (
            "KPIs by replication (CSV)",
            results.kpis.to_csv(index=False).encode(),
            "kpis.csv",
            "text/csv",
        ),
        (
            "Summary with 95% CIs (CSV)",
            results.summary().to_csv(index=False).encode(),
            "summary.csv",
            "text/csv",
        ),
    ]
    if comparison is not None:
        out.append(
            (
                "Comparison (CSV)",
                comparison.to_csv(index=False).encode(),
                "comparison.csv",
                "text/csv",
            )
        )
    out.append(
        (
            "Occupancy time series (Parquet)",
            _parquet(results.timeseries),
            "timeseries.parquet",
            "application/octet-stream",
        )
    )
    if results.ed_timeseries is not None:
        out.append(
            (
                "ED time series (Parquet)",
                _parquet(results.ed_timeseries),
                "ed_timeseries.parquet",
                "application/octet-stream",
            )
        )
    out.append(
        ("Scenarios as run (YAML, zip)", _scenario_zip(results), "scenarios.zip", "application/zip")
    )
    return out


def show_downloads(files: list[Download]) -> None:
    cols = st.columns(3)
    for i, (text, data, name, mime) in enumerate(files):
        cols[i % 3].download_button(text, data, name, mime, key=f"dl.{name}")


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _scenario_zip(results: Results) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, s in results.scenarios.items():
            z.writestr(f"scenarios/{name}.yaml", scenario_yaml(s))
    return buf.getvalue()
