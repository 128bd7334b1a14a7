"""What each change alters, shown next to its result: the differences of the change from the
baseline in plain words (:func:`flowsim.alterations.alterations`), one list per change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from flowsim.alterations import alterations
from flowsim.scenario import Scenario

from .safe_text import plain


def alterations_markdown(change: Scenario, baseline: Scenario) -> str:
    """The change's alterations as a Markdown list, every line shown as plain text."""
    lines = alterations(change, baseline)
    if not lines:
        return "Nothing: it runs as the baseline does."
    return "\n".join(f"- {plain(line)}" for line in lines)


def show_alterations(
    scenarios: Mapping[str, Scenario], baseline: str, changes: Sequence[str]
) -> None:
    """One column per change (as the headline has), saying what it alters in the baseline."""
    shown = [c for c in changes if c in scenarios and c != baseline]
    if baseline not in scenarios or not shown:
        return
    st.markdown("**What each change alters in the baseline**")
    for column, name in zip(st.columns(len(shown)), shown, strict=True):
        with column:
            st.markdown(
                f"{plain(name)}\n\n" + alterations_markdown(scenarios[name], scenarios[baseline])
            )
