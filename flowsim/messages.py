"""Pydantic's validation errors in plain words: what the field expected and what the file gave.

A user never sees pydantic's own wording ("Input should be a valid dictionary or instance of
Place", "type=", "validation error"): every error type a scenario or batch file can trigger is
worded here from the error's type and context and from the model the field belongs to
(``places.amu: expected the fields of a place (capacity, area, label, ...), got a list``).
Messages written by flowsim's own validators (a ``ValueError``) are kept as written. An error
type not listed still gets a plain message, never pydantic's.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .durations import DURATION_HINT

Loc = tuple[str | int, ...]

TYPE_WORDS: dict[str, str] = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_parsing_size": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "string_unicode": "text",
    "list_type": "a list, such as [1, 2, 3]",
    "tuple_type": "a list, such as [1, 2, 3]",
    "set_type": "a list, such as [1, 2, 3]",
    "dict_type": "named entries (name: value)",
    "date_type": "a date such as 2025-01-06",
    "date_parsing": "a date such as 2025-01-06",
    "date_from_datetime_parsing": "a date such as 2025-01-06",
    "date_from_datetime_inexact": "a date such as 2025-01-06",
}
"""What a value of the right type looks like, by pydantic error type (wrong-type errors)."""

MODEL_TYPES = frozenset({"model_type", "model_attributes_type", "dataclass_type"})
"""Errors for a value that should have been a set of fields (a place, a stage)."""

NOUNS: dict[str, str] = {
    "RunSettings": "the run settings",
    "OpeningHours": "opening hours",
    "LeaveWithoutBeingSeen": "leaving without being seen",
    "DelayedDischarge": "delayed discharges",
}
"""How a model is named in a message where its class name, split into words, reads badly."""

_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def plain_message(err: Mapping[str, Any], root: type[BaseModel] | None = None) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in plain words. ``root`` is
    the model that was validated, so fields and their limits can be named."""
    kind = str(err["type"])
    loc: Loc = tuple(err.get("loc", ()))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    got = err.get("input")
    if kind in ("value_error", "assertion_error"):
        return _own_message(err)
    if kind == "missing":
        return _missing(root, loc)
    if kind == "extra_forbidden":
        return _extra(root, loc)
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "")).strip("'")
        tags = _tags(type_at(root, loc), key)
        if key == "dist":
            return (
                f"a distribution needs dist (one of {', '.join(tags)}); a fixed duration is "
                "written alone, such as 15min"
            )
        return f"needs {key}" + (f": one of {', '.join(tags)}" if tags else "")
    if kind in MODEL_TYPES:
        return f"expected {_fields_of(root, loc, ctx)}, got {describe(got)}"
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "")).strip("'")
        known = ", ".join(_quoted(str(ctx.get("expected_tags", ""))))
        what = "distribution" if key == "dist" else key
        return f"unknown {what} {describe(ctx.get('tag', got))} (known: {known})"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == _NAME_PATTERN:
            return (
                "a name may hold only letters, digits and _, and must not start with a digit; "
                f"got {describe(got)}"
            )
        return f"is not written in the expected form, got {describe(got)}"
    if kind in ("string_too_long", "string_too_short"):
        n = len(got) if isinstance(got, str) else None
        limit = ctx.get("max_length", ctx.get("min_length"))
        most = "most" if kind == "string_too_long" else "least"
        return f"must be at {most} {_num(limit)} characters long" + (
            f", got {_num(n)}" if n is not None else ""
        )
    bound = _bound(kind, ctx)
    if bound is not None:
        return f"must be {bound}, got {describe(got)}"
    if kind in ("too_short", "too_long"):
        return _length(root, loc, kind, ctx)
    if kind in ("literal_error", "enum"):
        options = ", ".join(_quoted(str(ctx.get("expected", ""))))
        return f"expected one of {options}; got {describe(got)}"
    if kind in TYPE_WORDS:
        return f"expected {expected_words(err, root)}, got {describe(got)}"
    return (
        f"this value is not accepted here (got {describe(got)}); `flowsim schema` lists what "
        "each field takes"
    )


def expected_words(err: Mapping[str, Any], root: type[BaseModel] | None = None) -> str | None:
    """What the field expected, for a wrong-type error (``a whole number``); ``None`` for an
    error about a value of the right type (out of range, too long)."""
    kind = str(err["type"])
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in TYPE_WORDS:
        return TYPE_WORDS[kind]
    if kind in MODEL_TYPES:
        return _fields_of(root, tuple(err.get("loc", ())), ctx)
    if kind in ("literal_error", "enum"):
        return " or ".join(_quoted(str(ctx.get("expected", ""))))
    return None


def describe(value: Any) -> str:
    """A value from a file as a message shows it: short, and named by kind where it is a
    structure (``a list``), so that no message repeats a whole section of a file."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "named entries (a mapping)"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return repr(value)
    shown = repr(value) if isinstance(value, str) else repr(str(value))
    if len(shown) > 60:  # a value may be a whole paragraph; the line says where it is
        shown = f"{shown[:50]}... ({len(shown):,} characters)"
    return shown


def _own_message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    got = err.get("input")
    if not isinstance(got, (Mapping, list, tuple)) and got is not None and repr(got) not in msg:
        msg += f" (got {describe(got)})"
    return msg


def _missing(root: type[BaseModel] | None, loc: Loc) -> str:
    field = field_at(root, loc)
    hint = field.description if field is not None and field.description else ""
    if hint == DURATION_HINT or "such as" in hint:
        return f"required field is missing ({hint})"
    return "required field is missing" + (f": {hint}" if hint else "")


def _extra(root: type[BaseModel] | None, loc: Loc) -> str:
    parent = model_at(root, loc[:-1])
    msg = "unknown field (check the spelling; see `flowsim schema` for the fields allowed)"
    if parent is None or not loc:
        return msg
    known = field_names(parent)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return (
            f"unknown field; did you mean '{close[0]}'? ({_noun(parent)} has: {', '.join(known)})"
        )
    return f"unknown field (check the spelling; {_noun(parent)} has: {', '.join(known)})"


def _fields_of(root: type[BaseModel] | None, loc: Loc, ctx: Mapping[str, Any]) -> str:
    model = model_at(root, loc)
    if model is None and ctx.get("class_name"):
        model = _find_model(root, str(ctx["class_name"]))
    if model is not None:
        names = field_names(model)
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        return f"the fields of {_noun(model)} ({shown})"
    if _is_distribution(type_at(root, loc)):
        return (
            "a duration such as 15min, or a distribution such as "
            "{dist: lognormal, mean: 5d, sd: 4d}"
        )
    return "a set of fields (name: value)"


def _bound(kind: str, ctx: Mapping[str, Any]) -> str | None:
    words = {
        "greater_than": ("above", "gt"),
        "greater_than_equal": ("at least", "ge"),
        "less_than": ("below", "lt"),
        "less_than_equal": ("at most", "le"),
        "multiple_of": ("a multiple of", "multiple_of"),
    }
    if kind not in words:
        return None
    word, key = words[kind]
    return f"{word} {_num(ctx.get(key))}"


def _length(root: type[BaseModel] | None, loc: Loc, kind: str, ctx: Mapping[str, Any]) -> str:
    actual = ctx.get("actual_length")
    field = field_at(root, loc)
    low = _meta(field, "min_length")
    high = _meta(field, "max_length")
    if low is not None and low == high:
        need = f"exactly {_num(low)}"
    elif kind == "too_short":
        need = f"at least {_num(ctx.get('min_length'))}"
    else:
        need = f"at most {_num(ctx.get('max_length'))}"
    entries = ctx.get("field_type") == "Dictionary"
    one = need.endswith(" 1")
    things = ("entry" if one else "entries") if entries else ("value" if one else "values")
    got = f"; got {_num(actual)}" if actual is not None else ""
    return f"needs {need} {things}{got}"


def _meta(field: FieldInfo | None, attr: str) -> int | None:
    # Length limits are kept as metadata objects with a min_length or max_length attribute.
    if field is None:
        return None
    for m in field.metadata:
        value = getattr(m, attr, None)
        if isinstance(value, int):
            return value
    return None


def _num(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return repr(x)


def _quoted(text: str) -> list[str]:
    found = re.findall(r"'([^']*)'", text)
    return found or [text]


def _noun(model: type[BaseModel]) -> str:
    name = model.__name__
    if name in NOUNS:
        return NOUNS[name]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()
    return ("an " if words[0] in "aeiou" else "a ") + words


def field_names(model: type[BaseModel]) -> list[str]:
    """The field names of ``model`` as a file writes them (aliases such as ``from``)."""
    return [f.alias or n for n, f in model.model_fields.items()]


def model_at(root: type[BaseModel] | None, loc: Loc) -> type[BaseModel] | None:
    """The model of the value at pydantic location ``loc`` in ``root``, if it is one."""
    tp = _strip(type_at(root, loc))
    arms = [a for a in _arms(tp) if a is not type(None)]
    if len(arms) == 1:
        tp = _strip(arms[0])
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def field_at(root: type[BaseModel] | None, loc: Loc) -> FieldInfo | None:
    """The declared field at ``loc`` (its description and limits), if ``loc`` ends at one."""
    if not loc:
        return None
    for cut in range(len(loc) - 1, -1, -1):
        # A union's tag may follow the field in the location ('capacity', 'constrained-int').
        parent = model_at(root, loc[:cut])
        if parent is not None:
            name = str(loc[cut])
            for n, f in parent.model_fields.items():
                if name in (n, f.alias):
                    return f
            return None
    return None


def type_at(root: type[BaseModel] | None, loc: Loc) -> Any:
    """The declared type at pydantic location ``loc`` in ``root`` (``None`` if unknown)."""
    tp: Any = root
    for part in loc:
        if tp is None:
            return None
        tp = _step(tp, part)
    return tp


def _step(tp: Any, part: str | int) -> Any:
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for n, f in tp.model_fields.items():
            if part in (n, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    if origin is dict:
        return None if part == "[key]" else typing.get_args(tp)[1]
    if origin in (list, tuple, set, Sequence):
        return typing.get_args(tp)[0] if typing.get_args(tp) else None
    arms = [a for a in _arms(tp) if a is not type(None)]
    if len(arms) > 1:
        for arm in arms:  # a union's location names the arm: its class or its ``dist`` tag
            a = _strip(arm)
            if isinstance(a, type) and issubclass(a, BaseModel):
                tag = a.model_fields.get("dist")
                tags = typing.get_args(tag.annotation) if tag is not None else ()
                if part == a.__name__ or part in tags:
                    return a
        return None
    if len(arms) == 1 and arms[0] is not tp:
        return _step(arms[0], part)
    return None


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _arms(tp: Any) -> tuple[Any, ...]:
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _is_distribution(tp: Any) -> bool:
    arms = [_strip(a) for a in _arms(tp)]
    return len(arms) > 1 and all(
        isinstance(a, type) and issubclass(a, BaseModel) and "dist" in a.model_fields for a in arms
    )


def _tags(tp: Any, key: str) -> list[str]:
    """The values of a discriminated union's ``key`` (a distribution's ``dist``), in order."""
    out: list[str] = []
    for arm in _arms(tp):
        a = _strip(arm)
        if isinstance(a, type) and issubclass(a, BaseModel) and key in a.model_fields:
            out.extend(str(t) for t in typing.get_args(a.model_fields[key].annotation))
    return out


def _find_model(root: type[BaseModel] | None, name: str) -> type[BaseModel] | None:
    seen: set[type[BaseModel]] = set()
    todo: list[Any] = [root]
    while todo:
        tp = _strip(todo.pop())
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                continue
            seen.add(tp)
            if tp.__name__ == name:
                return tp
            todo.extend(f.annotation for f in tp.model_fields.values())
        else:
            todo.extend(typing.get_args(tp))
    return None
