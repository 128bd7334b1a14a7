"""A results folder as one self-contained HTML report for a board paper (and PNGs for slides)."""

from .build import ReportError, build_report

__all__ = ["ReportError", "build_report"]
