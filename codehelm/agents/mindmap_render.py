"""A mind map outside Python: claim lines for a prompt, GraphML, a PNG, an HTML page.

The PNG (matplotlib, optional) and the page (inline SVG) use the same seeded spring layout, so
a map draws the same way every time. The page needs no internet and runs no script: hover
titles carry each node's text and each edge's provenance.
"""

from __future__ import annotations

import json
import textwrap
from html import escape
from typing import TYPE_CHECKING

import networkx as nx

from codehelm.errors import ConfigError

if TYPE_CHECKING:
    from codehelm.agents.mindmap import MindMap, MindMapEdge, MindMapNode, SourcedClaim, StrPath

NODE_COLOURS = {"entity": "#4e79a7", "claim": "#f28e2b", "evidence": "#59a14f"}
EDGE_COLOURS = {
    "supports": "#59a14f",
    "contradicts": "#e15759",
    "about": "#9c9c9c",
    "derived-from": "#b07aa1",
}
WIDTH, HEIGHT, MARGIN = 960, 720, 60
LABEL_CHARS = 40
"""Longest label drawn on a node; hover shows the whole text."""


def claim_lines(claims: list[SourcedClaim], budget: int) -> str:
    """A line per claim with its sources, in order, within `budget` characters in all: the first
    line that does not fit is cut short (keeping its sources) and the rest are left out."""
    lines: list[str] = []
    for item in claims:
        citation = _citation(item)
        room = budget - len("\n".join([*lines, ""])) - len("- ") - len(citation)
        text = item.claim.text
        if len(text) <= room:
            lines.append(f"- {text}{citation}")
            continue
        short = textwrap.shorten(text, room, placeholder=" …") if room > 0 else "…"
        if short != "…":
            lines.append(f"- {short}{citation}")
        break
    return "\n".join(lines)


def write_graphml(mind_map: MindMap, path: StrPath) -> None:
    """Write GraphML, which holds flat values only: `aliases` and `provenance` are JSON text."""
    flat = nx.MultiDiGraph()
    for node in mind_map.nodes():
        flat.add_node(
            node.id,
            kind=node.kind,
            text=node.text,
            aliases=json.dumps(node.aliases),
            source=node.source,
            content_hash=node.content_hash,
        )
    for edge in mind_map.edges():
        provenance = json.dumps([p.model_dump(mode="json") for p in edge.provenance])
        flat.add_edge(
            edge.head, edge.tail, key=edge.relation, relation=edge.relation, provenance=provenance
        )
    nx.write_graphml(flat, path)


def draw_png(mind_map: MindMap, path: StrPath) -> None:
    """Draw `mind_map` into a PNG file at `path`."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:
        raise ConfigError(
            "drawing a mind map as PNG needs matplotlib: pip install matplotlib "
            "(or write it with to_html, which needs nothing)"
        ) from exc
    graph = mind_map.graph
    nodes = mind_map.nodes()
    simple = nx.DiGraph(graph)
    figure = Figure(figsize=(12, 9))
    axes = figure.add_subplot()
    axes.set_axis_off()
    position = _layout(mind_map)
    nx.draw_networkx_edges(
        simple,
        position,
        ax=axes,
        edge_color=[EDGE_COLOURS[_first_relation(graph, u, v)] for u, v in simple.edges],
        arrows=True,
    )
    nx.draw_networkx_nodes(
        simple,
        position,
        ax=axes,
        nodelist=[n.id for n in nodes],
        node_color=[NODE_COLOURS[n.kind] for n in nodes],
        node_size=300,
    )
    nx.draw_networkx_labels(
        simple, position, labels={n.id: _label(n) for n in nodes}, ax=axes, font_size=7
    )
    handles = [Patch(color=colour, label=kind) for kind, colour in NODE_COLOURS.items()]
    axes.legend(handles=handles, loc="lower right")
    figure.savefig(path, dpi=120, bbox_inches="tight")


def draw_html(mind_map: MindMap) -> str:
    """A standalone HTML page drawing `mind_map` as inline SVG."""
    position = {
        node_id: (
            MARGIN + (x + 1) / 2 * (WIDTH - 2 * MARGIN),
            MARGIN + (y + 1) / 2 * (HEIGHT - 2 * MARGIN),
        )
        for node_id, (x, y) in _layout(mind_map).items()
    }
    edges = [_svg_edge(edge, position) for edge in mind_map.edges()]
    nodes = [_svg_node(node, *position[node.id]) for node in mind_map.nodes()]
    legend = [
        f'<circle cx="20" cy="{20 + 20 * i}" r="6" fill="{colour}"/>'
        f'<text x="32" y="{24 + 20 * i}">{kind}</text>'
        for i, (kind, colour) in enumerate(NODE_COLOURS.items())
    ]
    markers = [
        f'<marker id="{relation}" viewBox="0 0 10 10" refX="19" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for relation, colour in EDGE_COLOURS.items()
    ]
    svg = "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
            f"<defs>{''.join(markers)}</defs>",
            *edges,
            *nodes,
            *legend,
            "</svg>",
        ]
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Mind map</title>\n"
        "<style>body{margin:1em;font-family:sans-serif} svg{border:1px solid #ddd}</style>\n"
        f"</head>\n<body>\n<h1>Mind map</h1>\n<p>{len(nodes)} nodes, {len(edges)} edges; "
        f"hover for text and provenance.</p>\n{svg}\n</body>\n</html>\n"
    )


def _citation(item: SourcedClaim) -> str:
    def sources(nodes: tuple[MindMapNode, ...]) -> str:
        return "; ".join(dict.fromkeys(n.source for n in nodes if n.kind == "evidence"))

    cited, disputed = sources(item.supported_by), sources(item.contradicted_by)
    return (f" [source: {cited}]" if cited else "") + (
        f" [contradicted by: {disputed}]" if disputed else ""
    )


def _layout(mind_map: MindMap) -> dict[str, tuple[float, float]]:
    """Positions in [-1, 1]², the same for the same map."""
    if len(mind_map.graph) == 0:
        return {}
    position = nx.spring_layout(nx.Graph(mind_map.graph), seed=0)
    return {node: (float(x), float(y)) for node, (x, y) in position.items()}


def _svg_edge(edge: MindMapEdge, position: dict[str, tuple[float, float]]) -> str:
    (x1, y1), (x2, y2) = position[edge.head], position[edge.tail]
    provenance = "\n".join(
        f"{p.agent} · {p.source}"
        + (f" · chars {p.offsets[0]}–{p.offsets[1]}" if p.offsets else "")
        + f" · {p.added_at.isoformat(timespec='seconds')}"
        for p in edge.provenance
    )
    colour = EDGE_COLOURS[edge.relation]
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="1.5" marker-end="url(#{edge.relation})">'
        f"<title>{escape(edge.relation)}\n{escape(provenance)}</title></line>"
    )


def _svg_node(node: MindMapNode, x: float, y: float) -> str:
    details = [node.kind, node.text]
    if len(node.aliases) > 1:
        details.append("also: " + ", ".join(node.aliases))
    if node.source:
        details.append(f"source: {node.source}")
    return (
        f"<g><title>{escape(chr(10).join(details))}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{NODE_COLOURS[node.kind]}"/>'
        f'<text x="{x + 12:.1f}" y="{y + 4:.1f}">{escape(_label(node))}</text></g>'
    )


def _label(node: MindMapNode) -> str:
    text = node.source if node.kind == "evidence" and node.source else node.text
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _first_relation(graph: nx.MultiDiGraph, head: str, tail: str) -> str:
    return str(next(iter(graph[head][tail])))
