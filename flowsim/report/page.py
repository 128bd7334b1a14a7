"""One self-contained HTML page with Altair charts, written so that it opens offline.

Shared by every flowsim output a user opens in a browser (the results report, the calibration
and PDSA reports, capacity search): Vega, Vega-Lite and vega-embed are inlined once from
vl-convert, so the page loads nothing from any network; charts are drawn as SVG; files are written
under a temporary name and renamed, so no half-written page or PNG is ever left.
"""

from __future__ import annotations

import functools
import html
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import FlowsimError

SLIDE_WIDTH = 1280
"""Width in pixels of a PNG chart: a 16:9 slide."""

CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #000; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #555; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #eee; }
.chart { margin: 1.5rem 0; page-break-inside: avoid; }
@media print { body { margin: 0; } }
"""

EMBED_OPTIONS = '{"actions": false, "renderer": "svg"}'


class PageError(FlowsimError):
    """An offline page or its PNGs cannot be made; nothing was written."""


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table with every cell escaped (cells are user text: names, labels, values)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_placeholder(index: int, title: str) -> str:
    """Where chart number ``index`` of :func:`render` is drawn, to place among the HTML parts."""
    return f'<div class="chart" id="chart{index}" aria-label="{html.escape(title)}"></div>'


def _json_for_script(spec: dict[str, Any]) -> str:
    return json.dumps(spec).replace("</", "<\\/")


@functools.cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, safe to inline in a ``<script>`` element.
    Kept once per process: vl-convert takes seconds to bundle it, and it never changes."""
    try:
        import vl_convert
    except ImportError as e:
        raise PageError(
            "charts for the browser need vl-convert; install it with: pip install 'flowsim[app]'"
        ) from e
    bundle: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    return bundle.replace("</script", "<\\/script")


def render(
    title: str, parts: Sequence[str], specs: Sequence[dict[str, Any]], css: str = CSS
) -> str:
    """The page: ``parts`` (HTML, already escaped) in order, and the Vega-Lite ``specs`` drawn
    into the placeholders :func:`chart_placeholder` made for them, with Vega inlined."""
    scripts = [
        f'vegaEmbed("#chart{i}", {_json_for_script(spec)}, {EMBED_OPTIONS});'
        for i, spec in enumerate(specs)
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{css}</style><script>{vega_bundle()}</script></head><body>"
        + "\n".join(parts)
        + f"<script>{chr(10).join(scripts)}</script></body></html>\n"
    )


def write_atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Write ``target`` through ``write(temporary path)`` and rename: all or nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_page(
    out: Path,
    page: str,
    charts: Sequence[tuple[str, dict[str, Any]]] = (),
    png: Path | None = None,
) -> list[Path]:
    """Write the HTML ``page`` to ``out`` and, when ``png`` is given, each ``(file stem, spec)``
    of ``charts`` as a slide-sized PNG in that folder; return the files written."""
    written: list[Path] = []
    try:
        write_atomic(out, lambda p: p.write_text(page, encoding="utf-8"))
        written.append(out)
        if png is not None:
            import vl_convert

            for stem, spec in charts:
                wide = dict(spec, width=SLIDE_WIDTH - 260)
                data = vl_convert.vegalite_to_png(wide, scale=1)
                target = png / f"{stem}.png"
                write_atomic(target, lambda p, d=data: p.write_bytes(d))  # type: ignore[misc]
                written.append(target)
    except OSError as e:
        raise PageError(f"cannot write {out.name}: {e.strerror or e}") from e
    return written
