"""Free visual questions (the ``vqa`` tool): routing, the opinion rule, no expert, a real expert.

A VQA expert's sentences are its opinion: the chain quotes them verbatim, marks each step
"model opinion (unverified)", and the turn is at best ``partial``. The served tests use a real
`transformers serve` hosting the tiny Qwen2.5-VL with an adapter trained to answer
`VQA_QUESTION` with `VQA_SENTENCES` (tests/fixtures/tiny_lora.py), and a real knowledge graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.claim_binding import claims_for
from agent.reasoner import compose_chain
from agent.state import ChainStep, Evidence, Plan, ReasoningChain
from agent.verifier import make_router, verify_chain
from app.runner import Copilot
from core.narration import OPINION_MARK
from core.settings import Settings
from tests.fixtures.model_server import ModelServer
from tests.fixtures.tiny_lora import VQA_QUESTION, VQA_REPO_ID, VQA_SENTENCES
from tests.test_cli import run
from tools.vqa import NO_VQA_EXPERT, VqaAnswer, VqaOutput, sentences_of

ANSWER = " ".join(VQA_SENTENCES)


def _evidence(answer: str = ANSWER) -> Evidence:
    out = VqaOutput(
        question=VQA_QUESTION,
        answers=[
            VqaAnswer(
                expert="vqa-tiny",
                backend="openai",
                model=VQA_REPO_ID,
                answer=answer,
                sentences=sentences_of(answer),
                error=None,
                seconds=0.4,
            )
        ],
        region_box=[100, 200, 1124, 1224],
        roi_number=1,
        region_index=None,
        mpp=0.5,
        notes=[],
    )
    return Evidence(
        id="E2.1",
        tool="vqa",
        ok=True,
        summary=f"vqa-tiny answered: {answer}",
        output=out.model_dump(mode="json"),
        expert="vqa-tiny",
        backend="openai",
    )


def vqa_expert(server: ModelServer) -> str:
    return f"""
[servers]
local = "{server.base_url}"

[[experts]]
name = "vqa-tiny"
task = "vqa"
backend = "openai"
server = "local"
model = "{VQA_REPO_ID}"
required = true
"""


def test_sentences_are_split_after_their_full_stop() -> None:
    assert sentences_of(ANSWER) == list(VQA_SENTENCES)
    assert sentences_of("Yes.  Several, e.g. at 3 o'clock!   Are they? 2 of them.") == [
        "Yes.",
        "Several, e.g. at 3 o'clock!",
        "Are they?",
        "2 of them.",
    ]


def test_an_answer_of_model_opinion_only_is_partial_never_verified() -> None:
    ev = _evidence()
    plan = Plan(request=VQA_QUESTION)
    chain = compose_chain([ev], plan)
    report = verify_chain(chain, [ev], [], chain.conclusion.text if chain.conclusion else "")
    texts = [s.text for s in chain.steps]
    assert texts[0] == (
        "The question “describe this region” was put about region #1 [100, 200, 1124, 1224]."
    )
    assert texts[1:3] == [f"Expert “vqa-tiny” says: “{s}” — {OPINION_MARK}." for s in VQA_SENTENCES]
    assert texts[3] == f"Expert “vqa-tiny” says about region #1: “{ANSWER}” — {OPINION_MARK}."
    assert report.status == "partial"
    assert report.step_status == {"S1": True, "S2": False, "S3": False, "S4": False}
    failed = {(c.step, c.name) for c in report.checks if not c.ok}
    assert failed == {("S2", "opinion"), ("S3", "opinion"), ("S4", "opinion")}
    assert all(OPINION_MARK in r for r in report.reasons)
    # the graph answers at once: no re-plan or rewrite turns an opinion into a finding
    route = make_router(3, rewrite=True)
    assert route({"verification": report.model_dump(), "attempts": 1}) == "respond"


def test_a_sentence_the_expert_did_not_say_is_rejected() -> None:
    ev = _evidence()
    said = "Expert “vqa-tiny” says: “No mitoses are seen.” — model opinion (unverified)."
    chain = ReasoningChain(
        steps=[
            ChainStep(
                id="S1",
                kind="conclude",
                text=said,
                claims=claims_for(said, ["E2.1"], {"E2.1": ev}, {}),
                evidence=["E2.1"],
            )
        ]
    )
    report = verify_chain(chain, [ev], [], said)
    assert report.status == "rejected"
    assert [c.detail for c in report.checks if c.name == "claims"] == ["quote not found in E2.1"]


def test_a_model_written_quote_of_the_answer_binds_as_opinion() -> None:
    ev = _evidence()
    text = f'The expert answered "{VQA_SENTENCES[0]}" and {VQA_SENTENCES[1]}'
    claims = claims_for(text, ["E2.1"], {"E2.1": ev}, {})
    assert [(c.kind, c.text) for c in claims] == [
        ("opinion", VQA_SENTENCES[0]),
        ("opinion", VQA_SENTENCES[1]),
    ]
    chain = ReasoningChain(
        steps=[ChainStep(id="S1", kind="conclude", text=text, claims=claims, evidence=["E2.1"])]
    )
    report = verify_chain(chain, [ev], [], text)
    assert report.status == "partial"
    assert [c.name for c in report.checks if not c.ok] == ["opinion"]


@pytest.mark.shared_data
def test_no_vqa_expert_is_one_honest_line_and_exit_3(home: Path, cmu_slide: Path) -> None:
    proc = run(home, "ask", str(cmu_slide), "are there any mitoses?", "--case", "c1")
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[-1] == f"error: {NO_VQA_EXPERT}"
    assert "Traceback" not in proc.stderr
    assert proc.stdout.splitlines()[0] == f"Not answered: {NO_VQA_EXPERT}"
    assert "I can" not in proc.stdout  # the help text is not the answer


def test_experts_list_and_serve_show_a_vqa_expert(home: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "vqa-adapter"
    path = home / "experts.toml"
    path.write_text(
        'base_model = "Qwen/Qwen2.5-VL-7B-Instruct"\n[servers]\nlocal = "http://127.0.0.1:9"\n'
        '[[experts]]\nname = "vqa-a"\ntask = "vqa"\nbackend = "openai"\nserver = "local"\n'
        f'model = "vqa-a"\nadapter_path = "{adapter}"\n'
    )
    env = {"SMARTPATH_EXPERTS_FILE": str(path)}
    listed = run(home, "experts", "list", "--json", **env)
    assert listed.returncode == 0, listed.stderr
    assert [(e["name"], e["task"]) for e in json.loads(listed.stdout)] == [("vqa-a", "vqa")]
    served = run(home, "experts", "serve", **env)
    assert served.returncode == 0, served.stderr
    assert f"--lora-modules vqa-a={adapter}" in served.stdout
    checked = run(home, "experts", "check", **env)
    assert checked.returncode == 0  # not required: named unavailable, not an error
    assert checked.stdout.startswith("vqa-a")
    assert "unavailable" in checked.stdout


@pytest.mark.slow
@pytest.mark.shared_data
def test_a_served_vqa_expert_answers_as_opinion_linked_to_the_kg(
    home: Path, cmu_slide: Path, kg_store_dir: Path, tiny_vqa_server: ModelServer
) -> None:
    path = home / "experts.toml"
    path.write_text(vqa_expert(tiny_vqa_server))
    settings = Settings(home=home, experts_file=path, kg_path=kg_store_dir, expert_timeout_s=120)
    copilot = Copilot(settings)
    try:
        copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "v1")
        r = copilot.ask(cmu_slide, VQA_QUESTION, "v1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert (ev["tool"], ev["expert"], ev["backend"]) == ("vqa", "vqa-tiny", "openai")
    assert ev["inputs"]["question"] == VQA_QUESTION
    assert ev["inputs"]["roi_number"] == 1
    (a,) = ev["output"]["answers"]
    assert (a["answer"], a["sentences"], a["error"]) == (ANSWER, list(VQA_SENTENCES), None)
    assert r.answer.startswith(
        f"Expert “vqa-tiny” says about region #1: “{ANSWER}” — {OPINION_MARK}."
    )
    said = [s for s in r.chain if any(c["kind"] == "opinion" for c in s["claims"])]
    assert [s["text"] for s in said[:2]] == [
        f"Expert “vqa-tiny” says: “{s}” — {OPINION_MARK}." for s in VQA_SENTENCES
    ]
    assert not any(s["verified"] for s in said)
    # the disease the second sentence names links to its knowledge-graph entity
    (link,) = [s for s in r.chain if s["text"].startswith("The expert's answer names")]
    assert link["text"] == (
        "The expert's answer names “colorectal adenocarcinoma”, which links to the "
        "knowledge-graph entity DOID:0050861 (exact match)."
    )
    assert link["verified"]
    assert ev["id"] in link["evidence"]
    assert {f["entity"] for f in r.facts} == {"DOID:0050861"}
    assert all(f["via_evidence"] == ev["id"] for f in r.facts)
    assert r.verification["status"] == "partial"
    failed = {c["name"] for c in r.verification["checks"] if not c["ok"]}
    assert failed == {"opinion"}
    assert r.exit_code == 0


@pytest.mark.slow
@pytest.mark.shared_data
def test_experts_check_finds_the_served_vqa_expert(
    home: Path, tiny_vqa_server: ModelServer
) -> None:
    path = home / "experts.toml"
    path.write_text(vqa_expert(tiny_vqa_server))
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 0, proc.stderr
    (status,) = json.loads(proc.stdout)
    assert (status["name"], status["ok"]) == ("vqa-tiny", True)
