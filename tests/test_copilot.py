"""The graph end to end in-process: real slides, SQLite checkpointer on a file, audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.deps import GraphDeps
from agent.graph import build_graph
from agent.reasoner import reason
from agent.state import CaseState
from app.runner import Copilot
from core.settings import Settings
from memory.audit import AuditLog
from memory.cases import CaseStore
from tools.registry import build_tools
from tools.slide_cache import SlideCache

pytestmark = pytest.mark.shared_data


def test_metadata_tissue_zoom_and_zoom_out(copilot: Copilot, cmu_slide: Path) -> None:
    r1 = copilot.ask(cmu_slide, "What is the size, magnification and resolution?", "c1")
    assert r1.verification["status"] == "verified"
    out = r1.evidence[0]["output"]
    assert (out["width_px"], out["height_px"], out["mpp_x"], out["objective_power"]) == (
        2220,
        2967,
        0.499,
        20.0,
    )
    assert "2220 × 2967" in r1.answer
    assert "0.499 µm/px" in r1.answer
    assert "20x" in r1.answer
    r2 = copilot.ask(cmu_slide, "What is the tissue fraction?", "c1")
    frac = r2.evidence[0]["output"]["tissue_fraction"]
    assert f"{100 * frac:.1f}%" in r2.answer
    r3 = copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "c1")
    z3 = r3.evidence[0]["output"]
    assert z3["magnification"] == 20
    assert z3["level"] == 0
    assert Path(r3.artifacts[0]).is_file()
    r4 = copilot.ask(cmu_slide, "zoom out to 5x around the same region", "c1")
    z4 = r4.evidence[0]["output"]
    assert z4["magnification"] == 5
    assert z4["downsample"] == 4
    assert z4["roi_number"] == 1
    box3, box4 = z3["box"], z4["box"]
    assert box4[0] <= box3[0]
    assert box4[1] <= box3[1]
    assert box4[2] >= box3[2]
    assert box4[3] >= box3[3]
    for r in (r1, r2, r3, r4):
        assert r.verification["status"] == "verified", r.verification["reasons"]
        assert all(step["verified"] for step in r.chain)
    assert [r.turn for r in (r1, r2, r3, r4)] == [1, 2, 3, 4]


def test_case_survives_a_new_process_object(home: Path, cmu_slide: Path) -> None:
    first = Copilot(Settings(home=home))
    first.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "c2")
    first.close()
    second = Copilot(Settings(home=home))
    try:
        r = second.ask(cmu_slide, "go back to the first region", "c2")
        record, state = second.case("c2")
    finally:
        second.close()
    assert r.turn == 2
    assert r.evidence[0]["output"]["roi_number"] == 1
    assert record is not None
    assert record.turns == 2
    assert [f["turn"] for f in state["findings"]] == [1, 2]


def test_audit_log_records_the_turn(copilot: Copilot, cmu_slide: Path) -> None:
    copilot.ask(cmu_slide, "How much tissue is there?", "c3")
    records = [json.loads(x) for x in copilot.audit.path("c3").read_text().splitlines()]
    assert [r["kind"] for r in records] == ["request", "tool_call", "turn"]
    call = records[1]
    assert call["tool"] == "tissue"
    assert call["ok"]
    assert call["seconds"] > 0
    assert len(call["output_sha256"]) == 64
    turn = records[2]
    assert turn["plan"]["steps"][0]["tool"] == "tissue"
    assert turn["verification"]["status"] == "verified"
    assert turn["answer"].startswith("Tissue covers")


def test_slide_without_mpp_says_unknown(copilot: Copilot, shared_data: Path) -> None:
    slide = shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs"
    r = copilot.ask(slide, "What is the resolution and magnification?", "c4")
    assert r.evidence[0]["output"]["mpp_x"] is None
    assert "resolution unknown" in r.answer
    assert "magnification unknown" in r.answer
    assert "µm/px," not in r.answer
    assert r.verification["status"] == "verified"
    z = copilot.ask(slide, "zoom to the largest tissue region at 20x", "c4")
    assert z.evidence[0]["output"]["magnification"] is None
    assert "cannot be resolved" in z.answer


def test_tool_failure_is_failed_evidence_not_a_crash(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "zoom to (99999, 99999) at 20x", "c5")
    (ev,) = r.evidence
    assert not ev["ok"]
    assert ev["error_kind"] == "input"
    assert "off the slide" in ev["error"]
    assert r.exit_code == 2
    assert "off the slide" in r.answer


def test_failed_verification_routes_back_to_the_planner(home: Path, cmu_slide: Path) -> None:
    calls: list[int] = []

    def bad_reasoner(state: CaseState) -> dict[str, Any]:
        calls.append(state.get("attempts", 0))
        out = reason(state)
        out["chain"]["steps"][0]["evidence"] = ["E9.9"]  # cite evidence that does not exist
        return out

    settings = Settings(home=home, verify_budget=1)
    store = CaseStore(settings.cases_db)
    deps = GraphDeps(
        settings=settings,
        tools=build_tools(settings),
        slides=SlideCache(),
        audit=AuditLog(settings.audit_dir),
        reasoner=bad_reasoner,
    )
    graph = build_graph(deps).compile(checkpointer=store.checkpointer)
    final = graph.invoke(
        {
            "request": "What is the size?",
            "slide_path": str(cmu_slide),
            "slide": {"slide_id": "x", "name": "CMU", "path": str(cmu_slide)},
        },
        {"configurable": {"thread_id": "loop"}},
        durability="sync",
    )
    store.close()
    assert calls == [0, 1]  # one re-plan within the budget, then the answer goes out flagged
    assert final["attempts"] == 2
    assert final["verification"]["status"] == "partial"
    assert final["verification"]["step_status"]["S1"] is False


def test_a_box_past_the_slide_edge_is_clipped_and_said(copilot: Copilot, cmu_slide: Path) -> None:
    """Part of the box is on the slide: that part is analysed, with a note; a box written by
    its named corners is that box, not two quadrants."""
    r = copilot.ask(cmu_slide, "count the nuclei in box [-500,-500,600,600]", "clip1")
    assert r.exit_code == 0
    detect = next(e for e in r.evidence if e["tool"] == "detect")
    assert detect["ok"], detect["error"]
    assert detect["output"]["region_box"] == [0, 0, 600, 600]
    assert "runs past the slide's edges" in r.answer
    corners = copilot.ask(
        cmu_slide, "nuclei in box top-left (1000,1200) bottom-right (1400,1500), count", "clip2"
    )
    boxes = [e["output"]["region_box"] for e in corners.evidence if e["tool"] == "detect"]
    assert boxes == [[1000, 1200, 1400, 1500]]
