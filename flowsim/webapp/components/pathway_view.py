"""The flow diagram of a chosen scenario (drawn by :mod:`flowsim.pathway`)."""

from __future__ import annotations

import streamlit as st

from flowsim.pathway import to_dot
from flowsim.scenario import Scenario


def show_pathway(scenarios: list[Scenario]) -> None:
    names = [s.name for s in scenarios]
    pick = st.selectbox("Scenario", names, key="pathway_scenario")
    s = scenarios[names.index(pick)]
    st.caption(
        "Arrival streams (top) go through stages, grouped by the place they are in "
        "(with its beds or spaces); arrows carry routing probabilities, by patient "
        "class where they differ. Dashed arrows are taken when a place is full or closed."
    )
    st.graphviz_chart(to_dot(s), width="stretch")
