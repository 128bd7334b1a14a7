"""Reading a trust's event log: attendances, spells and beds, renamed by a mapping and checked.

Every timestamp is read as local UK time (unless the mapping names another zone or the value
carries its own offset) and turned into UTC, so that intervals across a clock change are right:

- a time in the hour that is missing in March (01:00-01:59 on the last Sunday) cannot have been
  shown by a clock that changed; it is taken as written by one not yet put forward, so
  ``01:30`` is 01:30 GMT (02:30 BST);
- a time in the hour that is repeated in October is read as its first occurrence (BST), unless
  that puts it before an earlier event of the same row (a departure before the arrival), in
  which case it is read as the second (GMT).

Both are counted in :attr:`EventLog.clock`. Problems that a mapping or a fixed extract must
solve (a missing column, a timestamp that cannot be read, a code nobody said the meaning of)
raise :class:`EventLogError` listing every one with its line numbers. Rows that can be left out
safely (departures before arrivals, duplicates, absurd intervals, stays not yet ended) are
dropped and counted by reason; if more than :data:`MAX_DROPPED_SHARE` of a file would be
dropped, that is an error too, since it points at a systematic fault rather than a few slips.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import FlowsimError

MODES = ("ambulance", "walk_in")
DISPOSALS = ("discharged", "admitted", "sdec", "left_before_treatment", "transferred", "died")
AREAS = ("assessment", "ward")

ATTENDANCE_REQUIRED = ("attendance_id", "arrival", "mode", "acuity", "departure", "disposal")
ATTENDANCE_OPTIONAL = ("first_seen", "decision_to_admit", "admitted_to")
SPELL_REQUIRED = ("spell_id", "unit", "area", "admitted", "discharged")
SPELL_OPTIONAL = ("attendance_id", "medically_fit", "destination")
CAPACITY_REQUIRED = ("unit", "beds")
CAPACITY_OPTIONAL = ("from", "to")

MAX_DROPPED_SHARE = 0.05
"""The largest share of a file's rows that may be dropped; more is an error, not a summary."""
MAX_ED_HOURS = 72.0
"""A longer time in the ED is taken as a recording error (the longest real waits are 2-3 days)."""
MAX_STAY_DAYS = 365.0
"""A longer inpatient stay is taken as a recording error."""
SHOWN_LINES = 10
"""How many line numbers a message lists before saying how many more there are."""


class EventLogError(FlowsimError):
    """An event log cannot be used as it is; the message lists every problem found."""


class TableMap(BaseModel):
    """How one of a trust's files maps onto the event-log format."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    timestamp_format: str | None = None
    timezone: str = "Europe/London"


class MapFile(BaseModel):
    """A mapping file: one :class:`TableMap` per file of the log."""

    model_config = ConfigDict(extra="forbid")

    attendances: TableMap = Field(default_factory=TableMap)
    spells: TableMap = Field(default_factory=TableMap)
    capacity: TableMap = Field(default_factory=TableMap)


@dataclass(frozen=True)
class Dropped:
    """Rows of one file left out for one reason."""

    file: str
    reason: str
    count: int
    lines: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.file}: {self.count:,} {self.reason} ({_lines(self.lines, self.count)})"


@dataclass
class EventLog:
    """A checked event log. Times are UTC (``datetime64[ns, UTC]``); ``*_local`` columns hold
    the same instants on the local clock, for hour-of-day and weekday profiles."""

    attendances: pd.DataFrame
    spells: pd.DataFrame | None
    capacity: pd.DataFrame | None
    files: dict[str, str]
    rows_read: dict[str, int]
    dropped: list[Dropped] = field(default_factory=list)
    clock: dict[str, int] = field(default_factory=dict)
    outside_period: int = 0

    @property
    def first_day(self) -> dt.date:
        return self.attendances["arrival_local"].min().date()  # type: ignore[no-any-return]

    @property
    def last_day(self) -> dt.date:
        return self.attendances["arrival_local"].max().date()  # type: ignore[no-any-return]

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def read_map(path: Path) -> MapFile:
    """The mapping file at ``path``; raises :class:`EventLogError` naming what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise EventLogError(f"{path}: not valid YAML: {e}") from None
    except UnicodeDecodeError:
        raise EventLogError(f"{path}: not a UTF-8 text file") from None
    try:
        return MapFile.model_validate(data)
    except ValidationError as e:
        lines = [
            f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        ]
        raise EventLogError("\n".join(lines)) from None


def read_event_log(
    attendances: Path,
    spells: Path | None = None,
    capacity: Path | None = None,
    mapping: MapFile | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> EventLog:
    """Read, map and check the log's files; keep attendances arriving ``start`` to ``end``
    (local dates, both included) and the spells admitted in those days."""
    m = mapping or MapFile()
    problems: list[str] = []
    dropped: list[Dropped] = []
    clock = {"repeated_hour_first": 0, "repeated_hour_second": 0, "missing_hour_shifted": 0}
    files = {"attendances": str(attendances)}
    a_raw = _read_table(attendances, m.attendances)
    rows_read = {"attendances": len(a_raw)}
    a = _attendances(a_raw, attendances, m.attendances, problems, dropped, clock)
    s = None
    if spells is not None:
        files["spells"] = str(spells)
        s_raw = _read_table(spells, m.spells)
        rows_read["spells"] = len(s_raw)
        s = _spells(s_raw, spells, m.spells, problems, dropped, clock)
    c = None
    if capacity is not None:
        files["capacity"] = str(capacity)
        c_raw = _read_table(capacity, m.capacity)
        rows_read["capacity"] = len(c_raw)
        c = _capacity(c_raw, capacity, problems)
    for name, d in (("attendances", a), ("spells", s)):
        if d is None:
            continue
        lost = sum(x.count for x in dropped if x.file == files[name])
        if rows_read[name] and lost > MAX_DROPPED_SHARE * rows_read[name]:
            problems.append(
                f"{files[name]}: {lost:,} of {rows_read[name]:,} rows would be dropped "
                f"(more than {MAX_DROPPED_SHARE:.0%}), which points at a fault in the extract "
                "or the mapping rather than a few slips:\n  "
                + "\n  ".join(str(x) for x in dropped if x.file == files[name])
            )
    if problems:
        raise EventLogError("\n".join(problems))
    assert a is not None
    outside = 0
    if start is not None or end is not None:
        day = a["arrival_local"].dt.date
        keep = pd.Series(True, index=a.index)
        if start is not None:
            keep &= day >= start
        if end is not None:
            keep &= day <= end
        outside = int((~keep).sum())
        a = a[keep]
        if s is not None:
            sday = s["admitted_local"].dt.date
            skeep = pd.Series(True, index=s.index)
            if start is not None:
                skeep &= sday >= start
            if end is not None:
                skeep &= sday <= end
            s = s[skeep]
    if a.empty:
        raise EventLogError(f"{attendances}: no attendances left to calibrate from")
    return EventLog(a, s, c, files, rows_read, dropped, clock, outside)


# -- reading ----------------------------------------------------------------------------------
def _read_table(path: Path, tmap: TableMap) -> pd.DataFrame:
    """The file as text columns, renamed by the mapping; a row's line is kept in ``_line``."""
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
            df.insert(0, "_line", np.arange(1, len(df) + 1))
            line_word = "row"
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
            # Line 1 is the header, so the first row is line 2, as an editor shows it.
            df.insert(0, "_line", np.arange(2, len(df) + 2))
            line_word = "line"
    except (OSError, ValueError, ImportError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise EventLogError(f"{path}: cannot be read as CSV or Parquet: {e}") from None
    df.attrs["line_word"] = line_word
    df = df.rename(columns={k: v for k, v in tmap.columns.items() if k in df.columns})
    df.columns = [str(c).strip() for c in df.columns]
    for col in df.columns:
        if col != "_line" and not pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].astype("string").fillna("").str.strip()
    for col, codes in tmap.values.items():
        if col in df.columns:
            df[col] = df[col].replace(codes)
    return df


def _require(df: pd.DataFrame, path: Path, required: tuple[str, ...]) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = ", ".join(c for c in df.columns if c != "_line") or "none"
        raise EventLogError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found: {found}); rename columns with a mapping file (--map)"
        )


def _lines(lines: tuple[int, ...] | list[int], count: int) -> str:
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES])
    more = f" and {count - SHOWN_LINES:,} more" if count > SHOWN_LINES else ""
    return f"lines {shown}{more}" if count > 1 else f"line {shown}"


def _where(df: pd.DataFrame, mask: pd.Series) -> tuple[int, tuple[int, ...]]:
    lines = df.loc[mask, "_line"].to_numpy()[:SHOWN_LINES]
    return int(mask.sum()), tuple(int(n) for n in lines)


def _drop(
    df: pd.DataFrame, mask: pd.Series, path: Path, reason: str, dropped: list[Dropped]
) -> pd.DataFrame:
    if mask.any():
        count, lines = _where(df, mask)
        dropped.append(Dropped(str(path), reason, count, lines))
        return df[~mask]
    return df


_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def _times(
    df: pd.DataFrame, col: str, path: Path, tmap: TableMap, problems: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Column ``col`` as UTC instants: (first reading, second reading, was in the repeated
    hour, was in the missing hour). Empty cells are NaT; cells that cannot be read are reported
    in ``problems``."""
    no = pd.Series(False, index=df.index)
    raw = df[col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
        text_empty = parsed.isna()
    else:
        text_empty = raw == ""
        offsets = raw.str.contains(_OFFSET, regex=True)
        fmt = tmap.timestamp_format or "ISO8601"
        if offsets.any() and not offsets[~text_empty].all():
            count, lines = _where(df, ~offsets & ~text_empty)
            problems.append(
                f"{path}: column {col}: {count:,} timestamps without a UTC offset among others "
                f"with one ({_lines(lines, count)}); give every value an offset or none"
            )
            empty = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
            return empty, empty, no, no
        parsed = pd.to_datetime(
            raw.where(~text_empty), format=fmt, errors="coerce", utc=bool(offsets.any())
        )
        bad = parsed.isna() & ~text_empty
        if bad.any():
            count, lines = _where(df, bad)
            example = raw[bad].iloc[0]
            problems.append(
                f"{path}: column {col}: {count:,} timestamps cannot be read "
                f"({_lines(lines, count)}; e.g. {example!r}); expected "
                + (
                    f"the format {tmap.timestamp_format!r}"
                    if tmap.timestamp_format
                    else "ISO 8601 such as 2025-03-30 14:05"
                )
                + ", or set timestamp_format in the mapping file"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        utc = parsed.dt.tz_convert("UTC")
        return utc, utc, no, no
    naive = pd.DatetimeIndex(parsed)
    n = len(naive)
    try:
        first = naive.tz_localize(
            tmap.timezone, ambiguous=np.ones(n, bool), nonexistent=pd.Timedelta(hours=1)
        )
        second = naive.tz_localize(
            tmap.timezone, ambiguous=np.zeros(n, bool), nonexistent=pd.Timedelta(hours=1)
        )
    except Exception as e:  # noqa: BLE001 - an unknown zone name, said plainly
        raise EventLogError(f"{path}: time zone {tmap.timezone!r} cannot be used: {e}") from None
    present = np.asarray(naive.notna())
    ambiguous = pd.Series(np.asarray(first != second) & present, index=df.index)
    gap = naive.tz_localize(tmap.timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    missing = pd.Series(np.asarray(gap.isna()) & present, index=df.index)
    return (
        pd.Series(first.tz_convert("UTC"), index=df.index),
        pd.Series(second.tz_convert("UTC"), index=df.index),
        ambiguous,
        missing,
    )


def _ordered_times(
    df: pd.DataFrame,
    cols: tuple[str, ...],
    path: Path,
    tmap: TableMap,
    problems: list[str],
    clock: dict[str, int],
) -> dict[str, pd.Series]:
    """The row's events in order: a repeated-hour time is read as its second occurrence only
    where the first would put it before the row's earlier event."""
    out: dict[str, pd.Series] = {}
    previous: pd.Series | None = None
    for col in cols:
        if col not in df.columns:
            continue
        first, second, ambiguous, missing = _times(df, col, path, tmap, problems)
        clock["missing_hour_shifted"] += int(missing.sum())
        chosen = first
        if previous is not None:
            use_second = ambiguous & (first < previous) & (second >= previous)
            chosen = first.where(~use_second, second)
            clock["repeated_hour_second"] += int(use_second.sum())
            clock["repeated_hour_first"] += int((ambiguous & ~use_second).sum())
        else:
            clock["repeated_hour_first"] += int(ambiguous.sum())
        out[col] = chosen
        previous = chosen.where(chosen.notna(), previous)
    return out


def _codes(
    df: pd.DataFrame, col: str, allowed: tuple[str, ...], path: Path, problems: list[str]
) -> None:
    unknown = ~df[col].isin(allowed)
    if unknown.any():
        parts = []
        for code in sorted(df.loc[unknown, col].unique()):
            count, lines = _where(df, df[col] == code)
            parts.append(f"{str(code)!r} ({count:,}; {_lines(lines, count)})")
        problems.append(
            f"{path}: column {col}: unknown codes {', '.join(parts)}; expected one of "
            f"{', '.join(allowed)} (map other codes with 'values' in a mapping file)"
        )


def _minutes(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier) / pd.Timedelta(minutes=1)


# -- the three files ---------------------------------------------------------------------------
def _attendances(
    df: pd.DataFrame,
    path: Path,
    tmap: TableMap,
    problems: list[str],
    dropped: list[Dropped],
    clock: dict[str, int],
) -> pd.DataFrame | None:
    _require(df, path, ATTENDANCE_REQUIRED)
    for col in ATTENDANCE_OPTIONAL:
        if col not in df.columns:
            df[col] = ""
    start = len(problems)
    _codes(df, "mode", MODES, path, problems)
    _codes(df, "disposal", DISPOSALS, path, problems)
    t = _ordered_times(
        df, ("arrival", "first_seen", "decision_to_admit", "departure"), path, tmap, problems, clock
    )
    if len(problems) > start:
        return None
    out = pd.DataFrame(
        {
            "_line": df["_line"],
            "attendance_id": df["attendance_id"],
            "mode": df["mode"],
            "acuity": df["acuity"].astype(str),
            "disposal": df["disposal"],
            "admitted_to": df["admitted_to"].astype(str),
            **t,
        }
    )
    out = _drop(out, out["attendance_id"] == "", path, "rows without an attendance_id", dropped)
    out = _drop(
        out,
        out.duplicated("attendance_id", keep="first"),
        path,
        "duplicate attendance_id rows (the first of each was kept)",
        dropped,
    )
    out = _drop(out, out["acuity"] == "", path, "rows without an acuity", dropped)
    out = _drop(
        out,
        out["arrival"].isna() | out["departure"].isna(),
        path,
        "rows without an arrival or departure time (still in the department at the extract?)",
        dropped,
    )
    out = _drop(out, out["departure"] < out["arrival"], path, "departures before arrivals", dropped)
    out = _drop(
        out,
        _minutes(out["departure"], out["arrival"]) > MAX_ED_HOURS * 60,
        path,
        f"times in the department over {MAX_ED_HOURS:g} hours (taken as recording errors)",
        dropped,
    )
    for col, what in (
        ("first_seen", "first clinician"),
        ("decision_to_admit", "decision to admit"),
    ):
        out = _drop(
            out,
            (out[col] < out["arrival"]) | (out[col] > out["departure"]),
            path,
            f"{what} times outside the attendance (before arrival or after departure)",
            dropped,
        )
    out["arrival_local"] = out["arrival"].dt.tz_convert(tmap.timezone).dt.tz_localize(None)
    return out.reset_index(drop=True)


def _spells(
    df: pd.DataFrame,
    path: Path,
    tmap: TableMap,
    problems: list[str],
    dropped: list[Dropped],
    clock: dict[str, int],
) -> pd.DataFrame | None:
    _require(df, path, SPELL_REQUIRED)
    for col in SPELL_OPTIONAL:
        if col not in df.columns:
            df[col] = ""
    start = len(problems)
    _codes(df, "area", AREAS, path, problems)
    t = _ordered_times(df, ("admitted", "medically_fit", "discharged"), path, tmap, problems, clock)
    if len(problems) > start:
        return None
    out = pd.DataFrame(
        {
            "_line": df["_line"],
            "spell_id": df["spell_id"],
            "attendance_id": df["attendance_id"],
            "unit": df["unit"],
            "area": df["area"],
            "destination": df["destination"],
            **t,
        }
    )
    out = _drop(out, out["unit"] == "", path, "rows without a unit", dropped)
    out = _drop(
        out,
        out.duplicated("spell_id", keep="first") & (out["spell_id"] != ""),
        path,
        "duplicate spell_id rows (the first of each was kept)",
        dropped,
    )
    out = _drop(
        out,
        out["admitted"].isna() | out["discharged"].isna(),
        path,
        "spells without an admission or discharge time (still in hospital at the extract?)",
        dropped,
    )
    out = _drop(
        out, out["discharged"] < out["admitted"], path, "discharges before admissions", dropped
    )
    out = _drop(
        out,
        _minutes(out["discharged"], out["admitted"]) > MAX_STAY_DAYS * 1440,
        path,
        f"stays over {MAX_STAY_DAYS:g} days (taken as recording errors)",
        dropped,
    )
    out = _drop(
        out,
        (out["medically_fit"] < out["admitted"]) | (out["medically_fit"] > out["discharged"]),
        path,
        "medically fit times outside the stay",
        dropped,
    )
    out["admitted_local"] = out["admitted"].dt.tz_convert(tmap.timezone).dt.tz_localize(None)
    out["medically_fit_local"] = (
        out["medically_fit"].dt.tz_convert(tmap.timezone).dt.tz_localize(None)
    )
    out["discharged_local"] = out["discharged"].dt.tz_convert(tmap.timezone).dt.tz_localize(None)
    return out.reset_index(drop=True)


def _capacity(df: pd.DataFrame, path: Path, problems: list[str]) -> pd.DataFrame | None:
    _require(df, path, CAPACITY_REQUIRED)
    beds = pd.to_numeric(df["beds"], errors="coerce")
    bad = beds.isna() | (beds < 0) | (beds != beds.round())
    if bad.any():
        count, lines = _where(df, bad)
        problems.append(
            f"{path}: column beds: {count:,} values are not whole numbers of beds "
            f"({_lines(lines, count)})"
        )
        return None
    out = pd.DataFrame({"_line": df["_line"], "unit": df["unit"], "beds": beds.astype(int)})
    for col in CAPACITY_OPTIONAL:
        values: Any = df[col] if col in df.columns else pd.Series("", index=df.index)
        parsed = pd.to_datetime(values.where(values != ""), errors="coerce")
        bad = parsed.isna() & (values != "")
        if bad.any():
            count, lines = _where(df, bad)
            problems.append(
                f"{path}: column {col}: {count:,} dates cannot be read ({_lines(lines, count)})"
            )
            return None
        out[col] = parsed.dt.date
    dated = out["from"].notna() | out["to"].notna()
    one_sided = out["from"].isna() != out["to"].isna()
    if one_sided.any():
        count, lines = _where(out, one_sided)
        problems.append(
            f"{path}: {count:,} dated changes give only one of from and to ({_lines(lines, count)})"
        )
        return None
    base = out[~dated]
    dup = base.duplicated("unit", keep=False)
    if dup.any():
        count, lines = _where(base, dup)
        problems.append(
            f"{path}: a unit's undated beds are given more than once ({_lines(lines, count)})"
        )
        return None
    return out
