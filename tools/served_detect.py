"""Boxes from a served detection expert, converted from model-input pixels to level-0 pixels."""

from __future__ import annotations

import numpy as np

from core.errors import ModelOutputError
from tools.expert_pool import ExpertPool
from tools.experts import ExpertSpec
from tools.geometry import model_box_to_level0, model_input_size, norm1000_box_to_level0
from tools.grounding import parse_boxes
from tools.types import Box

__all__ = ["DEFAULT_GROUNDING_PROMPT", "served_boxes"]

DEFAULT_GROUNDING_PROMPT = (
    "Locate every {label} in the image. Answer with a JSON list of objects of the form "
    '{{"bbox_2d": [x1, y1, x2, y2], "label": "{label}"}}.'
)


def served_boxes(
    expert: ExpertSpec, pool: ExpertPool, image: np.ndarray, region: Box
) -> tuple[list[tuple[Box, str]], list[str]]:
    """Ask ``expert`` for boxes on ``image`` (which shows ``region``); level-0 boxes and notes.

    Qwen2.5-VL answers in pixels of the input its processor resized (``smart_resize`` with the
    expert's ``min_pixels``/``max_pixels``); Qwen2-VL-style box tokens use a 0-1000 grid.

    Raises:
        ModelOutputError: the answer holds no readable boxes (an empty list is an answer).
        ToolServerError: the server is down, slow or refuses the request.
    """
    label = expert.labels[0] if expert.labels else "object"
    prompt = (expert.prompt or DEFAULT_GROUNDING_PROMPT).format(label=label)
    reply = pool.ask(expert, prompt, [image], max_tokens=2048)
    try:
        parsed = parse_boxes(reply.text)
    except ModelOutputError as exc:
        msg = f"expert {expert.name} answered unusably: {exc}"
        raise ModelOutputError(msg) from None
    if not parsed.boxes and parsed.dropped:
        msg = f"expert {expert.name} gave only unusable boxes: {parsed.dropped[0]}"
        raise ModelOutputError(msg)
    sent_w, sent_h = reply.image_sizes[0]
    model_size = model_input_size(
        sent_w, sent_h, min_pixels=expert.min_pixels, max_pixels=expert.max_pixels
    )
    boxes = []
    for b in parsed.boxes:
        if parsed.coords == "norm1000":
            level0 = norm1000_box_to_level0(b.bbox, region=region)
        else:
            level0 = model_box_to_level0(b.bbox, model_size=model_size, region=region)
        boxes.append((level0, b.label or label))
    notes = [f"expert output: {d}" for d in parsed.dropped[:3]]
    if parsed.truncated:
        notes.append("the expert's answer was cut off; the complete boxes were kept")
    return boxes, notes
