"""The pathway as a flow diagram: arrival streams, stages grouped by place, routes and their
probabilities, drawn from a scenario (Graphviz DOT text, which the browser page renders).

Routes that depend on the patient class are drawn per class group (``P1: 100%``); overflow
routes (taken when a place is full or closed) are dashed.
"""

from __future__ import annotations

from .scenario import EXIT, Scenario, places_held

# Okabe & Ito (2008) colours, by the area a place belongs to.
AREA_COLOURS = {
    "ed": "#E69F00",
    "sdec": "#56B4E9",
    "assessment": "#009E73",
    "ward": "#0072B2",
    "other": "#999999",
}


def _q(text: str) -> str:
    """``text`` as a DOT quoted string that says exactly ``text``: a label (a user's free text)
    cannot end the string, start an attribute or carry a Graphviz escape such as ``\\N``."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n") + '"'


def _pct(p: float) -> str:
    return f"{100 * p:.3g}%"


def routes(scenario: Scenario) -> list[tuple[str, str, str, str]]:
    """Every route as ``(from, to, label, kind)``; kind is ``route``, ``class`` or ``overflow``.

    Classes whose routing is the same are listed together on one edge."""
    out: list[tuple[str, str, str, str]] = []
    for name, stage in scenario.stages.items():
        default_classes = [c for c in scenario.classes if c not in stage.next_by_class]
        if stage.next_by_class:
            groups: dict[tuple[tuple[str, float], ...], list[str]] = {}
            for c, routing in stage.next_by_class.items():
                groups.setdefault(tuple(routing.items()), []).append(c)
            if default_classes:
                groups.setdefault(tuple((stage.next or {EXIT: 1.0}).items()), []).extend(
                    default_classes
                )
            for pairs, classes in groups.items():
                who = ",".join(classes) if len(classes) < len(scenario.classes) else "all"
                for target, p in pairs:
                    if p > 0:
                        out.append((name, target, f"{who}: {_pct(p)}", "class"))
        else:
            plain: dict[str, float] = stage.next or {EXIT: 1.0}
            for target, share in plain.items():
                if share > 0:
                    out.append((name, target, _pct(share), "route"))
        if stage.overflow is not None:
            out.append((name, stage.overflow, "if full", "overflow"))
    return out


def to_dot(scenario: Scenario) -> str:
    """The pathway of ``scenario`` as Graphviz DOT text, read top to bottom. Each route out of
    the system ends in its own small "leaves" mark, so the diagram is not a knot of arrows."""
    lines = [
        "digraph pathway {",
        '  rankdir=TB; fontname="Helvetica"; nodesep=0.3; ranksep=0.4;',
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
        'fillcolor="#FFFFFF"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for name, stream in scenario.arrivals.items():
        label = f"{name}\n{stream.per_day:g} a day" + (" (ambulance)" if stream.handover else "")
        lines.append(f'  {_q("in:" + name)} [label={_q(label)}, shape=cds, fillcolor="#F0F0F0"];')
        lines.append(f"  {_q('in:' + name)} -> {_q(stream.first_stage)};")
    # A stage with no place of its own is drawn in the place the patient keeps through it.
    by_place: dict[str | None, list[str]] = {}
    for name, place in places_held(scenario).items():
        by_place.setdefault(place, []).append(name)
    for place, stages in by_place.items():
        indent = "  "
        if place is not None:
            p = scenario.places[place]
            cap = "unlimited" if p.unlimited else f"{p.capacity}"
            colour = AREA_COLOURS[p.area]
            lines.append(f"  subgraph {_q('cluster_' + place)} {{")
            lines.append(
                f"    label={_q(f'{p.label or place} ({cap})')}; style=rounded; "
                f'color="{colour}"; penwidth=2; fontsize=11;'
            )
            indent = "    "
        for s in stages:
            stage = scenario.stages[s]
            extra = f"\n{stage.staff}" if stage.staff else ""
            lines.append(f"{indent}{_q(s)} [label={_q(s + extra)}];")
        if place is not None:
            lines.append("  }")
    for src, dst, label, kind in routes(scenario):
        style = ', style=dashed, color="#D55E00"' if kind == "overflow" else ""
        if dst == EXIT:
            dst = f"{EXIT}:{src}"
            lines.append(
                f'  {_q(dst)} [label="leaves", shape=plaintext, style="", '
                'fontsize=10, fontcolor="#555555"];'
            )
        lines.append(f"  {_q(src)} -> {_q(dst)} [label={_q(label)}{style}];")
    lines.append("}")
    return "\n".join(lines)
