"""The mind map: ingest (model and fallback), merging, provenance, ranking, export and drawing."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import xml.etree.ElementTree as ET
from datetime import UTC
from pathlib import Path

import networkx as nx
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import ValidationError

from codehelm.agents.mindmap import (
    CHARS_PER_TOKEN,
    MIND_MAP_TYPES,
    Extraction,
    MindMap,
    MindMapData,
    MindMapEdge,
    Provenance,
    candidate_entities,
    ingest,
)
from codehelm.errors import ConfigError
from codehelm.messages import Evidence
from codehelm.models import ScriptedModel
from codehelm.prompts import render

TASKGROUP = "asyncio.TaskGroup was added in Python 3.11."
DOCS = "https://docs.python.org/3/library/asyncio-task.html"


def extraction(entities: list[str], claims: list[str]) -> str:
    return json.dumps({"entities": entities, "claims": claims})


def entity_names(mind_map: MindMap) -> list[str]:
    return [node.text for node in mind_map.nodes("entity")]


def relations(mind_map: MindMap) -> set[tuple[str, str, str]]:
    return {(e.head, e.relation, e.tail) for e in mind_map.edges()}


async def build(*facts: tuple[str, str]) -> MindMap:
    """A map of `(source, quote)` facts, ingested without a model."""
    mind_map = MindMap()
    for source, quote in facts:
        await ingest(mind_map, Evidence(source=source, quote=quote), None, agent="researcher")
    return mind_map


# --- ingest ------------------------------------------------------------------------------


async def test_ingest_keeps_the_models_entities_and_claims() -> None:
    model = ScriptedModel(
        {"mapper": [extraction(["asyncio.TaskGroup", "Python 3.11"], [TASKGROUP.rstrip(".")])]}
    )
    mind_map = MindMap()
    evidence = Evidence(source=DOCS, quote=TASKGROUP)

    done = await ingest(mind_map, evidence, model, agent="mapper")

    assert done.fallback == ""
    assert done.usage.calls == 1
    assert entity_names(mind_map) == ["asyncio.TaskGroup", "Python 3.11"]
    [claim] = mind_map.nodes("claim")
    assert claim.text == "asyncio.TaskGroup was added in Python 3.11"
    assert done.claims == (claim.id,)
    assert relations(mind_map) == {
        (evidence.id, "supports", claim.id),
        (claim.id, "about", "entity:asynciotaskgroup"),
        (claim.id, "about", "entity:python311"),
    }
    evidence_node = mind_map.node(evidence.id)
    assert (evidence_node.kind, evidence_node.text, evidence_node.source) == (
        "evidence",
        TASKGROUP,
        DOCS,
    )
    [(agent, prompt)] = model.calls
    assert agent == "mapper"
    assert [m["role"] for m in prompt] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert prompt[-1]["content"] == f"Text: {TASKGROUP}"


async def test_invented_entities_and_claims_are_dropped() -> None:
    reply = extraction(
        ["Guido van Rossum", "asyncio.TaskGroup"], ["asyncio.TaskGroup was removed in Python 2"]
    )
    mind_map = MindMap()

    done = await ingest(
        mind_map, Evidence(source=DOCS, quote=TASKGROUP), ScriptedModel({"*": [reply]}), agent="m"
    )

    assert entity_names(mind_map) == ["asyncio.TaskGroup"]
    assert [c.text for c in mind_map.nodes("claim")] == [TASKGROUP]
    assert "no claim from the model is grounded" in done.fallback
    assert "entity" not in done.fallback


async def test_a_name_is_not_a_claim() -> None:
    """SmolLM2-135M lists the entities again as claims."""
    quote = "The Rust compiler rustc checks borrowing at compile time."
    names = ["rustc", "The Rust compiler"]
    reply = extraction(names, [*names, "compile time", "rustc checks borrowing"])
    mind_map = MindMap()

    await ingest(
        mind_map, Evidence(source="s", quote=quote), ScriptedModel({"*": [reply]}), agent="m"
    )

    assert [c.text for c in mind_map.nodes("claim")] == ["rustc checks borrowing"]


async def test_a_garbage_reply_falls_back_to_the_quote_and_still_costs() -> None:
    model = ScriptedModel({"mapper": ["Sure! The entities are TaskGroup and Python."]})
    mind_map = MindMap()

    done = await ingest(mind_map, Evidence(source=DOCS, quote=TASKGROUP), model, agent="mapper")

    assert "no usable extraction" in done.fallback
    assert done.usage.calls == 3  # the first reply and two repairs
    assert entity_names(mind_map) == ["asyncio.TaskGroup", "Python 3.11"]
    assert [c.text for c in mind_map.nodes("claim")] == [TASKGROUP]


async def test_an_empty_extraction_falls_back() -> None:
    model = ScriptedModel({"mapper": [extraction([], [])]})
    mind_map = MindMap()

    done = await ingest(mind_map, Evidence(source=DOCS, quote=TASKGROUP), model, agent="mapper")

    assert "no entity from the model" in done.fallback
    assert entity_names(mind_map) == ["asyncio.TaskGroup", "Python 3.11"]


async def test_without_a_model_the_quote_is_the_claim() -> None:
    mind_map = MindMap()

    done = await ingest(mind_map, Evidence(source=DOCS, quote=TASKGROUP), None, agent="mapper")

    assert done.fallback == "no model"
    assert done.usage.calls == 0
    assert entity_names(mind_map) == ["asyncio.TaskGroup", "Python 3.11"]
    [claim] = mind_map.nodes("claim")
    assert claim.text == TASKGROUP
    assert {(h, r) for h, r, t in relations(mind_map) if t.startswith("entity:")} == {
        (claim.id, "about")
    }


async def test_an_entity_no_claim_mentions_hangs_off_the_evidence() -> None:
    reply = extraction(["Python 3.11", "asyncio.TaskGroup"], ["TaskGroup was added"])
    mind_map = MindMap()
    evidence = Evidence(source=DOCS, quote=TASKGROUP)

    await ingest(mind_map, evidence, ScriptedModel({"*": [reply]}), agent="m")

    assert (evidence.id, "about", "entity:python311") in relations(mind_map)
    claim = mind_map.nodes("claim")[0].id
    assert (claim, "about", "entity:asynciotaskgroup") in relations(mind_map)


async def test_an_empty_quote_adds_only_the_evidence() -> None:
    mind_map = MindMap()
    model = ScriptedModel({"*": [extraction(["x"], ["x"])]})

    done = await ingest(mind_map, Evidence(source="s", quote="  \n"), model, agent="m")

    assert [n.kind for n in mind_map.nodes()] == ["evidence"]
    assert model.calls == []
    assert done.claims == ()


async def test_evidence_can_be_ingested_concurrently() -> None:
    quotes = [TASKGROUP, "TaskGroup cancels its other tasks.", "Marie Curie found Polonium."]
    model = ScriptedModel({"*": [extraction([], [])]})
    mind_map = MindMap()

    await asyncio.gather(
        *(
            ingest(mind_map, Evidence(source=f"s{i}", quote=q), model, agent="m")
            for i, q in enumerate(quotes)
        )
    )

    assert len(mind_map.nodes("evidence")) == len(mind_map.nodes("claim")) == 3
    assert len(model.calls) == 3
    entity = mind_map.find_entity("TaskGroup")
    assert entity is not None
    assert len([e for e in mind_map.edges() if e.tail == entity.id]) == 2


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (TASKGROUP, ["asyncio.TaskGroup", "Python 3.11"]),
        (
            "The Python Software Foundation hosts PyPI.",
            ["Python Software Foundation", "PyPI"],
        ),
        (
            "Call os.path.join() or task_group, e.g. run() in C++ and GPT-4.",
            ["os.path.join()", "task_group", "run()", "C++", "GPT-4"],
        ),
        ('Use `uv sync` and the "lock file" with Poetry.', ["uv sync", "lock file", "Poetry"]),
        ("In Python 3.12 it is faster.", ["Python 3.12"]),
        ("nothing here is named.", []),
    ],
)
def test_candidate_entities(text: str, names: list[str]) -> None:
    assert candidate_entities(text) == names


def test_candidate_entities_are_capped() -> None:
    text = " ".join(f"Name{i} met Other{i}." for i in range(20))
    assert len(candidate_entities(text)) == 8


# --- provenance --------------------------------------------------------------------------


async def test_every_edge_carries_its_provenance() -> None:
    page = f"Changelog.\n{TASKGROUP}\nMore text."
    first = Evidence(source=DOCS, quote=TASKGROUP)
    second = Evidence(source="notes/asyncio.md", quote=TASKGROUP)
    mind_map = MindMap()

    await ingest(mind_map, first, None, agent="searcher", source_text=page)
    await ingest(mind_map, second, None, agent="reader")

    [claim] = mind_map.nodes("claim")  # one statement from two sources is one claim
    by_head = {e.head: e for e in mind_map.edges() if e.relation == "supports"}
    assert set(by_head) == {first.id, second.id}
    [found] = by_head[first.id].provenance
    assert (found.agent, found.source) == ("searcher", DOCS)
    assert found.offsets is not None
    assert page[found.offsets[0] : found.offsets[1]] == TASKGROUP
    assert found.added_at.tzinfo == UTC
    [read] = by_head[second.id].provenance
    assert (read.agent, read.source, read.offsets) == ("reader", "notes/asyncio.md", None)
    about = [e for e in mind_map.edges() if e.head == claim.id]
    assert about and all({p.agent for p in e.provenance} == {"searcher", "reader"} for e in about)


def test_asserting_an_edge_again_adds_provenance() -> None:
    mind_map = MindMap()
    claim = mind_map.add_claim("TaskGroup cancels on error")
    entity = mind_map.add_entity("TaskGroup")
    mind_map.relate(claim.id, "about", entity.id, Provenance(agent="a", source="s1"))
    edge = mind_map.relate(claim.id, "about", entity.id, Provenance(agent="b", source="s2"))

    assert [p.source for p in edge.provenance] == ["s1", "s2"]
    assert mind_map.edges() == [edge]


def test_edges_must_join_the_right_kinds_of_node() -> None:
    mind_map = MindMap()
    claim = mind_map.add_claim("TaskGroup cancels on error")
    entity = mind_map.add_entity("TaskGroup")
    provenance = Provenance(agent="a", source="s")

    with pytest.raises(ValueError, match="'about' edge runs from claim or evidence to entity"):
        mind_map.relate(entity.id, "about", claim.id, provenance)
    with pytest.raises(ValueError, match="a missing node"):
        mind_map.relate(claim.id, "supports", "claim:nope", provenance)
    with pytest.raises(ValidationError, match="'supports' edge"):
        MindMapData(
            nodes=(claim,),
            edges=(
                MindMapEdge(
                    head="gone", relation="supports", tail=claim.id, provenance=(provenance,)
                ),
            ),
        )
    with pytest.raises(ValidationError, match="offsets"):
        Provenance(agent="a", source="s", offsets=(5, 2))


# --- merging -----------------------------------------------------------------------------


def test_near_duplicate_entities_merge_keeping_every_alias() -> None:
    mind_map = MindMap()
    names = ["TaskGroup", "taskgroups", "Task groups", "asyncio.TaskGroup", "TASK-GROUP"]

    ids = {mind_map.add_entity(name).id for name in names}

    [entity] = mind_map.nodes("entity")
    assert ids == {entity.id}
    assert entity.text == "asyncio.TaskGroup"  # the most qualified name
    assert entity.aliases == tuple(names)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("colour", "color", True),  # spelling variants: difflib ratio 0.91
        ("Tchaikovsky", "Tchaikowsky", True),
        ("join", "os.path.join", True),  # the unqualified name of a qualified one
        ("Windows Server 2016", "Windows Server 2019", False),  # 0.94 alike, other digits
        ("Python 3.11", "Python 3.12", False),
        ("str.split", "str.rsplit", False),  # code never merges on similarity
        ("str.join", "os.path.join", False),  # neither qualifies the other
        ("asyncio", "asyncio.TaskGroup", False),  # a module is not its class
        ("Java", "JavaScript", False),
    ],
)
def test_what_merges(first: str, second: str, same: bool) -> None:
    mind_map = MindMap()
    assert (mind_map.add_entity(first).id == mind_map.add_entity(second).id) is same


async def test_merging_keeps_every_edge_and_its_provenance() -> None:
    mind_map = await build(
        ("a.md", "TaskGroup waits for its tasks."),
        ("b.md", "The `taskgroups` feature cancels siblings."),
        ("c.md", "Prefer asyncio.TaskGroup over gather."),
    )

    entity = mind_map.find_entity("TaskGroup")
    assert entity is not None
    assert entity.text == "asyncio.TaskGroup"
    about = [e for e in mind_map.edges() if e.tail == entity.id]
    assert sorted(p.source for e in about for p in e.provenance) == ["a.md", "b.md", "c.md"]


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="letter or digit"):
        MindMap().add_entity(" -- ")
    with pytest.raises(ValueError, match="letter or digit"):
        MindMap().add_claim("...")


# --- query and clusters ------------------------------------------------------------------


async def test_personalised_pagerank_ranks_the_questions_neighbourhood_first() -> None:
    # A chain Alpha - Beta - Gamma - Delta, and Curie apart from it.
    mind_map = await build(
        ("s1", "Delta is stored in Gamma."),
        ("s2", "Gamma relies on Beta."),
        ("s3", "Alpha calls Beta."),
        ("s4", "Alpha runs fast."),
        ("s5", "Marie Curie discovered Polonium."),
    )

    lines = mind_map.query("how fast is alpha?").splitlines()

    claims = [line.split(" [")[0] for line in lines]
    assert set(claims[:2]) == {"- Alpha runs fast.", "- Alpha calls Beta."}
    assert claims[2:] == ["- Gamma relies on Beta.", "- Delta is stored in Gamma."]
    assert lines[2].endswith("[source: s2]") and lines[3].endswith("[source: s1]")
    everything = mind_map.query("what about nothing in particular?")
    assert len(everything.splitlines()) == 5  # no entity named: global PageRank over all


async def test_the_question_may_name_an_entity_by_any_alias() -> None:
    mind_map = await build((DOCS, TASKGROUP), ("other", "Marie Curie discovered Polonium."))

    assert mind_map.query("When were task groups added?") == f"- {TASKGROUP} [source: {DOCS}]"


@pytest.mark.parametrize("max_tokens", [8, 20, 45, 80, 300])
async def test_query_keeps_to_the_token_budget(max_tokens: int) -> None:
    mind_map = await build(
        *[(f"s{i}", f"Widget{i} talks to Hub in about {i} milliseconds.") for i in range(12)]
    )

    text = mind_map.query("What talks to Hub?", max_tokens=max_tokens)

    assert math.ceil(len(text) / CHARS_PER_TOKEN) <= max_tokens
    lines = text.splitlines()
    assert all(line.startswith("- ") and "[source: s" in line for line in lines)
    if max_tokens >= 20:
        assert lines
    if max_tokens == 300:
        assert len(lines) == 12


async def test_an_empty_map_answers_nothing() -> None:
    assert MindMap().query("anything?") == ""
    assert MindMap().clusters() == []


async def test_contradictions_are_shown() -> None:
    mind_map = await build((DOCS, TASKGROUP))
    claim = mind_map.nodes("claim")[0]
    doubt = Evidence(source="blog", quote="TaskGroup came with 3.10")
    mind_map.add_evidence(doubt)
    mind_map.relate(doubt.id, "contradicts", claim.id, Provenance(agent="v", source="blog"))

    assert mind_map.query("TaskGroup?").endswith(f"[source: {DOCS}] [contradicted by: blog]")


async def test_clusters_group_claims_by_topic_with_their_evidence() -> None:
    mind_map = await build(
        ("py1", "asyncio.TaskGroup was added in Python 3.11."),
        ("py2", "TaskGroup cancels the other tasks on error."),
        ("py3", "Python 3.11 is faster than Python 3.10."),
        ("c1", "Marie Curie discovered Polonium."),
        ("c2", "Marie Curie won two Nobel Prizes."),
    )

    clusters = mind_map.clusters()

    assert len(clusters) == 2
    python, curie = clusters
    assert len(python.claims) == 3
    assert python.entities[0].text in {"asyncio.TaskGroup", "Python 3.11"}
    assert curie.entities[0].text == "Marie Curie"
    assert {e.source for c in curie.claims for e in c.supported_by} == {"c1", "c2"}
    assert all(c.claim.kind == "claim" for c in python.claims)


# --- persistence and export --------------------------------------------------------------


async def example() -> MindMap:
    mind_map = MindMap()
    await ingest(
        mind_map,
        Evidence(source=DOCS, quote=TASKGROUP),
        None,
        agent="searcher",
        source_text=f"News: {TASKGROUP}",
    )
    await ingest(
        mind_map, Evidence(source="r.md", quote="Marie <Curie> & Polonium"), None, agent="r"
    )
    return mind_map


async def test_data_round_trips_through_json_and_checkpoints(tmp_path: Path) -> None:
    mind_map = await example()
    data = mind_map.data()

    assert MindMapData.model_validate(data.model_dump(mode="json")) == data
    mind_map.to_json(tmp_path / "map.json")
    assert MindMap.from_json(tmp_path / "map.json").data() == data
    serde = JsonPlusSerializer(allowed_msgpack_modules=[*MIND_MAP_TYPES])
    assert serde.loads_typed(serde.dumps_typed({"mind_map": data})) == {"mind_map": data}


async def test_graphml_is_readable_by_networkx(tmp_path: Path) -> None:
    mind_map = await example()

    mind_map.to_graphml(tmp_path / "map.graphml")
    graph = nx.read_graphml(tmp_path / "map.graphml", force_multigraph=True)

    assert set(graph.nodes) == {n.id for n in mind_map.nodes()}
    assert graph.number_of_edges() == len(mind_map.edges())
    assert json.loads(graph.nodes["entity:asynciotaskgroup"]["aliases"]) == ["asyncio.TaskGroup"]
    for head, tail, attributes in graph.edges(data=True):
        [provenance] = json.loads(attributes["provenance"])
        edge = next(e for e in mind_map.edges() if (e.head, e.tail) == (head, tail))
        assert attributes["relation"] == edge.relation
        assert Provenance.model_validate(provenance) == edge.provenance[0]


async def test_png_is_drawn(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    (await example()).to_png(tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_png_without_matplotlib_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.patches"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match="pip install matplotlib"):
        (await example()).to_png(tmp_path / "map.png")


async def test_html_is_a_standalone_page_with_provenance(tmp_path: Path) -> None:
    mind_map = await example()

    mind_map.to_html(tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text()

    assert "<script" not in page and "http://" not in page.replace('xmlns="http://', "")
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])
    titles = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert any("searcher" in t and DOCS in t and "chars 6–49" in t for t in titles)
    assert any("Marie <Curie> & Polonium" in t for t in titles)  # escaped, parsed back
    circles = list(svg.iter("{http://www.w3.org/2000/svg}circle"))
    assert len(circles) == len(mind_map.nodes()) + 3  # and the legend's three kinds


# --- the prompt --------------------------------------------------------------------------


def test_the_prompts_examples_teach_the_schema() -> None:
    turns = render("mindmap_extract", quote="some text")

    assert turns[0]["role"] == "system"
    assert turns[-1] == {"role": "user", "content": "Text: some text"}
    pairs = zip(turns[1:-1:2], turns[2:-1:2], strict=True)
    for user, assistant in pairs:
        shown = Extraction.model_validate_json(assistant["content"])
        assert shown.entities and shown.claims
        assert all(name in user["content"] for name in shown.entities)
