"""Types for command-line arguments: whole numbers and numbers within bounds, and dates. Each
refusal says what was expected, and argparse shows it beside the option's name."""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if v < low or (high is not None and v > high):
            raise argparse.ArgumentTypeError(
                f"must be {low} or more" if high is None else f"must be from {low} to {high:,}"
            )
        return v

    return parse


def number(low: float, high: float, low_included: bool) -> Callable[[str], float]:
    """A finite number above ``low`` (or from it, when ``low_included``) and at most ``high``."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not (math.isfinite(v) and (v >= low if low_included else v > low) and v <= high):
            raise argparse.ArgumentTypeError(
                f"must be {'from' if low_included else 'above'} {low:g} "
                f"{'to' if low_included else 'and at most'} {high:g}"
            )
        return v

    return parse


def iso_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None
