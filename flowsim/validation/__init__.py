"""Validation: flowsim's numbers against answers nobody here computed by simulation.

Each case is an ordinary scenario file (``cases/*.yaml``, package data) whose top-level
``x-validation`` block (ignored by the loader) says which textbook result it is checked
against. :func:`run_suite` runs the cases and Little's law on every shipped scenario;
:func:`write_report` writes the Markdown report. ``python -m flowsim.validation`` and
``flowsim validate-model`` do both.
"""

from __future__ import annotations

from .checks import CHECK_CONFIDENCE, CaseResult, Check
from .report import write_report
from .suite import case_files, run_suite

__all__ = ["CHECK_CONFIDENCE", "CaseResult", "Check", "case_files", "run_suite", "write_report"]
