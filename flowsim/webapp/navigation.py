"""The app's frame: the list of pages for the navigation, and the guard that shows a page's
errors as messages instead of tracebacks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import ModuleType

import streamlit as st

from flowsim.errors import FlowsimError, ScenarioError

from .components.safe_text import error_md, problems_md
from .components.scenario_picker import scenarios_folder
from .pages import calibrate, capacity, compare, study

log = logging.getLogger("flowsim.app")


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """``page`` with its errors shown in the page: a scenario's problems as a list, a flowsim
    error as its message, anything else as a plain apology (the details go to the log). User
    text in the messages is shown as plain text, and paths relative to the scenarios folder."""

    @functools.wraps(page)
    def run_page() -> None:
        try:
            page()
        except ScenarioError as e:
            st.error("The scenario is not valid:\n\n" + problems_md(e, scenarios_folder()))
        except FlowsimError as e:
            st.error(error_md(e, scenarios_folder()))
        except Exception:  # noqa: BLE001 - the page must not show a traceback
            log.exception("unexpected error in the flowsim page")
            st.error(
                "Something went wrong that flowsim did not expect. The details are in the "
                "log of the terminal that started the app; please report them."
            )

    return run_page


PAGES: tuple[ModuleType, ...] = (compare, capacity, calibrate, study)
"""The page modules in the navigation's order, the first opening by default. A new page is a
module in :mod:`flowsim.webapp.pages` with a ``TITLE``, a ``URL_PATH`` and a ``page()``,
listed here."""


def pages() -> list[st.Page]:
    """The pages for ``st.navigation``, each behind :func:`guarded`."""
    return [
        st.Page(guarded(m.page), title=m.TITLE, url_path=m.URL_PATH, default=i == 0)
        for i, m in enumerate(PAGES)
    ]


def main() -> None:
    st.set_page_config(page_title="flowsim", layout="wide")
    st.navigation(pages()).run()
