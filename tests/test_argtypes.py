"""Command-line argument types: what each accepts, and that each refusal says what it wanted."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from flowsim.argtypes import iso_date, number, whole_number
from flowsim.cli import main as cli


def test_whole_numbers_within_bounds() -> None:
    assert whole_number(1)("7") == 7
    assert whole_number(0, 256)("256") == 256
    for parse, text, says in (
        (whole_number(1), "0", "must be 1 or more"),
        (whole_number(0, 256), "257", "must be from 0 to 256"),
        (whole_number(0, 10_000), "-1", "must be from 0 to 10,000"),
        (whole_number(1), "2.5", "'2.5' is not a whole number"),
        (whole_number(1), "many", "'many' is not a whole number"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse(text)


def test_numbers_within_bounds() -> None:
    days = number(0, 3650, low_included=False)
    warmup = number(0, 3650, low_included=True)
    assert days("0.5") == 0.5 and warmup("0") == 0.0
    for parse, text, says in (
        (days, "0", "must be above 0 and at most 3650"),
        (warmup, "-1", "must be from 0 to 3650"),
        (days, "nan", "must be above 0"),
        (days, "inf", "must be above 0"),
        (days, "soon", "'soon' is not a number"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse(text)


def test_dates() -> None:
    assert iso_date("2025-03-03") == dt.date(2025, 3, 3)
    with pytest.raises(argparse.ArgumentTypeError, match="'03/03/2025' is not a date"):
        iso_date("03/03/2025")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "x.yaml", "--replications", "0"], "argument --replications/-r: must be from 1"),
        (["search", "x.yaml", "--lever", "a", "--values", "1:2:1", "--target", "k>=1",
          "--replications", "0"], "must be 1 or more"),
        (["predict", "a.yaml", "b.yaml", "--weeks", "many", "--from", "2025-03-03"],
         "argument --weeks: 'many' is not a whole number"),
        (["study", "p.json", "--observed", "w.csv", "--change-date", "3/3/25"],
         "is not a date written YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_each_command_refuses_with_the_options_name(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli(argv)
    assert info.value.code == 2
    assert says in capsys.readouterr().err
