"""One benchmark's section of benchmarks/RESULTS.md, put in place of the last one it wrote."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, section: str) -> None:
    """Put ``section`` (which starts with ``heading``) in place of the section of ``path`` that
    starts with ``heading``, or append it when there is none; other sections are kept as they
    are."""
    lines = path.read_text().splitlines() if path.exists() else []
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    new = section.rstrip("\n").splitlines()
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ([""] if lines else []) + new
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith(("# ", "## "))),
            len(lines),
        )
        lines[start:end] = new + ([""] if end < len(lines) else [])
    path.write_text("\n".join(lines) + "\n")
