"""The mind map: shared memory of entities, claims and evidence, with provenance on every edge.

`ingest` adds an `Evidence` and the entities and claims in its quote (the model extracts them; a
deterministic extractor stands in when it cannot). Near-duplicate entities merge as they arrive.
`MindMap.query` gives a short ranked context for a prompt, `MindMap.clusters` the sections of a
report. State and checkpoints hold `MindMapData`, never the networkx graph:
`mind_map = MindMap.from_data(state.mind_map)`, then `{"mind_map": mind_map.data()}`.
Evidence can be ingested concurrently (`asyncio.gather`): the map changes only between awaits.

Edges run from the specific to the general: evidence `supports` (or `contradicts`) a claim, a
claim is `about` an entity, and a claim or evidence is `derived-from` another it was computed
or inferred from.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import networkx as nx
from pydantic import BaseModel, Field, field_validator, model_validator

from codehelm.agents.mindmap_render import claim_lines, draw_html, draw_png, write_graphml
from codehelm.errors import ModelOutputError
from codehelm.messages import Evidence, Usage, utc_now
from codehelm.models import ModelClient
from codehelm.prompts import render

NodeKind = Literal["entity", "claim", "evidence"]
Relation = Literal["supports", "contradicts", "about", "derived-from"]
StrPath = str | os.PathLike[str]

MERGE_RATIO = 0.9
"""Two prose entity names merge when difflib's similarity of their normalised forms reaches
this and they hold the same digits: colour/color and Tchaikovsky/Tchaikowsky merge, Python
3.11/3.12 do not. Code identifiers never merge on similarity (split/rsplit)."""

GROUNDED = 0.8
"""Share of a model claim's words that must occur in the quote for the claim to be kept."""
MIN_CLAIM_WORDS = 3
"""Fewer words make a name, not a statement. (Small models list names as claims: a claim that
is one of the model's entities is dropped too.)"""

CHARS_PER_TOKEN = 4
"""`MindMap.query` counts a token per 4 characters (rounded up): the usual rule of thumb for
English and URLs under BPE tokenisers, needing no tokenizer for the model at hand."""

CLUSTER_RESOLUTION = 0.5
"""Modularity resolution for `MindMap.clusters`: below 1 favours fewer, larger communities (at
1 a small map splits into one community per claim, too fine for report sections)."""

MAX_ENTITIES = 8
"""Entities taken from one quote (the model's, or the fallback's first ones)."""
MAX_CLAIMS = 4
"""Claims the model may extract from one quote."""
MAX_PROMPT_CHARS = 1500
"""Characters of a quote shown to the model: small models lose the thread on long inputs."""

_ENDS: dict[str, tuple[set[str], set[str]]] = {
    "supports": ({"evidence", "claim"}, {"claim"}),
    "contradicts": ({"evidence", "claim"}, {"claim"}),
    "about": ({"evidence", "claim"}, {"entity"}),
    "derived-from": ({"evidence", "claim"}, {"evidence", "claim"}),
}


class Provenance(BaseModel, frozen=True):
    """Who added an edge, from which source, and when."""

    agent: str
    source: str = Field(description="URL, file path or execution id the edge comes from.")
    offsets: tuple[int, int] | None = Field(
        default=None, description="The quote's [start, end) characters in the source text."
    )
    added_at: datetime = Field(default_factory=utc_now)

    @field_validator("offsets")
    @classmethod
    def _ordered(cls, offsets: tuple[int, int] | None) -> tuple[int, int] | None:
        if offsets is not None and not 0 <= offsets[0] <= offsets[1]:
            raise ValueError(f"offsets must be 0 <= start <= end, not {offsets}")
        return offsets


class MindMapNode(BaseModel, frozen=True):
    """An entity (`text`: its canonical name; `aliases`: every name it was seen under), a claim
    (`text`: the statement) or evidence (`id`: the `Evidence` id; `text`: its quote)."""

    id: str = Field(min_length=1)
    kind: NodeKind
    text: str
    aliases: tuple[str, ...] = ()
    source: str = ""
    content_hash: str = ""


class MindMapEdge(BaseModel, frozen=True):
    """`head -relation-> tail`, with the provenance of every time it was asserted."""

    head: str
    relation: Relation
    tail: str
    provenance: tuple[Provenance, ...] = Field(min_length=1)


class MindMapData(BaseModel, frozen=True):
    """A mind map as plain data: what LangGraph state and checkpoints hold."""

    nodes: tuple[MindMapNode, ...] = ()
    edges: tuple[MindMapEdge, ...] = ()

    @model_validator(mode="after")
    def _edges_fit_nodes(self) -> MindMapData:
        kinds = {node.id: node.kind for node in self.nodes}
        if len(kinds) < len(self.nodes):
            raise ValueError("two mind-map nodes share an id")
        for edge in self.edges:
            _check_edge(kinds.get(edge.head), edge.relation, kinds.get(edge.tail))
        return self


class SourcedClaim(BaseModel, frozen=True):
    """A claim with the nodes (evidence or claims) that support and contradict it."""

    claim: MindMapNode
    supported_by: tuple[MindMapNode, ...] = ()
    contradicted_by: tuple[MindMapNode, ...] = ()


class Cluster(BaseModel, frozen=True):
    """A community of the map: a report section. `entities[0]`, the most connected, titles it."""

    entities: tuple[MindMapNode, ...]
    claims: tuple[SourcedClaim, ...]


class Ingested(BaseModel, frozen=True):
    """What `ingest` added (node ids), what the model cost, and why it fell back, if it did."""

    evidence: str
    entities: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()
    usage: Usage = Field(default_factory=Usage)
    fallback: str = Field(default="", description="Why the heuristic replaced the model's output.")


MIND_MAP_TYPES: tuple[type[BaseModel], ...] = (MindMapData, MindMapNode, MindMapEdge, Provenance)
"""The types a checkpoint serializer must allow to revive `MindMapData`."""


class MindMap:
    """A `networkx.MultiDiGraph` over `MindMapNode`s (node attribute `node`) and `MindMapEdge`s
    (edge attribute `edge`, keyed by relation), with merging, ranking and export."""

    def __init__(self) -> None:
        self.graph: nx.MultiDiGraph = nx.MultiDiGraph()

    @classmethod
    def from_data(cls, data: MindMapData) -> MindMap:
        mind_map = cls()
        for node in data.nodes:
            mind_map.graph.add_node(node.id, node=node)
        for edge in data.edges:
            mind_map._put_edge(edge)
        return mind_map

    @classmethod
    def from_json(cls, path: StrPath) -> MindMap:
        """Read a map written by `to_json`."""
        return cls.from_data(MindMapData.model_validate_json(Path(path).read_text("utf-8")))

    def data(self) -> MindMapData:
        """The map as plain data, for state, checkpoints and JSON."""
        return MindMapData(nodes=tuple(self.nodes()), edges=tuple(self.edges()))

    def node(self, node_id: str) -> MindMapNode:
        node: MindMapNode = self.graph.nodes[node_id]["node"]
        return node

    def nodes(self, kind: NodeKind | None = None) -> list[MindMapNode]:
        """Nodes in the order they were added, optionally only those of one kind."""
        return [n for _, n in self.graph.nodes(data="node") if kind in (None, n.kind)]

    def edges(self) -> list[MindMapEdge]:
        return [edge for *_, edge in self.graph.edges(keys=True, data="edge")]

    def add_evidence(self, evidence: Evidence) -> MindMapNode:
        if evidence.id not in self.graph:
            node = MindMapNode(
                id=evidence.id,
                kind="evidence",
                text=evidence.quote,
                source=evidence.source,
                content_hash=evidence.content_hash,
            )
            self.graph.add_node(node.id, node=node)
        return self.node(evidence.id)

    def add_entity(self, name: str) -> MindMapNode:
        """The entity `name` names: an existing near-duplicate (see `find_entity`), which gains
        `name` as an alias and takes it as its name if it is more qualified, else a new one."""
        name = " ".join(name.split())
        key = _key(name)
        if not key:
            raise ValueError(f"an entity name needs a letter or digit, not {name!r}")
        found = self.find_entity(name)
        if found is None:
            node_id, n = f"entity:{key}", 1
            while node_id in self.graph:  # only data built elsewhere can hold this id already
                n += 1
                node_id = f"entity:{key}-{n}"
            node = MindMapNode(id=node_id, kind="entity", text=name, aliases=(name,))
        else:
            qualified = len(_components(name)) > len(_components(found.text))
            node = found.model_copy(
                update={
                    "text": name if qualified else found.text,
                    "aliases": tuple(dict.fromkeys((*found.aliases, name))),
                }
            )
        self.graph.add_node(node.id, node=node)
        return node

    def find_entity(self, name: str) -> MindMapNode | None:
        """The entity `name` refers to, if the map has it. Names match when equal after
        normalising case, spacing, punctuation and plurals ("Task groups" is "TaskGroup"),
        when one is the other qualified ("asyncio.TaskGroup" is "TaskGroup", while
        "str.join" is not "os.path.join"), or when prose names are `MERGE_RATIO` alike."""
        key = _key(name)
        entities = self.nodes("entity")
        if not key:
            return None
        for node in entities:
            if any(_key(alias) == key for alias in node.aliases):
                return node
        parts = _components(name)
        for node in entities:
            if _qualifies(parts, _components(node.text)):
                return node
        if _is_code(name):
            return None
        prose = {
            _key(alias): node
            for node in entities
            for alias in node.aliases
            if not _is_code(alias) and _digits(alias) == _digits(name)
        }
        close = difflib.get_close_matches(key, list(prose), n=1, cutoff=MERGE_RATIO)
        return prose[close[0]] if close else None

    def add_claim(self, text: str) -> MindMapNode:
        """The claim stating `text`; the same statement from another source is the same node."""
        text = " ".join(text.split())
        if not _key(text):
            raise ValueError(f"a claim needs a letter or digit, not {text!r}")
        node_id = "claim:" + hashlib.sha256(" ".join(_words(text)).encode()).hexdigest()[:12]
        if node_id not in self.graph:
            self.graph.add_node(node_id, node=MindMapNode(id=node_id, kind="claim", text=text))
        return self.node(node_id)

    def relate(
        self, head: str, relation: Relation, tail: str, provenance: Provenance
    ) -> MindMapEdge:
        """Add `head -relation-> tail`; asserting an existing edge again adds its provenance."""
        _check_edge(self._kind(head), relation, self._kind(tail))
        edge = MindMapEdge(head=head, relation=relation, tail=tail, provenance=(provenance,))
        return self._put_edge(edge)

    def query(self, question: str, *, max_tokens: int = 300) -> str:
        """Claims relevant to `question` with their sources, one per line, best first, at most
        `max_tokens` long (see `CHARS_PER_TOKEN`), e.g.
        `- asyncio.TaskGroup was added in Python 3.11 [source: https://docs.python.org/3/…]`.

        Claims are ranked by PageRank personalised on the entities the question names (by an
        alias, or the end of a qualified one) over their connected part of the map; with none
        named, by global PageRank.
        """
        words = _words(question)
        seeds = [node.id for node in self.nodes("entity") if _mentions(words, node)]
        graph = self.graph.to_undirected(as_view=True)
        if seeds:
            graph = graph.subgraph(
                set().union(*(nx.node_connected_component(graph, s) for s in seeds))
            )
        if not graph:
            return ""
        rank = nx.pagerank(graph, personalization=dict.fromkeys(seeds, 1.0) if seeds else None)
        claims = sorted(
            (n for n in self.graph if n in graph and self.node(n).kind == "claim"),
            key=lambda n: -rank[n],  # stable: ties keep the order claims were added in
        )
        return claim_lines([self._sourced(c) for c in claims], max_tokens * CHARS_PER_TOKEN)

    def clusters(self) -> list[Cluster]:
        """The map's communities that hold claims, most claims first (networkx's greedy
        modularity at `CLUSTER_RESOLUTION`: deterministic). Entities come most connected first."""
        communities = nx.community.greedy_modularity_communities(
            nx.Graph(self.graph), resolution=CLUSTER_RESOLUTION
        )
        clusters = []
        for community in communities:
            members = [self.node(n) for n in self.graph if n in community]
            claims = tuple(self._sourced(n.id) for n in members if n.kind == "claim")
            if claims:
                entities = sorted(
                    (n for n in members if n.kind == "entity"),
                    key=lambda n: -self.graph.degree(n.id),
                )
                clusters.append(Cluster(entities=tuple(entities), claims=claims))
        return sorted(clusters, key=lambda cluster: -len(cluster.claims))

    def to_json(self, path: StrPath) -> None:
        Path(path).write_text(self.data().model_dump_json(indent=2), encoding="utf-8")

    def to_graphml(self, path: StrPath) -> None:
        """Write GraphML (flat values: `aliases` and `provenance` are JSON strings)."""
        write_graphml(self, path)

    def to_png(self, path: StrPath) -> None:
        """Draw the map with matplotlib (an optional dependency)."""
        draw_png(self, path)

    def to_html(self, path: StrPath) -> None:
        """Write a standalone page (inline SVG, no scripts) with provenance in hover titles."""
        Path(path).write_text(draw_html(self), encoding="utf-8")

    def _kind(self, node_id: str) -> NodeKind | None:
        return self.node(node_id).kind if node_id in self.graph else None

    def _put_edge(self, edge: MindMapEdge) -> MindMapEdge:
        old = self.graph.get_edge_data(edge.head, edge.tail, key=edge.relation)
        if old is not None:
            provenance = tuple(dict.fromkeys((*old["edge"].provenance, *edge.provenance)))
            edge = old["edge"].model_copy(update={"provenance": provenance})
        self.graph.add_edge(edge.head, edge.tail, key=edge.relation, edge=edge)
        return edge

    def _sourced(self, claim_id: str) -> SourcedClaim:
        def heads(relation: Relation) -> tuple[MindMapNode, ...]:
            edges = self.graph.in_edges(claim_id, keys=True)
            return tuple(self.node(head) for head, _, key in edges if key == relation)

        return SourcedClaim(
            claim=self.node(claim_id),
            supported_by=heads("supports"),
            contradicted_by=heads("contradicts"),
        )


class Extraction(BaseModel):
    """What the model fills in for one quote: kept tiny so a 135M model can produce it."""

    entities: list[Annotated[str, Field(max_length=80)]] = Field(
        default_factory=list, max_length=MAX_ENTITIES
    )
    claims: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=MAX_CLAIMS
    )


async def ingest(
    mind_map: MindMap,
    evidence: Evidence,
    model: ModelClient | None,
    *,
    agent: str,
    source_text: str | None = None,
) -> Ingested:
    """Add `evidence` and the entities and claims of its quote to `mind_map`.

    The model's entities are kept only if they occur in the quote; its claims only if they are
    not one of its entities and have `MIN_CLAIM_WORDS` words, `GROUNDED` of which occur in the
    quote. Where nothing is left (or the model failed, or there is none), the names in the quote
    (`candidate_entities`) and the quote itself as the claim stand in. Every edge gets `agent`'s
    provenance, with the quote's offsets when `source_text` (the text it was quoted from)
    contains it.
    """
    quote = " ".join(evidence.quote.split())
    mind_map.add_evidence(evidence)
    if not _key(quote):
        return Ingested(evidence=evidence.id, fallback="the quote is empty")
    extraction, usage, problem = await _extract(quote, model, agent)
    entities = [name for name in extraction.entities if _key(name) and _occurs(name, quote)]
    names = {_key(name) for name in extraction.entities}
    claims = [c for c in extraction.claims if _grounded(c, quote) and _key(c) not in names]
    fallback = [problem] if problem else []
    if not entities:
        fallback += [] if problem else ["no entity from the model occurs in the quote"]
        entities = candidate_entities(quote)
    if not claims:
        fallback += [] if problem else ["no claim from the model is grounded in the quote"]
        claims = [quote]
    start = -1 if source_text is None else source_text.find(evidence.quote)
    offsets = (start, start + len(evidence.quote)) if start >= 0 else None
    provenance = Provenance(agent=agent, source=evidence.source, offsets=offsets)

    entity_ids = list(dict.fromkeys(mind_map.add_entity(name).id for name in entities))
    claim_ids = list(dict.fromkeys(mind_map.add_claim(text).id for text in claims))
    unlinked = set(entity_ids)
    for claim_id in claim_ids:
        mind_map.relate(evidence.id, "supports", claim_id, provenance)
        words = _words(mind_map.node(claim_id).text)
        for entity_id in entity_ids:
            if _mentions(words, mind_map.node(entity_id)):
                mind_map.relate(claim_id, "about", entity_id, provenance)
                unlinked.discard(entity_id)
    for entity_id in entity_ids:
        if entity_id in unlinked:
            mind_map.relate(evidence.id, "about", entity_id, provenance)
    return Ingested(
        evidence=evidence.id,
        entities=tuple(entity_ids),
        claims=tuple(claim_ids),
        usage=usage,
        fallback="; ".join(fallback),
    )


async def _extract(
    quote: str, model: ModelClient | None, agent: str
) -> tuple[Extraction, Usage, str]:
    if model is None:
        return Extraction(), Usage(), "no model"
    prompt = render("mindmap_extract", quote=quote[:MAX_PROMPT_CHARS])
    try:
        reply = await model.structured(prompt, Extraction, agent=agent)
    except ModelOutputError as exc:
        return Extraction(), exc.usage, f"the model gave no usable extraction: {exc}"
    return reply.value, reply.usage, ""


_QUOTED = re.compile(r"`([^`\n]{2,60})`|\"([^\"\n]{2,60})\"|“([^”\n]{2,60})”")
_CODE = re.compile(
    r"(?<![\w.])(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z]\w*_\w+|[A-Za-z_]\w*(?=\(\)))(?:\(\))?"
)
_PROPER = re.compile(
    r"(?<![\w.])[A-ZÀ-ÖØ-Þ][\w+#-]*(?:[ \t]+[A-ZÀ-ÖØ-Þ][\w+#-]*)*(?:[ \t]+v?\d+(?:\.\d+)*\b)?"
)
_QUALIFIED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?")
_LEADING = (
    "a an and as at after all also although because before but by each every for from he her "
    "here his how however i if in into it its many most my no not of on or our she since so "
    "some such that the their then there these they this those to we what when where which "
    "while who why with yes you your "
    "add avoid call check consider create first get install note prefer read return run see set "
    "try use"
)
"""Words dropped from the start of a capitalised run: function words ("The Python Software
Foundation") and the imperatives technical text starts sentences with ("Use Poetry")."""
_STOPWORDS = frozenset(_LEADING.split())


def candidate_entities(text: str) -> list[str]:
    """Name-like phrases in `text`, in order, at most `MAX_ENTITIES`: quoted terms (backticks,
    double quotes), code identifiers (`os.path.join`, `task_group`, `run()`) and runs of
    capitalised words with an optional version ("Python 3.11"), leading stopwords dropped.
    Needs no model and no download; sentence-initial ordinary words slip through."""
    spans: list[tuple[int, int, str]] = []

    def take(start: int, end: int, name: str) -> None:
        name = name.strip(" -")
        if re.search(r"[^\W\d_]", name) and all(end <= s or start >= e for s, e, _ in spans):
            spans.append((start, end, name))

    for match in _QUOTED.finditer(text):
        group = next(g for g in range(1, 4) if match.group(g) is not None)
        take(match.start(group), match.end(group), match.group(group))
    for match in _CODE.finditer(text):
        if len(match.group()) >= 4:  # not "e.g" or "i.e"
            take(match.start(), match.end(), match.group())
    for match in _PROPER.finditer(text):
        words = match.group().split()
        while words and words[0].casefold() in _STOPWORDS:
            words.pop(0)
        if words:
            take(match.end() - len(" ".join(words)), match.end(), " ".join(words))
    names = dict.fromkeys(name for _, _, name in sorted(spans))
    return list(names)[:MAX_ENTITIES]


def _check_edge(head: NodeKind | None, relation: str, tail: NodeKind | None) -> None:
    heads, tails = _ENDS[relation]
    if head not in heads or tail not in tails:
        raise ValueError(
            f"a {relation!r} edge runs from {' or '.join(sorted(heads))} "
            f"to {' or '.join(sorted(tails))}, not from {head or 'a missing node'} "
            f"to {tail or 'a missing node'}"
        )


def _words(text: str) -> list[str]:
    """Casefolded words of `text`, split at anything but letters and digits, singularised."""
    return [
        _singular(w) for w in re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).casefold())
    ]


def _singular(word: str) -> str:
    """A crude English singular: taskgroups → taskgroup, policies → policy, classes → class."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "is")):
        return word
    if word.endswith("us") and len(word) > 4:  # status, corpus (but GPUs → GPU)
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1]


def _key(name: str) -> str:
    """The normalised form names are compared by: "Task-Groups" → "taskgroup"."""
    return "".join(_words(name))


def _components(name: str) -> list[str]:
    """The normalised parts of a qualified name (os.path.join → os, path, join), else [key]."""
    if _QUALIFIED.fullmatch(name):
        return [_key(part) for part in name.removesuffix("()").split(".")]
    return [_key(name)]


def _qualifies(a: list[str], b: list[str]) -> bool:
    """Whether one qualified name ends with all of the other: [asyncio, taskgroup] ⊃ [taskgroup]."""
    short, long = sorted((a, b), key=len)
    return len(short) < len(long) and long[-len(short) :] == short


def _is_code(name: str) -> bool:
    return re.search(r"[._()]|[a-z][A-Z]", name) is not None


def _digits(name: str) -> str:
    return "".join(re.findall(r"\d", name))


def _mentions(words: list[str], entity: MindMapNode) -> bool:
    """Whether some words in a row of `words` name `entity`, by an alias or the end of a
    qualified one: "when were task groups added" names asyncio.TaskGroup."""
    keys: set[str] = set()
    for alias in entity.aliases:
        parts = _components(alias)
        keys.update("".join(parts[i:]) for i in range(len(parts)))
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined in keys:
                return True
            if not any(key.startswith(joined) for key in keys):
                break
    return False


def _occurs(name: str, quote: str) -> bool:
    return " ".join(name.split()).casefold() in quote.casefold()


def _grounded(claim: str, quote: str) -> bool:
    words, known = _words(claim), set(_words(quote))
    return len(words) >= MIN_CLAIM_WORDS and sum(w in known for w in words) >= GROUNDED * len(words)
