"""The report of the result on screen, offered as a download: the same self-contained HTML file
``flowsim report`` writes from a results folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from flowsim.experiment import Results

from .results_store import memo

REPORT_NAME = "flowsim-report.html"


def report_html(results: Results, comparison: pd.DataFrame | None) -> bytes:
    """The report of ``results`` as ``flowsim report`` builds it: the results are written to a
    temporary folder as ``flowsim compare`` writes them, the report built from that folder and
    read back, and the folder removed."""
    from flowsim.output import write_results
    from flowsim.report.build import build_report

    with tempfile.TemporaryDirectory(prefix="flowsim-report-") as tmp:
        folder = Path(tmp) / "results"
        write_results(
            results,
            folder,
            comparison=comparison,
            extra={"command": "flowsim app (the browser page)"},
        )
        out = Path(tmp) / "report.html"
        build_report(folder, out)
        return out.read_bytes()


def show_report_download(results: Results, comparison: pd.DataFrame | None, key: str) -> None:
    """A button that makes the report (a few seconds, so only when asked), then its download."""
    made = st.session_state.setdefault("report.made", set())
    if key not in made:
        if st.button("Make the report (HTML, opens offline)", key="report.make"):
            made.add(key)
        else:
            st.caption(
                "One file with the verdicts, the difference chart and the charts, for a board "
                "paper; it opens in any browser without a network."
            )
            return
    with st.spinner("Making the report…"):
        data = memo(key, "report", lambda: report_html(results, comparison))
    st.download_button(
        f"Download the report ({len(data) / 1e6:.1f} MB)",
        data,
        REPORT_NAME,
        "text/html",
        key="dl.report",
        type="primary",
    )
