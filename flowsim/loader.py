"""Reading scenario files: safe YAML with positions, ``extends`` overlays, and validation errors
that point at ``file:line:column`` and the field path.

YAML is composed into nodes (safe loading only: no Python objects can be constructed) and turned
into plain data ourselves, so that duplicate keys are refused and every value keeps the place it
was written. An overlay file names its base with ``extends:``; mappings merge key by key, anything
else (lists, scalars) is replaced, so a change idea is a few lines. Tables of shares that sum to
1 (``next``, each class's table in ``next_by_class``, ``class_mix``: every field marked
:class:`~flowsim.scenario.WholeTable`, found by :func:`whole_table_paths`) are replaced whole.
Top-level keys starting with ``x-`` are ignored: they hold YAML anchors (``&hourly``) that
several fields reuse.

The parts other readers build on: :func:`read_yaml` (plain data and where each value was
written), :func:`apply_extends` with an :class:`ExtendsPolicy` that decides which files
``extends`` may read (:class:`InsideRoot` for files, by default, :class:`InsideFolder` for
uploads), :func:`read_regular_file` (which refuses devices, pipes and folders before opening
them), :func:`validation_problems` (pydantic's errors as ``file:line:column`` problems in
plain words, from :mod:`flowsim.messages`), :func:`name_problems_in_data` (misspelt names,
found even when the schema fails, so that every problem is reported at once) and
:func:`dump_yaml`. Depth, size and ``extends`` chains are bounded, so no file can exhaust
memory or Python's recursion, and no message shows the content of a file that is not a
scenario.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import json
import os
import stat
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import yaml
from pydantic import BaseModel, ValidationError

from .errors import Problem, ScenarioError
from .messages import describe, expected_words, plain_message
from .scenario import (
    EXIT,
    MAX_ITEMS,
    MAX_NAME_CHARS,
    Scenario,
    WholeTable,
    _unknown,
    network_problems,
)

Path_ = tuple[str | int, ...]
Marks = dict[Path_, tuple[str, int | None, int | None]]
"""Where each value was written: field path -> (file, line, column), 1-based (None for data
that was not read from a file)."""

MAX_FILE_BYTES = 2_000_000
"""A scenario file larger than this is refused before it is read (a trust's is a few kB)."""
MAX_DEPTH = 50
"""How deeply values may nest (a scenario nests about 6 deep); deeper YAML is refused before it
can exhaust Python's recursion."""
MAX_EXTENDS = 20
"""How many files an ``extends`` chain may pass through (a change of a change of the baseline
is 3)."""
MAX_PATH_CHARS = 255
"""The longest ``extends`` path (a file name's limit on common file systems)."""
SCENARIO_SUFFIXES = (".yaml", ".yml")
"""What a file named by ``extends`` (or by a batch file) must end with."""


class _Composer(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]  # PyYAML has no types here
    """PyYAML's safe composer, refusing nesting deeper than :data:`MAX_DEPTH` before it recurses
    (its composer calls itself once per level, so very deep YAML would end in RecursionError)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:  # + 1: a scalar at the deepest level is allowed
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, mark: Any):
        self.mark = mark


def read_yaml(text: str, filename: str) -> tuple[Any, Marks]:
    """Parse ``text`` into plain data and marks; raise :class:`ScenarioError` on bad YAML."""
    for lineno, raw in enumerate(text.splitlines(), 1):
        indent = raw[: len(raw) - len(raw.lstrip(" \t"))]
        if "\t" in indent:
            # YAML forbids tabs in indentation; say so plainly rather than a scanner message.
            raise ScenarioError(
                [
                    Problem(
                        filename,
                        lineno,
                        indent.index("\t") + 1,
                        "",
                        "a tab is used for indentation; YAML needs spaces",
                    )
                ]
            )
    try:
        node = yaml.compose(text, Loader=_Composer)
    except _TooDeep as e:
        return _raise(filename, e.mark, f"values are nested more than {MAX_DEPTH} deep")
    except RecursionError:  # not expected past the depth bound; never a traceback all the same
        raise ScenarioError(
            [Problem(filename, None, None, "", f"values are nested more than {MAX_DEPTH} deep")]
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        context = e.context
        if (
            context
            and e.context_mark is not None
            and mark is not None
            and e.context_mark.line != mark.line
        ):
            # e.g. an unclosed bracket: say where it was opened, not only where YAML gave up.
            context += f" (from line {e.context_mark.line + 1})"
        msg = " ".join(x for x in (context, e.problem) if x)
        return _raise(filename, mark, f"not valid YAML: {msg}")
    except yaml.reader.ReaderError as e:
        # A control character (a form feed pasted from a document): say where, and which.
        before = text[: e.position]
        line = before.count("\n") + 1
        col = e.position - (before.rfind("\n") + 1) + 1
        raise ScenarioError(
            [
                Problem(
                    filename,
                    line,
                    col,
                    "",
                    f"the character U+{e.character:04X} is not allowed in YAML; delete it",
                )
            ]
        ) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(filename, None, None, "", f"not valid YAML: {e}")]) from None
    if node is None or (node.tag == "tag:yaml.org,2002:null" and node.value == ""):  # or "---"
        raise ScenarioError([Problem(filename, 1, 1, "", "the file is empty")])
    marks: Marks = {}
    data: Any = _build(node, (), filename, marks, yaml.SafeLoader(""))
    return data, marks


def _raise(filename: str, mark: Any, msg: str, path: Path_ = ()) -> NoReturn:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    raise ScenarioError([Problem(filename, line, col, ".".join(str(x) for x in path), msg)])


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
)
_BASE_60 = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
MAX_NODES = 100_000


_MERGE = "tag:yaml.org,2002:merge"


def _build(
    node: yaml.Node,
    path: Path_,
    filename: str,
    marks: Marks,
    loader: Any,
    _open: frozenset[int] = frozenset(),
) -> Any:
    marks[path] = (filename, node.start_mark.line + 1, node.start_mark.column + 1)
    if len(path) > MAX_DEPTH:
        # Each alias is within the bound, but one may be used inside another.
        _raise(
            filename,
            node.start_mark,
            f"values are nested more than {MAX_DEPTH} deep once aliases are expanded",
        )
    if len(marks) > MAX_NODES:
        # Aliases are expanded into plain data, so a few lines of nested aliases could blow up.
        _raise(
            filename,
            node.start_mark,
            f"too many values (over {MAX_NODES:,}) once aliases are expanded",
        )
    if id(node) in _open:
        _raise(filename, node.start_mark, "an alias refers to a value that contains it", path)
    if node.tag not in _PLAIN_TAGS:
        # Safe loading: tags such as !!python/object name code, and are refused, not ignored.
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        _raise(
            filename,
            node.start_mark,
            f"the tag {tag} is not allowed in a scenario (only plain YAML is read)",
            path,
        )
    inner = _open | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        written: set[str] = set()
        for key_node, value_node, was_merged in _pairs(node, path, filename, inner):
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                _raise(filename, key_node.start_mark, "a key must be a plain name")
            try:
                key = loader.construct_object(key_node)
            except (yaml.constructor.ConstructorError, ValueError):
                _raise(filename, key_node.start_mark, "a key must be a plain name")
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                _raise(filename, key_node.start_mark, f"a key must be a name, got {key!r}")
            key = str(key)
            if not was_merged:
                # A key written here may override one merged in with <<, but only once.
                if key in written:
                    first = marks[path + (key,)]
                    _raise(
                        filename,
                        key_node.start_mark,
                        f"duplicate key '{key}' (first given at line {first[1]})",
                        path + (key,),
                    )
                written.add(key)
            kp = path + (key,)
            out[key] = _build(value_node, kp, filename, marks, loader, inner)
            # Point a field's errors at its key's line, which is where a reader looks.
            marks[kp] = (filename, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(v, path + (i,), filename, marks, loader, inner) for i, v in enumerate(node.value)
        ]
    if node.tag in _BASE_60 and ":" in node.value:
        # YAML 1.1 reads an unquoted 8:30 as the base-60 number 510; people mean a clock time.
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as e:
        return _raise(filename, e.problem_mark, f"cannot read value: {e.problem}", path)
    except ValueError as e:  # e.g. an impossible date such as 2025-02-30
        return _raise(filename, node.start_mark, f"cannot read value: {e}", path)


def _pairs(
    node: yaml.MappingNode, path: Path_, filename: str, _open: frozenset[int]
) -> list[tuple[yaml.Node, yaml.Node, bool]]:
    """The mapping's (key, value, merged) pairs with YAML merge keys (``<<: *anchor``) expanded:
    merged pairs first, so that keys written in the mapping override them. Unlike PyYAML's
    ``flatten_mapping`` this leaves the nodes unchanged, as an anchor may be used again."""
    merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
    written: list[tuple[yaml.Node, yaml.Node, bool]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            written.append((key_node, value_node, False))
            continue
        subs = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for sub in reversed(subs):  # the first mapping listed wins, so it goes last
            # Point at the << (an alias's value may be written far away, at its anchor).
            if not isinstance(sub, yaml.MappingNode) or sub.tag not in _PLAIN_TAGS:
                _raise(
                    filename,
                    key_node.start_mark,
                    "<< needs a mapping (or a list of mappings) to merge, such as *defaults",
                    path,
                )
            if id(sub) in _open:
                _raise(filename, key_node.start_mark, "<< merges a mapping into itself", path)
            merged.extend(
                (k, v, True) for k, v, _ in _pairs(sub, path, filename, _open | {id(sub)})
            )
    return merged + written


class ExtendsRefused(Exception):
    """Raised by an :class:`ExtendsPolicy` with the message to show at the ``extends`` line."""


class ExtendsPolicy(Protocol):
    """Decides which file ``extends: name`` reads, and whether it may be read at all."""

    def resolve(self, name: str, naming_file: Path) -> Path:
        """The base file that ``extends: name``, written in ``naming_file``, refers to; raise
        :class:`ExtendsRefused` if there is none or it may not be read."""
        ...


@dataclass(frozen=True)
class BesideTheFile:
    """``extends`` names a path relative to the folder of the file that names it; any regular
    file that exists is read. Only for files a user trusts entirely: the default for files is
    :class:`InsideRoot`."""

    def resolve(self, name: str, naming_file: Path) -> Path:
        _check_written_name(name)
        base = naming_file.parent / name
        try:
            if not base.exists():
                raise ExtendsRefused(f"no such file: {base}")
        except OSError as e:
            raise ExtendsRefused(f"cannot read {name}: {e.strerror}") from None
        return base


@dataclass(frozen=True)
class InsideRoot:
    """``extends`` is read relative to the file that names it, and must name a regular
    ``.yaml``/``.yml`` file inside ``root`` once symbolic links are followed (the rule for files:
    a scenario from a pull request must not reach the runner's other files)."""

    root: Path

    def resolve(self, name: str, naming_file: Path) -> Path:
        base = naming_file.parent / name
        _check_written_name(name)
        return _confined(base, name, self.root, f"the scenarios root {self.root}", True)


@dataclass(frozen=True)
class InsideFolder:
    """``extends`` is read relative to the file that names it, as by :class:`BesideTheFile`, but
    only a regular file inside ``folder`` may be read (the rule for files uploaded in the browser,
    which must not reach the server's other files)."""

    folder: Path
    called: str = "the scenarios folder"

    def resolve(self, name: str, naming_file: Path) -> Path:
        _check_written_name(name)
        base = naming_file.parent / name
        try:
            return _confined(base, name, self.folder, self.called, False)
        except ExtendsRefused:
            # Outside, missing or not a file alike: the server's files are not for a browser to map.
            raise ExtendsRefused(f"no such file in {self.called}: {name}") from None


def _check_written_name(name: str) -> None:
    if not name.strip():
        raise ExtendsRefused("extends is empty; give the base scenario's file, e.g. baseline.yaml")
    if len(name) > MAX_PATH_CHARS:
        raise ExtendsRefused(
            f"the file name is {len(name):,} characters long; the limit is {MAX_PATH_CHARS}"
        )
    if "\0" in name:
        raise ExtendsRefused("the file name contains a NUL character")


def _confined(base: Path, name: str, root: Path, called: str, say_outside: bool) -> Path:
    """``base`` if it is a regular scenario file inside ``root`` (symbolic links followed);
    otherwise raise :class:`ExtendsRefused` saying why, without reading it."""
    try:
        real = base.resolve()
        inside = real.is_relative_to(root.resolve())
    except (OSError, RuntimeError) as e:  # a name too long for the system, a loop of links
        raise ExtendsRefused(f"cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    if not inside:
        raise ExtendsRefused(
            f"{name} is outside {called}; only files inside it are read"
            + (" (see --scenarios-root)" if say_outside else "")
        )
    if real.suffix.lower() not in SCENARIO_SUFFIXES:
        raise ExtendsRefused(f"{name} is not a .yaml or .yml file")
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise ExtendsRefused(f"no such file: {base}") from None
    except OSError as e:
        raise ExtendsRefused(f"cannot read {name}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ExtendsRefused(f"{name} {_not_regular(mode)}")
    return real


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file (a device, pipe or socket); only files are read"


def default_root(top: str | Path) -> Path:
    """The scenarios root for a file named on the command line: the current folder if the file is
    inside it (``flowsim compare scenarios/baseline.yaml scenarios/changes/*.yaml`` from a
    checkout), else the file's own folder. ``extends`` may not read outside the root."""
    here = Path(os.path.abspath("."))
    at = Path(os.path.abspath(top))
    return here if at.is_relative_to(here) else at.parent


def read_scenario_data(
    path: str | Path,
    policy: ExtendsPolicy | None = None,
    root: str | Path | None = None,
) -> tuple[dict[str, Any], Marks]:
    """Read a scenario file and its ``extends`` chain into merged data and marks; ``policy``
    decides which files ``extends`` may read (by default :class:`InsideRoot` of ``root``, itself
    by default :func:`default_root` of ``path``)."""
    if policy is None:
        policy = InsideRoot(Path(root) if root is not None else default_root(path))
    name = str(path)
    return _read_chain(Path(path), _read_file_or_problem(Path(path), name), name, policy, ())


def _read_file_or_problem(p: Path, name: str) -> bytes:
    try:
        return read_regular_file(p)
    except Unreadable as e:
        raise ScenarioError([Problem(name, None, None, "", str(e))]) from None


def _read_chain(
    p: Path, raw: bytes, name: str, policy: ExtendsPolicy, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], Marks]:
    resolved = p.resolve()
    data, marks = read_scenario_bytes(raw, name)
    if resolved in chain:
        # Read again, so it extends something: point at that line, where the loop can be broken.
        cycle = " -> ".join(c.name for c in (*chain, resolved))
        f, line, col = marks.get(("extends",), (name, None, None))
        raise ScenarioError([Problem(f, line, col, "extends", f"extends loops: {cycle}")])
    return _extend(data, marks, p, policy, (*chain, resolved))


def apply_extends(
    data: dict[str, Any], marks: Marks, written_at: Path, policy: ExtendsPolicy
) -> tuple[dict[str, Any], Marks]:
    """One file's content (from :func:`read_scenario_bytes`) merged onto the chain of files its
    ``extends`` names, as if the file were at ``written_at``; ``policy`` decides which files may
    be read. Without a ``name`` of its own, the result is named after ``written_at``."""
    return _extend(data, marks, written_at, policy, ())


def _extend(
    data: dict[str, Any],
    marks: Marks,
    written_at: Path,
    policy: ExtendsPolicy,
    chain: tuple[Path, ...],
) -> tuple[dict[str, Any], Marks]:
    parent = data.pop("extends", None)
    if parent is None:
        data.setdefault("name", _default_name(written_at))
        return data, marks
    f, line, col = marks[("extends",)]
    if not isinstance(parent, str):
        raise ScenarioError([Problem(f, line, col, "extends", "expected a file name")])
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            [
                Problem(
                    f,
                    line,
                    col,
                    "extends",
                    f"the extends chain is longer than {MAX_EXTENDS} files",
                )
            ]
        )
    try:
        base_path = policy.resolve(parent, written_at)
        raw = read_regular_file(base_path)
    except (ExtendsRefused, Unreadable) as e:
        raise ScenarioError([Problem(f, line, col, "extends", str(e))]) from None
    base, base_marks = _read_chain(base_path, raw, str(base_path), policy, chain)
    merged, merged_marks = overlay(base, base_marks, data, marks)
    if "name" not in data:
        merged["name"] = _default_name(written_at)
    return merged, merged_marks


class Unreadable(Exception):
    """A file that is not read, and why (never its content)."""


def read_regular_file(p: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``p`` if it is a regular file of at most ``limit`` bytes. Anything else
    (a folder, a device such as /dev/zero, a FIFO that would block, a socket) is refused before
    it is opened; the file is opened without blocking and checked again, as it may have been
    swapped in between."""
    try:
        mode = os.stat(p).st_mode
        if not stat.S_ISREG(mode):
            raise Unreadable(_not_regular(mode))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise Unreadable("no such file") from None
    except OSError as e:
        reason = "the file name is too long" if e.errno == errno.ENAMETOOLONG else e.strerror
        raise Unreadable(f"cannot read: {reason}") from None
    except ValueError:  # a NUL in the name
        raise Unreadable("cannot read: the file name contains a NUL character") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(_not_regular(st.st_mode))
        if st.st_size > limit:
            raise Unreadable(f"file is {st.st_size:,} bytes; the limit is {limit:,}")
        try:
            raw = fh.read(limit + 1)
        except OSError as e:
            raise Unreadable(f"cannot read: {e.strerror}") from None
    if len(raw) > limit:  # it grew while being read
        raise Unreadable(f"file is over {limit:,} bytes, the limit")
    return raw


def overlay(
    base: dict[str, Any], base_marks: Marks, over: dict[str, Any], over_marks: Marks
) -> tuple[dict[str, Any], Marks]:
    """``over`` merged onto ``base``, and where each merged value was written. Mappings merge key
    by key; anything else, a table of shares (:func:`whole_table_paths`) and a distribution of
    another kind are replaced whole, and so are the base's marks beneath them: an error there
    must point at the overlay, which wrote it."""
    replaced: set[Path_] = set()
    whole = whole_table_paths()

    def merge(b: Any, o: Any, path: Path_) -> Any:
        if (
            isinstance(b, dict)
            and isinstance(o, dict)
            and not ("dist" in o and o["dist"] != b.get("dist"))
            and not _matches_any(path, whole)
        ):
            # Of the same kind, a distribution's parameters merge as usual; of another kind it
            # replaces the base's: a lognormal's sd must not linger in a triangular.
            out = dict(b)
            for k, v in o.items():
                out[k] = merge(b[k], v, (*path, k)) if k in b else v
            return out
        replaced.add(path)
        return o

    merged = merge(base, over, ())
    marks = {
        p: m for p, m in base_marks.items() if not any(p[:i] in replaced for i in range(len(p)))
    }
    marks.update(over_marks)
    return merged, marks


ANY_KEY = "*"
"""In a :func:`whole_table_paths` pattern: any name (a stage's, a class's)."""


@functools.cache
def whole_table_paths(model: type[BaseModel] = Scenario) -> frozenset[tuple[str, ...]]:
    """The field paths of ``model`` (``*`` for any name) whose tables an overlay replaces whole:
    every field typed with a :class:`~flowsim.scenario.WholeTable` mark, wherever it nests,
    e.g. ``("stages", "*", "next")`` and ``("stages", "*", "next_by_class", "*")``."""
    out: set[tuple[str, ...]] = set()
    _collect_whole(model, (), out, frozenset())
    return frozenset(out)


def _collect_whole(
    tp: Any, at: tuple[str, ...], out: set[tuple[str, ...]], seen: frozenset[Any]
) -> None:
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        if any(isinstance(m, WholeTable) for m in meta):
            out.add(at)
            return
        _collect_whole(base, at, out, seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:  # a model that contains itself: its paths are already being found
            return
        for name, field in tp.model_fields.items():
            key = field.alias or name
            if any(isinstance(m, WholeTable) for m in field.metadata):
                out.add((*at, key))
            else:
                _collect_whole(field.annotation, (*at, key), out, seen | {tp})
    elif typing.get_origin(tp) is dict:
        _collect_whole(typing.get_args(tp)[1], (*at, ANY_KEY), out, seen)
    elif typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            _collect_whole(arm, at, out, seen)
    # Lists and single values are replaced by an overlay anyway.


def _matches_any(path: Path_, patterns: frozenset[tuple[str, ...]]) -> bool:
    return any(
        len(p) == len(path) and all(w in (ANY_KEY, k) for w, k in zip(p, path, strict=True))
        for p in patterns
    )


def read_scenario_bytes(raw: bytes, name: str) -> tuple[dict[str, Any], Marks]:
    """One scenario file's content (``extends`` not yet followed) as data and marks, named
    ``name`` in messages; ``x-`` fields are dropped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(
            [Problem(name, bad_line, None, "", "not a text file (it is not UTF-8)")]
        ) from None
    data, marks = read_yaml(text, name)
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        _, line, col = marks[()]
        raise ScenarioError(
            [Problem(name, line, col, "", f"a scenario must be a mapping of fields, got {kind}")]
        )
    for key in [k for k in data if k.startswith("x-")]:
        del data[key]  # extension fields: a place to define YAML anchors shared below
    if data and not any(k in _SCENARIO_KEYS for k in data):
        # Some other YAML file (a CI config, a credentials file): neither its keys nor its
        # values are shown, as they may be secrets.
        _, line, col = marks[()]
        raise ScenarioError(
            [
                Problem(
                    name,
                    line,
                    col,
                    "",
                    "not a scenario file (none of its top-level keys is a scenario field)",
                )
            ]
        )
    return data, marks


_SCENARIO_KEYS = frozenset(Scenario.model_fields) | {"extends"}


def _default_name(p: Path) -> str:
    stem = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in p.stem)
    stem = stem if stem and not stem[0].isdigit() else f"s_{stem}"
    return stem[:MAX_NAME_CHARS]


def validate_data(data: Mapping[str, Any], marks: Marks, filename: str) -> Scenario:
    """Validate plain data into a :class:`Scenario`; every problem is reported together."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        # The network checks need a valid scenario; the names they check can be read from the
        # file all the same, so a misspelt route is reported beside a table that does not sum
        # to 1, not only once that is fixed.
        names = [_problem(loc, msg, marks, filename) for loc, msg in name_problems_in_data(data)]
        problems = validation_problems(e, marks, filename, Scenario)
        overlay = marks.get(("extends",), (None, None, None))[0]
        if overlay is not None:
            problems = [_whole_table_hint(p, overlay) for p in problems]
        raise ScenarioError(_in_file_order(_dedupe(problems + names))) from None
    problems = [_problem(loc, msg, marks, filename) for loc, msg in network_problems(scenario)]
    if problems:
        raise ScenarioError(_dedupe(problems))
    return scenario


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """``problems`` as a reader meets them: by file (in the order the files first appear), then
    line and column; problems without a position keep their order after those with one."""
    files = {p.file: i for i, p in reversed(list(enumerate(problems)))}
    return sorted(
        problems,
        key=lambda p: (files[p.file], p.line is None, p.line or 0, p.column or 0),
    )


def _whole_table_hint(p: Problem, overlay: str) -> Problem:
    """A table of shares a change file wrote that does not sum to 1 was most likely meant to
    change a few entries of the base's table: say that the change file's table is the whole."""
    path = tuple(p.path.split("."))
    whole = whole_table_paths()
    if (
        p.file == overlay
        and "must sum to 1" in p.message
        and (_matches_any(path, whole) or _matches_any((*path, ANY_KEY), whole))
    ):
        hint = "; a change file's table replaces the base's whole table, so give every entry"
        return dataclasses.replace(p, message=p.message + hint)
    return p


def name_problems_in_data(data: Mapping[str, Any]) -> Iterator[tuple[Path_, str]]:
    """``(field path, message)`` for each name in unvalidated scenario data that refers to a
    stage, place, staff group or class the data does not define, worded as
    :func:`~flowsim.scenario.network_problems` words them. Used when the data is not a valid
    scenario, so those checks cannot run; values of the wrong type are left to the schema."""
    sections = ("stages", "places", "staff", "classes", "arrivals")
    if any(len(v) > MAX_ITEMS for k in sections if isinstance(v := data.get(k), Mapping)):
        # Past the limit the file is refused for its size; a list of thousands of known names
        # in each message would only bury that.
        return
    optional = {"places", "staff"}  # left out, they are empty
    defined: dict[str, set[str] | None] = {
        k: set(v) if isinstance(v, Mapping) else set() if v is None and k in optional else None
        for k, v in ((k, data.get(k)) for k in sections)
    }
    stages, places, staff, classes = (defined[k] for k in sections[:4])

    def check(
        path: Path_, kind: str, name: Any, known: set[str] | None
    ) -> Iterator[tuple[Path_, str]]:
        if known is not None and isinstance(name, str) and name not in known:
            yield path, _unknown(kind, name, known)

    arrivals = data.get("arrivals")
    for name, stream in arrivals.items() if isinstance(arrivals, Mapping) else ():
        if not isinstance(stream, Mapping):
            continue
        at: Path_ = ("arrivals", name)
        mix = stream.get("class_mix")
        for c in mix if isinstance(mix, Mapping) else ():
            yield from check((*at, "class_mix", c), "class", c, classes)
        yield from check((*at, "first_stage"), "stage", stream.get("first_stage"), stages)
    if stages is None:
        return
    for name, stage in data["stages"].items():
        if not isinstance(stage, Mapping):
            continue
        at = ("stages", name)
        yield from check((*at, "place"), "place", stage.get("place"), places)
        yield from check((*at, "staff"), "staff group", stage.get("staff"), staff)
        for field in ("duration_by_class", "next_by_class"):
            table = stage.get(field)
            for c in table if isinstance(table, Mapping) else ():
                yield from check((*at, field, c), "class", c, classes)
        yield from _routes(at, stage, stages)
        yield from _stays_by_destination(at, stage)
        yield from check((*at, "overflow"), "stage", stage.get("overflow"), stages)
        lwbs = stage.get("leave_without_being_seen")
        who = lwbs.get("classes") if isinstance(lwbs, Mapping) else None
        for i, c in enumerate(who if isinstance(who, list) else ()):
            yield from check((*at, "leave_without_being_seen", "classes", i), "class", c, classes)


def _stays_by_destination(at: Path_, stage: Mapping[str, Any]) -> Iterator[tuple[Path_, str]]:
    """A ``duration_by_next`` key that is not one of the stage's routes, worded as
    :func:`~flowsim.scenario.network_problems` words it."""
    by_next = stage.get("duration_by_next")
    if not isinstance(by_next, Mapping):
        return
    routes: set[str] = set()
    tables = [stage.get("next")]
    by_class = stage.get("next_by_class")
    if isinstance(by_class, Mapping):
        tables += list(by_class.values())
    for table in tables:
        if isinstance(table, Mapping):
            routes |= {t for t in table if isinstance(t, str)}
    if not isinstance(stage.get("next"), Mapping) or not stage.get("next"):
        routes.add(EXIT)
    for target in by_next:
        if isinstance(target, str) and target not in routes:
            yield (
                (*at, "duration_by_next", target),
                f"'{target}' is not a route from this stage (routes: {', '.join(sorted(routes))})",
            )


def _routes(at: Path_, stage: Mapping[str, Any], stages: set[str]) -> Iterator[tuple[Path_, str]]:
    by_class = stage.get("next_by_class")
    tables: list[tuple[Path_, Any]] = [((*at, "next"), stage.get("next"))]
    if isinstance(by_class, Mapping):
        tables += [((*at, "next_by_class", c), t) for c, t in by_class.items()]
    for path, table in tables:
        for target in table if isinstance(table, Mapping) else ():
            if target != EXIT and target not in stages:
                # As network_problems says it: exit is a route's known target too.
                yield (*path, target), _unknown("stage", target, stages | {EXIT})


def load_scenario(
    source: str | Path | Mapping[str, Any],
    name: str | None = None,
    root: str | Path | None = None,
) -> Scenario:
    """Load and validate a scenario from a YAML file or from a mapping (e.g. in a notebook).

    ``extends`` may only read ``.yaml``/``.yml`` files inside ``root`` (by default the current
    folder if the file is inside it, else the file's own folder: see :func:`default_root`)."""
    if isinstance(source, Mapping):
        data = dict(source)
        if name is not None:
            data["name"] = name
        if "extends" in data:
            raise ScenarioError(
                [
                    Problem(
                        "<dict>",
                        None,
                        None,
                        "extends",
                        "extends works in files; merge the dict yourself",
                    )
                ]
            )
        return validate_data(data, _unplaced_marks(data, "<dict>"), "<dict>")
    data, marks = read_scenario_data(source, root=root)
    if name is not None:
        data["name"] = name
    return validate_data(data, marks, str(source))


def _unplaced_marks(data: Any, filename: str, path: Path_ = ()) -> Marks:
    """Marks without positions for data that was not read from a file: they still let error paths
    read as the data does (``capacity``, not pydantic's ``capacity.constrained-int``)."""
    marks: Marks = {path: (filename, None, None)}
    if isinstance(data, Mapping):
        for k, v in data.items():
            marks.update(_unplaced_marks(v, filename, path + (str(k),)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            marks.update(_unplaced_marks(v, filename, path + (i,)))
    return marks


def scenario_hash(scenario: Scenario) -> str:
    """A content hash of the resolved scenario: equal hashes mean equal models."""
    text = json.dumps(scenario.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as a standalone YAML file that loads back to an equal scenario."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["name"] = scenario.name
    return dump_yaml(data)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Plain data as YAML the way people write scenario files: keys in the order given, short
    lists of values on one line."""
    return str(
        yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    )


class _Dumper(yaml.SafeDumper):  # type: ignore[misc,unused-ignore]  # PyYAML has no types here
    """Writes lists of plain values on one line (``[0.5, 1.0, ...]``), as people write them."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(isinstance(x, (int, float, str, bool)) or x is None for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def validation_problems(
    error: ValidationError,
    marks: Marks,
    filename: str,
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Pydantic's errors for data read with ``marks`` as ``file:line:column`` problems in plain
    words (:mod:`flowsim.messages`), each once, with field paths as the file writes them
    (``filename`` for data that has no marks). ``model`` is the model that was validated, so
    messages can name its fields."""
    errors = error.errors()
    # A value that fits no arm of a union (capacity: a number or unlimited) gives one error per
    # arm at the same field; they are said as one: "expected a whole number or 'unlimited'".
    by_field: dict[tuple[Any, ...], list[Any]] = {}
    for err in errors:
        if _is_union_arm(err["loc"], marks):
            by_field.setdefault(tuple(err["loc"][:-1]), []).append(err)
    problems: list[Problem] = []
    done: set[tuple[Any, ...]] = set()
    for err in errors:
        loc = tuple(err["loc"])
        field = loc[:-1]
        arms = by_field.get(field, []) if _is_union_arm(loc, marks) else []
        if len(arms) > 1:
            if field not in done:
                done.add(field)
                problems.append(_problem(field, _union_message(arms, model), marks, filename))
        else:
            problems.append(_problem(loc, plain_message(err, model), marks, filename))
    return _dedupe(problems)


def _is_union_arm(loc: tuple[Any, ...], marks: Marks) -> bool:
    # Pydantic names a union's arm after the field ('constrained-int', "literal['unlimited']"),
    # a key the file does not have; a missing field is not an arm, and has a plain name.
    return (
        len(loc) > 1
        and isinstance(loc[-1], str)
        and loc[-1] != "[key]"
        and tuple(loc) not in marks
        and (tuple(loc[:-1]) in marks or not marks)
        and (not loc[-1].isidentifier() or loc[-1][0].isupper() or loc[-1] in _TYPE_TAGS)
    )


_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "date", "none"})


def _union_message(arms: list[Any], model: type[BaseModel] | None) -> str:
    """One message for a value no arm of a union accepts: if one arm took its type but not its
    value (a number over the limit), that arm's complaint; else every form it could take."""
    expected = [expected_words(e, model) for e in arms]
    for err, words in zip(arms, expected, strict=True):
        if words is None:
            return plain_message(err, model)
    forms = list(dict.fromkeys(w for w in expected if w is not None))
    return f"expected {' or '.join(forms)}, got {describe(arms[0].get('input'))}"


def _problem(loc: tuple[Any, ...], msg: str, marks: Marks, filename: str) -> Problem:
    # Pydantic's locations include union tags (e.g. 'lognormal') and validator names that are not
    # in the file; keep the parts that are, so the path reads as the file does.
    path: list[str | int] = []
    for part in loc:
        cand = tuple(path) + (part,)
        if cand in marks or not marks:
            path.append(part)
        elif isinstance(part, str) and part.startswith("function-"):
            continue
    # A missing field has no mark of its own: point at its parent.
    probe = tuple(path)
    while probe and probe not in marks:
        probe = probe[:-1]
    f, line, col = marks.get(probe, (filename, None, None))
    if not marks:
        f, line, col = filename, None, None
    shown = list(path)
    if loc and loc[-1] not in shown and isinstance(loc[-1], str) and msg.startswith("required"):
        shown.append(loc[-1])
    return Problem(f, line, col, ".".join(str(x) for x in shown), msg)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
