"""Reading scenario files: safe YAML with positions, ``extends`` overlays, and validation errors
that point at ``file:line:column`` and the field path.

YAML is composed into nodes (safe loading only: no Python objects can be constructed) and turned
into plain data ourselves, so that duplicate keys are refused and every value keeps the place it
was written. An overlay file names its base with ``extends:``; mappings merge key by key, anything
else (lists, scalars) is replaced, so a change idea is a few lines. Top-level keys starting
with ``x-`` are ignored: they hold YAML anchors (``&hourly``) that several fields reuse.

The parts other readers build on: :func:`read_yaml` (plain data and where each value was
written), :func:`apply_extends` with an :class:`ExtendsPolicy` that decides which files
``extends`` may read (:class:`BesideTheFile` for the command line, :class:`InsideFolder` for
uploads), :func:`validation_problems` (pydantic's errors as ``file:line:column`` problems) and
:func:`dump_yaml`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import yaml
from pydantic import ValidationError

from .errors import Problem, ScenarioError
from .scenario import Scenario, network_problems

Path_ = tuple[str | int, ...]
Marks = dict[Path_, tuple[str, int | None, int | None]]
"""Where each value was written: field path -> (file, line, column), 1-based (None for data
that was not read from a file)."""

MAX_FILE_BYTES = 2_000_000


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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
            if not isinstance(key_node, yaml.ScalarNode):
                _raise(filename, key_node.start_mark, "a key must be a plain name")
            key = loader.construct_object(key_node)
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
    """``extends`` names a path relative to the folder of the file that names it; any path that
    exists is read (the ``flowsim`` command's rule: the files are the user's own)."""

    def resolve(self, name: str, naming_file: Path) -> Path:
        base = naming_file.parent / name
        if not base.exists():
            raise ExtendsRefused(f"no such file: {base}")
        return base


@dataclass(frozen=True)
class InsideFolder:
    """``extends`` is read relative to the file that names it, as by :class:`BesideTheFile`, but
    only a regular file inside ``folder`` may be read (the rule for files uploaded in the browser,
    which must not reach the server's other files)."""

    folder: Path
    called: str = "the scenarios folder"

    def resolve(self, name: str, naming_file: Path) -> Path:
        base = naming_file.parent / name
        if not base.resolve().is_relative_to(self.folder.resolve()) or not base.is_file():
            raise ExtendsRefused(f"no such file in {self.called}: {name}")
        return base


def read_scenario_data(
    path: str | Path,
    policy: ExtendsPolicy = BesideTheFile(),
) -> tuple[dict[str, Any], Marks]:
    """Read a scenario file and its ``extends`` chain into merged data and marks; ``policy``
    decides which files ``extends`` may read."""
    return _read_chain(Path(path), str(path), policy, ())


def _read_chain(
    p: Path, name: str, policy: ExtendsPolicy, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], Marks]:
    resolved = p.resolve()
    data, marks = read_scenario_bytes(_read_file(p, name), name)
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
    try:
        base_path = policy.resolve(parent, written_at)
    except ExtendsRefused as e:
        raise ScenarioError([Problem(f, line, col, "extends", str(e))]) from None
    base, base_marks = _read_chain(base_path, str(base_path), policy, chain)
    merged, merged_marks = _overlay(base, base_marks, data, marks)
    if "name" not in data:
        merged["name"] = _default_name(written_at)
    return merged, merged_marks


def _read_file(p: Path, name: str) -> bytes:
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                [
                    Problem(
                        name,
                        None,
                        None,
                        "",
                        f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                    )
                ]
            )
        return p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(name, None, None, "", "no such file")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(name, None, None, "", "is a folder, not a file")]) from None
    except OSError as e:
        raise ScenarioError([Problem(name, None, None, "", f"cannot read: {e.strerror}")]) from None


def _overlay(
    base: dict[str, Any], base_marks: Marks, over: dict[str, Any], over_marks: Marks
) -> tuple[dict[str, Any], Marks]:
    """``over`` merged onto ``base``, and where each merged value was written. Mappings merge key
    by key; anything else, and a distribution of another kind, is replaced whole, and so are
    the base's marks beneath it: an error there must point at the overlay, which wrote it."""
    replaced: set[Path_] = set()

    def merge(b: Any, o: Any, path: Path_) -> Any:
        if (
            isinstance(b, dict)
            and isinstance(o, dict)
            and not ("dist" in o and o["dist"] != b.get("dist"))
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
    return data, marks


def _default_name(p: Path) -> str:
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in p.stem)
    return stem if stem and not stem[0].isdigit() else f"s_{stem}"


def validate_data(data: Mapping[str, Any], marks: Marks, filename: str) -> Scenario:
    """Validate plain data into a :class:`Scenario`; every problem is reported together."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(validation_problems(e, marks, filename)) from None
    problems = [_problem(loc, msg, marks, filename) for loc, msg in network_problems(scenario)]
    if problems:
        raise ScenarioError(_dedupe(problems))
    return scenario


def load_scenario(source: str | Path | Mapping[str, Any], name: str | None = None) -> Scenario:
    """Load and validate a scenario from a YAML file or from a mapping (e.g. in a notebook)."""
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
    data, marks = read_scenario_data(source)
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


def validation_problems(error: ValidationError, marks: Marks, filename: str) -> list[Problem]:
    """Pydantic's errors for data read with ``marks`` as ``file:line:column`` problems, each once,
    with field paths as the file writes them (``filename`` for data that has no marks)."""
    return _dedupe([_problem(err["loc"], _message(err), marks, filename) for err in error.errors()])


def _message(err: Any) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see `flowsim schema` for the fields allowed)"
    if err["type"] == "missing":
        return "required field is missing"
    got = err.get("input")
    if (
        err["type"] not in ("missing",)
        and not isinstance(got, (dict, list))
        and got is not None
        and repr(got) not in msg
    ):
        msg += f" (got {got!r})"
    return msg


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
