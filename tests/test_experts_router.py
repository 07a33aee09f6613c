"""Expert config loading and the router's gating and combination rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError, ToolInputError, ToolServerError
from tools.experts import ExpertsConfig, load_experts
from tools.router import Router, ScoredBox, combine_boxes, combine_labels

CONFIG = """
[servers]
gpu = "http://127.0.0.1:8000/v1"

[[experts]]
name = "cls-a"
task = "roi_classify"
backend = "openai"
server = "gpu"
model = "roi-cls-lora"
parser = "label"
labels = ["tumor", "stroma"]
weight = 2.0

[[experts]]
name = "cls-b"
task = "roi_classify"
backend = "cpu"
implementation = "colour_rules"
labels = ["tumor", "stroma"]

[[experts]]
name = "wsi"
task = "wsi_classify"
scale = "wsi"
backend = "openai"
server = "gpu"
model = "wsi-lora"
required = true
"""


@pytest.fixture
def config(tmp_path: Path) -> ExpertsConfig:
    path = tmp_path / "experts.toml"
    path.write_text(CONFIG)
    return load_experts(path)


def test_builtin_config_loads() -> None:
    names = [e.name for e in load_experts().experts]
    assert "cpu-nuclei-watershed" in names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[experts]]\nname = 'x'\ntask = 'detect'\nbackend = 'cpu'\n", "needs 'implementation'"),
        ("[[experts]]\nname = 'x'\ntask = 'fly'\nbackend = 'cpu'\n", "experts.0.task"),
        ("[[experts]\nname = 'x'", "line 1"),
        (
            "[[experts]]\nname='x'\ntask='vqa'\nbackend='openai'\nmodel='m'\nserver='nope'\n",
            "does not define",
        ),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_experts(path)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the experts file"):
        load_experts(tmp_path / "absent.toml")


def test_router_orders_by_weight_and_gates_by_availability(config: ExpertsConfig) -> None:
    router = Router(config, available=lambda e: True)
    assert [e.name for e in router.select("roi_classify")] == ["cls-a", "cls-b"]
    assert [e.name for e in router.select("roi_classify", limit=1)] == ["cls-a"]
    assert [e.name for e in router.select("roi_classify", prefer="cls-b")] == ["cls-b"]
    only_cpu = Router(config, available=lambda e: e.backend == "cpu")
    assert [e.name for e in only_cpu.select("roi_classify")] == ["cls-b"]
    contributions = router.contributions(router.select("roi_classify"))
    assert [(c.expert, c.weight) for c in contributions] == [("cls-a", 0.6667), ("cls-b", 0.3333)]


def test_router_errors(config: ExpertsConfig) -> None:
    down = Router(config, available=lambda e: False)
    with pytest.raises(ToolServerError, match="wsi"):
        down.select("wsi_classify", "wsi")
    with pytest.raises(ToolServerError, match="cls-a, cls-b"):
        down.select("roi_classify")
    up = Router(config, available=lambda e: True)
    with pytest.raises(ToolServerError, match="no expert is configured for vqa"):
        up.select("vqa")
    with pytest.raises(ToolInputError, match="configured: cls-a, cls-b"):
        up.select("roi_classify", prefer="nobody")


def test_combine_labels_averages_and_votes() -> None:
    label, probs = combine_labels(
        [{"tumor": 0.6, "stroma": 0.4}, {"tumor": 0.2, "stroma": 0.8}], [2.0, 1.0]
    )
    assert label == "stroma"  # (2*0.4 + 0.8) / 3 beats (2*0.6 + 0.2) / 3
    assert probs["tumor"] == pytest.approx(1.4 / 3)
    assert probs["stroma"] == pytest.approx(1.6 / 3)
    label, probs = combine_labels(["stroma", "tumor", "stroma"], [1, 1, 1])
    assert label == "stroma"
    assert probs["stroma"] == pytest.approx(2 / 3)


def test_combine_boxes_is_union_then_nms() -> None:
    boxes = [
        ScoredBox((0, 0, 10, 10), 0.9, "nucleus", "a"),
        ScoredBox((1, 1, 11, 11), 0.95, "nucleus", "b"),  # same object, weaker expert
        ScoredBox((50, 50, 60, 60), 0.5, "nucleus", "b"),  # only b found it
        ScoredBox((0, 0, 10, 10), 0.4, "mitosis", "b"),  # other label: kept
    ]
    kept = combine_boxes(boxes, {"a": 2.0, "b": 1.0})
    assert [(b.expert, b.box) for b in kept] == [
        ("a", (0, 0, 10, 10)),
        ("b", (50, 50, 60, 60)),
        ("b", (0, 0, 10, 10)),
    ]
