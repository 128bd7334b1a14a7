"""User text shown safely: anything a user wrote (file names, keys, values, labels, names,
messages quoting them) turned into Markdown that shows it as written, with the server's own
folders left out of every path.

Streamlit renders the text of ``st.error``, ``st.caption``, ``st.markdown``, widget labels and
so on as Markdown, so a file name or key carrying ``![](http://...)`` or two backticks would
otherwise become an image, a link or broken code. Every piece of user text goes through
:func:`plain` (or :func:`problems_md` / :func:`error_md`, which use it) before it joins
Markdown; fixed text written in the app does not need to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from pathlib import Path

from flowsim.errors import Problem, ScenarioError

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")


def plain(text: object) -> str:
    """``text`` as Markdown that shows exactly the text: a code span, on one line.

    Nothing in a code span is Markdown: no emphasis, link, image, HTML, entity or maths, and
    (unlike backslash escapes, which GitHub-flavoured Markdown undoes before it turns bare
    ``http://`` text into links) no autolink either. The span is fenced with one backtick
    more than the longest run in the text, so no run inside can close it early, and padded
    with a space each side, which Markdown takes off again. Line breaks become spaces: a blank
    line would end the span's paragraph and let the rest be read as Markdown.
    """
    one_line = _LINE_BREAKS.sub(" ", str(text))
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(one_line)), default=0) + 1)
    return f"{fence} {one_line} {fence}"


def _roots(folder: Path) -> list[str]:
    """The ways the server may spell ``folder`` in a path, longest first."""
    spelled = {os.path.normpath(folder.absolute()), os.path.normpath(folder)}
    with contextlib.suppress(OSError):  # a folder that cannot be resolved has no other name
        spelled.add(str(folder.resolve()))
    return sorted(spelled, key=len, reverse=True)


def shown_path(name: str, folder: Path) -> str:
    """A file name as the page shows it: relative to the scenarios ``folder`` when it is inside
    it; an absolute path elsewhere only by its last part, so the server's folders never show."""
    if not name or name.startswith("<"):  # "<dict>" and the like name no file
        return name
    norm = os.path.normpath(name)
    for root in _roots(folder):
        if root in (".", ""):
            continue
        if norm == root:
            return "the scenarios folder"
        if norm.startswith(root.rstrip(os.sep) + os.sep):
            return Path(os.path.relpath(norm, root)).as_posix()
    return Path(norm).name if os.path.isabs(norm) else name


def relative_text(text: str, folder: Path) -> str:
    """``text`` (a message) with every spelling of ``folder`` taken out of the paths in it."""
    for root in _roots(folder):
        if os.path.isabs(root) and root != os.sep:
            text = text.replace(root.rstrip(os.sep) + os.sep, "").replace(
                root, "the scenarios folder"
            )
    return text


def shown_problem(p: Problem, folder: Path) -> str:
    """One problem as ``file:line:column: field: message``, its paths relative to ``folder``."""
    return str(
        dataclasses.replace(
            p, file=shown_path(p.file, folder), message=relative_text(p.message, folder)
        )
    )


def problems_md(e: ScenarioError, folder: Path) -> str:
    """The problems of ``e`` as a Markdown list, each shown as plain text."""
    return "\n".join("- " + plain(shown_problem(p, folder)) for p in e.problems)


def error_md(message: object, folder: Path) -> str:
    """An error's message (which may quote user text and paths) as plain Markdown text."""
    return plain(relative_text(str(message), folder))
