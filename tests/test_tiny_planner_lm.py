"""A tiny Qwen2 trained to make given tool calls, served by a real `transformers serve`.

Pins down that the served model answers `/v1/chat/completions` (with `tools`) with structured
`tool_calls` parsed from its Hermes `<tool_call>` text, and with plain `content` after a tool
result, exactly as it was trained to.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.tiny_planner_lm import (
    TrainingExample,
    build_tool_calling_lm,
    serve_tool_calling_lm,
)

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.slow

SYSTEM = "You are SmartPath, a pathology co-pilot. Use the tools to navigate the slide."


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


TOOLS = [
    _tool(
        "zoom",
        "Zoom the viewer to a magnification, centred on a target: the whole slide, the largest "
        "tissue region, or given level-0 pixel coordinates.",
        {
            "target": {"type": "string", "enum": ["slide", "largest_tissue", "point"]},
            "magnification": {"type": "number", "description": "Objective power, e.g. 5, 10, 20."},
            "x": {"type": "integer", "description": "Level-0 x in pixels (target=point)."},
            "y": {"type": "integer", "description": "Level-0 y in pixels (target=point)."},
        },
        ["target"],
    ),
    _tool(
        "slide_info",
        "Return the slide's size in pixels, its magnification, resolution (µm/px) and vendor.",
        {"fields": {"type": "array", "items": {"type": "string"}}},
        [],
    ),
    _tool(
        "tissue_fraction",
        "Measure the fraction of the slide covered by tissue with Otsu thresholding.",
        {"level": {"type": "integer", "description": "Pyramid level to measure on."}},
        [],
    ),
]

ZOOM_CALL = {"name": "zoom", "arguments": {"target": "largest_tissue", "magnification": 20}}
INFO_CALL = {"name": "slide_info", "arguments": {"fields": ["size", "mpp"]}}
ANSWER = "The slide is 2220 x 2967 px at 20x (0.499 µm/px); tissue covers 41% of it."


def _hermes(call: dict[str, Any]) -> str:
    return f"<tool_call>\n{json.dumps(call)}\n</tool_call>"


def _examples() -> list[TrainingExample]:
    zoom = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Zoom to the largest tissue region at 20x"},
    ]
    info = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "What is the size and resolution of this slide?"},
    ]
    answered = [
        *info,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {
                        "name": INFO_CALL["name"],
                        "arguments": json.dumps(INFO_CALL["arguments"]),
                    },
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_0",
            "content": json.dumps({"size": [2220, 2967], "mpp": 0.499, "magnification": 20}),
        },
    ]
    return [
        TrainingExample(messages=zoom, tools=TOOLS, target=_hermes(ZOOM_CALL)),
        TrainingExample(messages=info, tools=TOOLS, target=_hermes(INFO_CALL)),
        TrainingExample(messages=answered, tools=TOOLS, target=ANSWER),
    ]


def test_served_tiny_lm_makes_trained_tool_calls(tmp_path: Path) -> None:
    examples = _examples()
    start = time.perf_counter()
    model_dir = build_tool_calling_lm(tmp_path / "model", examples, seed=0)
    logger.info("build: %.1f s", time.perf_counter() - start)

    choices = []
    with (
        serve_tool_calling_lm(model_dir, tmp_path / "serve") as server,
        httpx.Client(base_url=server.base_url, timeout=60.0, trust_env=False) as http,
    ):
        for example in examples:
            body = {
                "model": server.model,
                "messages": example.messages,
                "tools": example.tools,
                "temperature": 0,
                "max_tokens": 64,
                "stream": False,
            }
            response = http.post("/chat/completions", json=body)
            assert response.status_code == 200, (response.text, server.log_tail())
            choices.append(response.json()["choices"][0])

    for choice, expected in zip(choices[:2], (ZOOM_CALL, INFO_CALL), strict=True):
        calls = choice["message"]["tool_calls"]
        assert choice["finish_reason"] == "tool_calls", choice
        assert len(calls) == 1, choice
        assert calls[0]["type"] == "function"
        assert calls[0]["function"]["name"] == expected["name"]
        assert json.loads(calls[0]["function"]["arguments"]) == expected["arguments"]

    final = choices[2]
    assert final["message"]["content"] == ANSWER, final
    assert not final["message"].get("tool_calls"), final
    assert final["finish_reason"] == "stop", final
