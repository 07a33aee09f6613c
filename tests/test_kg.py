"""Knowledge graph: sources, build, idempotent rebuild, stats, query, linking, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.main import main
from core.settings import Settings
from memory.kg.build import assemble
from memory.kg.linker import EntityLinker, medical_terms
from memory.kg.obo import read_obo
from memory.kg.sources import read_sources
from memory.kg.store import KGStore, normalise

pytestmark = pytest.mark.shared_data


@pytest.fixture
def kg_settings(home: Path, kg_store_dir: Path) -> Settings:
    return Settings(home=home, kg_path=kg_store_dir)


def test_sources_read_the_neoplasm_branch(kg_source: Path) -> None:
    data = read_sources(kg_source)
    assert "DOID:14566" in data.branch
    assert "DOID:3910" in data.branch
    assert "DOID:0040001" not in data.branch  # an allergy: outside the branch
    assert data.anatomy["DOID:3910"] == ("UBERON:0002048", "lung")
    rels = {r.predicate: r.object_label for r in data.relations["DOID:3910"]}
    assert rels["derives_from"] == "epithelial cell"


def test_graph_has_stable_ids_and_sourced_facts(kg_source: Path) -> None:
    g1 = assemble(read_sources(kg_source))
    g2 = assemble(read_sources(kg_source))
    assert [f.id for f in g1.facts] == [f.id for f in g2.facts]
    facts = {f.id: f for f in g1.facts}
    assert facts["DOID:3910#located_in#UBERON:0002048"].text == (
        "lung adenocarcinoma is located in the lung."
    )
    assert facts["DOID:3910#derives_from#CL:0000066"].object == "CL:0000066"
    assert facts["DOID:3910#is_a#DOID:299"].object == "DOID:299"
    curated = facts["HIST:luad-patterns"]
    assert curated.subject == "DOID:3910"
    assert "WHO Classification of Tumours" in curated.source
    assert all(f.source for f in g1.facts)
    names = {e.id: e for e in g1.entities}
    assert "mammary cancer" in names["DOID:1612"].synonyms
    assert set(g1.sources) >= {"doid_subset.obo", "histology_facts.toml"}


def test_store_counts_match_the_graph(kg_settings: Settings, kg_source: Path) -> None:
    graph = assemble(read_sources(kg_source))
    stats = KGStore(kg_settings).stats()
    assert stats.facts == len(graph.facts)
    assert stats.entities == len(graph.entities)
    assert stats.by_predicate["definition"] == sum(
        1 for f in graph.facts if f.predicate == "definition"
    )
    assert stats.embedding_model
    assert "MiniLM" in stats.embedding_model


def test_rebuild_is_idempotent_and_removes_stale_records(
    tmp_path: Path, kg_source: Path, kg_store_dir: Path
) -> None:
    import shutil

    copy = tmp_path / "kg"
    shutil.copytree(kg_store_dir, copy)
    settings = Settings(home=tmp_path / "home", kg_path=copy)
    graph = assemble(read_sources(kg_source))
    store = KGStore(settings)
    again = store.build(graph)
    assert (again.embedded, again.removed) == (0, 0)
    smaller = graph.model_copy(
        update={"facts": [f for f in graph.facts if f.subject != "DOID:684"]}
    )
    report = store.build(smaller)
    removed = sum(1 for f in graph.facts if f.subject == "DOID:684")
    assert report.removed == removed > 0
    assert report.embedded == 0
    assert store.facts_about("DOID:684") == []


def test_query_finds_the_fact_by_meaning(kg_settings: Settings) -> None:
    hits = KGStore(kg_settings).query_facts("what cells does lung adenocarcinoma come from", k=3)
    assert hits[0].fact.subject == "DOID:3910"
    assert hits[0].score > 0.6
    assert hits[0].score >= hits[-1].score


def test_linker_exact_synonym_spelling_and_threshold(kg_settings: Settings) -> None:
    linker = EntityLinker(KGStore(kg_settings), threshold=0.8)
    exact = linker.link("mammary cancer")
    assert (exact[0].entity, exact[0].method, exact[0].score) == ("DOID:1612", "exact", 1.0)
    assert linker.link("breast tumour")[0].entity == "DOID:1612"  # British spelling folded
    meaning = linker.link("adenocarcinoma of the lung")
    assert meaning
    assert meaning[0].entity == "DOID:3910"
    assert meaning[0].method == "hybrid"
    assert linker.link("quarterly tax return form") == []


def test_mentions_report_unlinked_medical_terms(kg_settings: Settings) -> None:
    linker = EntityLinker(KGStore(kg_settings), threshold=0.8)
    found = linker.mentions("Glands of lung adenocarcinoma infiltrate the lung.")
    assert {"DOID:3910", "UBERON:0002048"} <= found.entities
    assert found.unlinked == []
    invented = linker.mentions("This is a florbex quixoma of the lung.")
    assert invented.unlinked == ["florbex quixoma"]
    assert medical_terms("a schwannoma and a tumour") == ["schwannoma"]  # "tumour": generic
    assert normalise("Oesophageal  Tumour!") == "esophageal tumor"
    # a plural names the singular's entity; a disease said without "malignant" where the
    # ontology names only its benign and malignant kinds is the malignant one
    assert "DOID:3910" in linker.mentions("how are lung adenocarcinomas graded?").entities
    assert "DOID:1790" in linker.mentions("IHC panel for mesothelioma please").entities


def test_cli_build_stats_query_link(
    tmp_path: Path, kg_source: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("SMARTPATH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SMARTPATH_KG_PATH", str(tmp_path / "kg"))
    assert main(["kg", "query", "lung"]) == 2
    assert "run 'smartpath kg build" in capsys.readouterr().err
    assert main(["kg", "build", "--source", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not a folder" in err
    small = tmp_path / "small"
    from tests.fixtures.kg import write_subset

    shared = (kg_source / "doid" / "uberon_import.owl").resolve().parents[1]
    write_subset(shared, small, targets=("DOID:3910",))
    assert main(["kg", "build", "--source", str(small), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["facts"] > 0
    assert report["embedded"] > 0
    assert main(["kg", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["facts"] == report["facts"]
    assert main(["kg", "query", "cell of origin of lung adenocarcinoma", "-k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    assert hits[0]["fact"]["subject"] == "DOID:3910"
    assert main(["kg", "link", "adenocarcinoma of lung", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["entity"] == "DOID:3910"


def test_subset_keeps_real_stanzas(kg_source: Path) -> None:
    terms = read_obo(next((kg_source / "doid").glob("*.obo")))
    assert terms["DOID:3910"].definition
    assert "glandular" in terms["DOID:3910"].definition
    assert "DOID:14566" in terms


@pytest.mark.parametrize("damage", ["dangling link", "truncated archive"])
def test_cli_build_unreadable_source_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, damage: str
) -> None:
    """A source file that cannot be read gives one line and exit 2, never a traceback."""
    import gzip

    monkeypatch.setenv("SMARTPATH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SMARTPATH_KG_PATH", str(tmp_path / "kg"))
    source = tmp_path / "source"
    (source / "doid").mkdir(parents=True)
    release = source / "doid" / "doid_2024-01-31.obo.gz"
    if damage == "dangling link":
        release.symlink_to(tmp_path / "gone.obo.gz")
    else:
        whole = gzip.compress(b"format-version: 1.2\n\n[Term]\nid: DOID:14566\nname: x\n" * 50)
        release.write_bytes(whole[: len(whole) // 2])
    assert main(["kg", "build", "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "cannot read knowledge-graph source" in err
    assert "Traceback" not in err


def _chroma_facts_about(store: KGStore, subject: str) -> list:
    """What Chroma's metadata filter returns for ``subject`` (the reference for the index)."""
    from memory.kg.store import FACTS, _fact

    col = store._chroma().get_collection(FACTS, embedding_function=None)
    res = col.get(where={"subject": subject}, include=["documents", "metadatas"])
    rows = zip(res["ids"], res["documents"], res["metadatas"], strict=True)
    return sorted((_fact(*r) for r in rows), key=lambda f: f.id)


def test_subject_index_answers_as_chroma_and_is_rebuilt_when_stale(
    tmp_path: Path, kg_store_dir: Path
) -> None:
    import shutil
    import sqlite3

    copy = tmp_path / "kg"
    shutil.copytree(kg_store_dir, copy)
    index_file = copy / "subjects.sqlite3"
    assert index_file.is_file()  # written by the build, beside chroma.sqlite3
    store = KGStore(Settings(home=tmp_path / "home", kg_path=copy))
    subjects = ["DOID:3910", "DOID:1612", "DOID:684"]
    for subject in subjects:
        want = _chroma_facts_about(store, subject)
        assert want
        assert store.facts_about(subject) == want
    is_a = store.facts_about("DOID:3910", ("is_a",))
    assert is_a
    assert {f.predicate for f in is_a} == {"is_a"}
    assert store.facts([is_a[0].id, "nope#x"]) == [is_a[0]]
    assert {f.predicate for f in store.facts_with(["grading"])} == {"grading"}
    store.close()

    index_file.unlink()  # missing: rebuilt from Chroma at the first look-up
    store = KGStore(Settings(home=tmp_path / "home", kg_path=copy))
    assert store.facts_about("DOID:3910") == _chroma_facts_about(store, "DOID:3910")
    assert index_file.is_file()
    store.close()

    with sqlite3.connect(index_file) as conn:  # stale: another build's token, a fact lost
        conn.execute("UPDATE meta SET value = 'another-build' WHERE key = 'token'")
        conn.execute("DELETE FROM facts WHERE subject = 'DOID:1612'")
    conn.close()
    store = KGStore(Settings(home=tmp_path / "home", kg_path=copy))
    assert store.facts_about("DOID:1612") == _chroma_facts_about(store, "DOID:1612") != []
    store.close()


def test_query_embeddings_are_cached_per_process(kg_settings: Settings, monkeypatch) -> None:
    store = KGStore(kg_settings)
    embedder = store.embedder
    question = "which cells does a cholangiocarcinoma come from, cache test"
    first = store.query_facts(question, k=2)
    calls: list[list[str]] = []
    encode = embedder._encode
    monkeypatch.setattr(
        embedder, "_encode", lambda texts, **kw: calls.append(texts) or encode(texts, **kw)
    )
    again = store.query_facts(question, k=2)
    assert calls == []  # answered from the cache
    assert [h.fact.id for h in again] == [h.fact.id for h in first]
    mixed = embedder.encode([question, "a text not seen before"])
    assert calls == [["a text not seen before"]]
    assert mixed[0] == embedder.encode([question])[0]


def test_every_curated_abbreviation_names_an_entity_of_the_real_graph(shared_data: Path) -> None:
    """Each alias in memory/data/abbreviations.toml lands on a disease of the full neoplasm
    branch, under its abbreviation and every name it lists ("papillary thyroid cancer", which
    the Disease Ontology lacks, names thyroid gland papillary carcinoma)."""
    import tomllib

    aliases = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "memory" / "data" / "abbreviations.toml").read_text()
    )["aliases"]
    entities = {e.id: e for e in assemble(read_sources(shared_data / "kg")).entities}
    for alias in aliases:
        entity = entities[alias["subject"]]
        names = {n.lower() for n in (entity.name, *entity.synonyms)}
        wanted = [alias["abbreviation"], alias["expansion"], *alias.get("names", [])]
        assert {w.lower() for w in wanted} <= names, alias["abbreviation"]
    assert entities["DOID:3969"].name == "thyroid gland papillary carcinoma"
    assert "papillary thyroid cancer" in entities["DOID:3969"].synonyms
