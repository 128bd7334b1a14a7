"""Durations as people write them: ``45min``, ``4h``, ``7d``, ``1d 6h``.

Time inside flowsim is always minutes (a float). Scenario files may give a bare number, which is
read as minutes, or a string of one or more ``<number><unit>`` parts.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

MINUTES_PER_UNIT: dict[str, float] = {
    "s": 1 / 60,
    "sec": 1 / 60,
    "secs": 1 / 60,
    "second": 1 / 60,
    "seconds": 1 / 60,
    "min": 1.0,
    "mins": 1.0,
    "minute": 1.0,
    "minutes": 1.0,
    "h": 60.0,
    "hr": 60.0,
    "hrs": 60.0,
    "hour": 60.0,
    "hours": 60.0,
    "d": 1440.0,
    "day": 1440.0,
    "days": 1440.0,
    "w": 10080.0,
    "week": 10080.0,
    "weeks": 10080.0,
}

_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)\s*")

MAX_DURATION_DAYS = 3_660
"""The longest duration, in days (ten years): no stay, delay or run is longer."""
DURATION_HINT = (
    "a duration such as 45min, 4h, 7d or 1d 6h (a bare number is minutes; at most "
    f"{MAX_DURATION_DAYS:,} days)"
)


def parse_duration(value: object) -> float:
    """Return ``value`` in minutes; raise ``ValueError`` naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HINT}, got {_shown(value)}")
    if isinstance(value, (int, float)):
        minutes = float(value)
    elif isinstance(value, str):
        minutes = _parse_text(value)
    else:
        raise ValueError(f"expected {DURATION_HINT}, got {_shown(value)}")
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"a duration must be zero or more and finite, got {_shown(value)}")
    if minutes > MAX_DURATION_DAYS * 1440.0:
        raise ValueError(
            f"a duration must be at most {MAX_DURATION_DAYS:,} days, got {_shown(value)}"
        )
    return minutes


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(text):,} characters)"


def _parse_text(text: str) -> float:
    s = text.strip().lower()
    if not s:
        raise ValueError(f"expected {DURATION_HINT}, got an empty string")
    try:
        return float(s)
    except ValueError:
        pass
    if s.startswith("-"):
        # "-5min" should hear that durations cannot be negative, not that 5min is unreadable.
        raise ValueError(f"a duration must be zero or more and finite, got {_shown(text)}")
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None or m.group(2) not in MINUTES_PER_UNIT:
            raise ValueError(f"expected {DURATION_HINT}, got {_shown(text)}")
        # Multiplied in decimal, so that "8.7d" is 12528 minutes, not 12527.999999999998 (a
        # file written back, and read again, is then the same scenario).
        unit = MINUTES_PER_UNIT[m.group(2)]
        amount = Decimal(m.group(1))
        total += float(amount / round(1 / unit) if unit < 1 else amount * Decimal(unit))
        pos = m.end()
    return total


def format_duration(minutes: float) -> str:
    """The shortest exact text for ``minutes`` that :func:`parse_duration` reads back."""
    for unit, size in (("d", 1440.0), ("h", 60.0)):
        if minutes and minutes % size == 0:
            return f"{minutes / size:g}{unit}"
    return f"{minutes:g}min"
