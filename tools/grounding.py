"""Parse the boxes expert models draw: Qwen2.5-VL JSON, Qwen2-VL box tokens, <bbox> tags."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import ModelOutputError, excerpt
from tools.parsers import require_text

__all__ = [
    "BoxParse",
    "Coords",
    "GroundedBox",
    "parse_bbox_tags",
    "parse_box_tokens",
    "parse_boxes",
    "parse_grounding_json",
]

Coords = Literal["model_px", "norm1000"]
"""Frame of parsed boxes: resized model-input px, or Qwen2-VL's 0-1000 grid over the image."""

_MAX_NOTES = 20
_MAX_JSON_STARTS = 16
_BOX_KEYS = ("bbox_2d", "bbox")
_Status = Literal["ok", "truncated", "malformed"]
_Source = Literal["json", "box_tokens", "bbox_tags"]


class GroundedBox(BaseModel):
    """One box a model drew, with its label."""

    model_config = ConfigDict(frozen=True)

    bbox: tuple[float, float, float, float] = Field(
        description="(x1, y1, x2, y2) with x1 < x2, y1 < y2, in the frame named by BoxParse.coords"
    )
    label: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="other keys the model gave")


class BoxParse(BaseModel):
    """Boxes read from one model output, with what was dropped or repaired on the way."""

    model_config = ConfigDict(frozen=True)

    boxes: list[GroundedBox]
    coords: Coords = Field(description="model_px: resized model-input px; norm1000: 0-1000 grid")
    source: _Source
    truncated: bool = Field(description="the output was cut off; the complete boxes were kept")
    dropped: list[str] = Field(default_factory=list, description="why each dropped box went")
    fixed: list[str] = Field(default_factory=list, description="repairs, e.g. swapped corners")


@dataclass
class _Collector:
    """Boxes, drop reasons and repairs gathered while parsing one output."""

    coords: Coords
    boxes: list[GroundedBox] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    seen: set[tuple[tuple[float, ...], str | None]] = field(default_factory=set)
    duplicates: int = 0

    def note(self, target: list[str], message: str) -> None:
        if len(target) < _MAX_NOTES:
            target.append(message)
        elif len(target) == _MAX_NOTES:
            target.append("… further notes left out")

    def add(self, index: int, raw: Sequence[Any], label: str | None, extra: dict[str, Any]) -> None:
        name = f"box {index}" + (f" ({label})" if label else "")
        if len(raw) != 4:
            self.note(self.dropped, f"{name}: expected 4 coordinates, got {len(raw)}")
            return
        try:
            x1, y1, x2, y2 = (_number(v) for v in raw)
        except (TypeError, ValueError):
            self.note(self.dropped, f"{name}: non-numeric coordinate in {list(raw)!r:.60}")
            return
        reason = _degenerate(x1, y1, x2, y2, self.coords)
        if reason:
            self.note(self.dropped, f"{name}: {reason} {[x1, y1, x2, y2]}")
            return
        if x2 < x1 or y2 < y1:
            self.note(self.fixed, f"{name}: swapped corners {[x1, y1, x2, y2]} put in order")
            x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        key = ((x1, y1, x2, y2), label)
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        self.boxes.append(GroundedBox(bbox=(x1, y1, x2, y2), label=label, extra=extra))

    def result(self, source: _Source, truncated: bool) -> BoxParse:
        if self.duplicates:
            self.note(self.dropped, f"{self.duplicates} exact duplicate box(es)")
        found = {"boxes": self.boxes, "dropped": self.dropped, "fixed": self.fixed}
        return BoxParse(coords=self.coords, source=source, truncated=truncated, **found)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(type(value).__name__)
    return float(value)


def _degenerate(x1: float, y1: float, x2: float, y2: float, coords: Coords) -> str | None:
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return "non-finite coordinate"
    if min(x1, y1, x2, y2) < 0:
        return "negative coordinate"
    if coords == "norm1000" and max(x1, y1, x2, y2) > 1000:
        return "coordinate beyond the 0-1000 grid"
    if x1 == x2 or y1 == y2:
        return "zero width or height"
    return None


_SEPARATORS = re.compile(r"[\s,]*")
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


def _normalise_json(text: str) -> str:
    """Turn single-quoted strings into double-quoted ones and drop trailing commas."""
    if "'" not in text:  # fast path; may touch ", ]" inside a string, which labels never hold
        return _TRAILING_COMMA.sub(r"\1", text)
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\" and i + 1 < n:
                nxt = text[i + 1]
                out.append(nxt if (quote == "'" and nxt == "'") else ch + nxt)
                i += 2
                continue
            if ch == quote:
                out.append('"')
                quote = None
            else:
                out.append('\\"' if (ch == '"' and quote == "'") else ch)
        elif ch in "\"'":
            quote = ch
            out.append('"')
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j >= n or text[j] not in "]}":
                out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _closes(text: str, start: int) -> bool:
    """Whether the bracket at ``start`` is closed before the text ends (string-aware)."""
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return True
    return False


def _skip(text: str, pos: int) -> int:
    match = _SEPARATORS.match(text, pos)
    return match.end() if match else pos


def _decode_values(text: str) -> tuple[list[Any], _Status]:
    """Decode the JSON value(s) at the start of ``text``, keeping the complete ones."""
    decoder = json.JSONDecoder()
    try:
        value, pos = decoder.raw_decode(text, 0)
    except (json.JSONDecodeError, RecursionError):
        if text.startswith("["):
            return _decode_list_items(text, decoder)
        return [], "malformed" if _closes(text, 0) else "truncated"
    items = _flatten(value)
    while (pos := _skip(text, pos)) < len(text) and text[pos] in "[{":  # JSON lines
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):  # prose after the JSON, or cut off
            return items, "ok" if _closes(text, pos) else "truncated"
        items.extend(_flatten(value))
    return items, "ok"


def _decode_list_items(text: str, decoder: json.JSONDecoder) -> tuple[list[Any], _Status]:
    """Decode the items of a list that does not decode whole (cut off, or one bad item)."""
    items: list[Any] = []
    pos = 1
    while (pos := _skip(text, pos)) < len(text) and text[pos] != "]":
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            return items, "malformed" if _closes(text, 0) else "truncated"
        items.append(value)
    return items, "ok" if pos < len(text) else "truncated"


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [value] if _is_bare_box(value) else value
    return [value]


def _is_bare_box(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _json_items(text: str) -> tuple[list[Any], _Status]:
    """Find the grounding JSON in ``text`` (fenced or not, prose around it)."""
    fenced = [m.group(1) for m in _FENCE.finditer(text) if re.search(r"[\[{]", m.group(1))]
    body = fenced[0] if fenced else text
    starts = [m.start() for m in re.finditer(r"[\[{]", body)][:_MAX_JSON_STARTS]
    cut_short = False
    for start in starts:
        items, status = _decode_values(_normalise_json(body[start:]))
        if any(isinstance(i, dict) or _is_bare_box(i) for i in items):
            return items, status
        if status == "ok" and re.match(r"\[\s*\]", body[start:]):  # the model found nothing
            return [], status
        cut_short = cut_short or status == "truncated"
    if cut_short:
        msg = f"model output truncated before the first complete box: {excerpt(body)}"
        raise ModelOutputError(msg)
    msg = f"no grounding JSON in model output: {excerpt(text)}"
    raise ModelOutputError(msg)


def _raw_coords(raw: Any) -> list[Any]:
    """``[x1, y1, x2, y2]`` from a list, a ``[[x1, y1], [x2, y2]]`` pair or a string of numbers."""
    if isinstance(raw, str):
        return _NUMBER.findall(raw)
    if isinstance(raw, list) and len(raw) == 2 and all(isinstance(p, list) for p in raw):
        return [*raw[0], *raw[1]]
    return raw if isinstance(raw, list) else [raw]


def parse_grounding_json(text: str) -> BoxParse:
    """Parse Qwen2.5-VL grounding JSON into boxes in resized model-input px.

    Accepts a list of (or one) ``{"bbox_2d": [x1, y1, x2, y2], "label": ...}`` objects, fenced
    or not, with prose around, single quotes, trailing commas, numbers as strings, bare
    ``[x1, y1, x2, y2]`` lists, and a cut-off last object (kept boxes, ``truncated=True``).

    Raises:
        ModelOutputError: empty, too long, no JSON, or JSON without any ``bbox_2d``.
    """
    items, status = _json_items(require_text(text))
    found = _Collector(coords="model_px")
    has_box_key = False
    for index, item in enumerate(items):
        if _is_bare_box(item):
            has_box_key = True
            found.add(index, item, None, {})
            continue
        key = next((k for k in _BOX_KEYS if isinstance(item, dict) and k in item), None)
        if key is None:
            found.note(found.dropped, f"item {index}: no bbox_2d in {json.dumps(item)[:60]}")
            continue
        has_box_key = True
        label = item.get("label")
        label = None if label is None else str(label).strip() or None
        extra = {k: v for k, v in item.items() if k not in (key, "label")}
        found.add(index, _raw_coords(item[key]), label, extra)
    if items and not has_box_key:
        msg = f"model output has JSON but no bbox_2d: {excerpt(text)}"
        raise ModelOutputError(msg)
    if status == "malformed":
        found.note(found.dropped, f"malformed JSON after item {len(items) - 1}; the rest ignored")
    return found.result("json", status == "truncated")


_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_PAIR_BOX = re.compile(rf"\({_NUM},{_NUM}\)\s*,\s*\({_NUM},{_NUM}\)")
_TOKEN = re.compile(
    r"<\|object_ref_start\|>(?P<ref>.*?)<\|object_ref_end\|>"
    r"|<\|box_start\|>(?P<box>.*?)(?:<\|box_end\|>|(?P<cut>\Z))",
    re.DOTALL,
)
_TAG = re.compile(r"<bbox>(?P<box>.*?)(?:</bbox>|(?P<cut>\Z))", re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?|nan|inf", re.IGNORECASE)


def _label_before(prefix: str) -> str | None:
    """The short phrase right before a box, e.g. ``nucleus`` in ``"1. nucleus: <bbox>"``."""
    phrase = re.split(r"[\n.;,]", prefix.rstrip(" \t:-–=*"))[-1]
    phrase = phrase.strip(" \t*-•:\"'`").strip()
    return phrase if phrase and len(phrase) <= 60 else None


def parse_box_tokens(text: str) -> BoxParse:
    """Parse Qwen2-VL box tokens into boxes on the 0-1000 grid (``coords="norm1000"``).

    The format is ``<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)
    <|box_end|>``; a label applies to the boxes after it up to the next label. If the server
    stripped the special tokens (vLLM does unless ``skip_special_tokens`` is false), the bare
    ``label(x1,y1),(x2,y2)`` form is read instead, the label being the phrase before the box.
    A box cut off by the end of the output is dropped and sets ``truncated``.

    Raises:
        ModelOutputError: empty, too long, or no box in the output.
    """
    require_text(text)
    found = _Collector(coords="norm1000")
    label: str | None = None
    truncated, index = False, 0
    tokens = list(_TOKEN.finditer(text))
    for match in tokens:
        if match.group("ref") is not None:
            label = match.group("ref").strip() or None
            continue
        pair = _PAIR_BOX.search(match.group("box"))
        if match.group("cut") is not None:
            truncated = True
        elif pair is None:
            found.note(found.dropped, f"box {index}: unreadable {match.group('box')!r:.60}")
        else:
            found.add(index, pair.groups(), label, {})
        index += 1
    if not tokens:
        last = 0
        for index, pair in enumerate(_PAIR_BOX.finditer(text)):
            found.add(index, pair.groups(), _label_before(text[last : pair.start()]), {})
            last = pair.end()
    if not found.boxes and not found.dropped and not truncated:
        msg = f"no (x1,y1),(x2,y2) box in model output: {excerpt(text)}"
        raise ModelOutputError(msg)
    return found.result("box_tokens", truncated)


def parse_bbox_tags(text: str, *, coords: Coords = "model_px") -> BoxParse:
    """Parse ``label <bbox>[x1,y1,x2,y2]</bbox>`` tags, several allowed.

    A tag cut off by the end of the output is dropped and sets ``truncated``.

    Args:
        text: the model output.
        coords: the frame the expert was trained to answer in: resized model-input px
            (default) or the 0-1000 grid.

    Raises:
        ModelOutputError: empty, too long, or no ``<bbox>`` tag.
    """
    require_text(text)
    found = _Collector(coords=coords)
    truncated, last = False, 0
    for index, match in enumerate(_TAG.finditer(text)):
        label = _label_before(text[last : match.start()])
        last = match.end()
        if match.group("cut") is not None:
            truncated = True
            continue
        found.add(index, _NUMBER.findall(match.group("box")), label, {})
    if not found.boxes and not found.dropped and not truncated:
        msg = f"no <bbox> tag in model output: {excerpt(text)}"
        raise ModelOutputError(msg)
    return found.result("bbox_tags", truncated)


def parse_boxes(text: str, *, bbox_tag_coords: Coords = "model_px") -> BoxParse:
    """Parse boxes in whichever format the output uses: box tokens, ``<bbox>`` tags or JSON.

    Raises:
        ModelOutputError: as the format's own parser does.
    """
    if "<|box_start|>" in require_text(text):
        return parse_box_tokens(text)
    if re.search(r"<bbox>", text, re.IGNORECASE):
        return parse_bbox_tags(text, coords=bbox_tag_coords)
    return parse_grounding_json(text)
