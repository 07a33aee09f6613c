"""Box parsers on outputs written the way Qwen2.5-VL / Qwen2-VL experts answer."""

from __future__ import annotations

import pytest

from core.errors import ModelOutputError
from tools.grounding import (
    BoxParse,
    parse_bbox_tags,
    parse_box_tokens,
    parse_boxes,
    parse_grounding_json,
)
from tools.parsers import MAX_OUTPUT_CHARS

FENCED = """```json
[
\t{"bbox_2d": [112, 86, 158, 131], "label": "mitotic figure"},
\t{"bbox_2d": [402, 310, 447, 352], "label": "mitotic figure"}
]
```"""

PROSE_AND_FENCE = """Sure! I found three lymphocytes in the image. Here are their locations:

```json
[
    {"bbox_2d": [34, 520, 61, 548], "label": "lymphocyte"},
    {"bbox_2d": [210.5, 77.0, 239.5, 104.0], "label": "lymphocyte"},
    {"bbox_2d": [633, 402, 660, 431], "label": "lymphocyte", "confidence": "high"}
]
```

Let me know if you would like me to look for other cell types."""

PROSE_NO_FENCE = (
    "Here's what I found [2 nuclei]: "
    '[{"bbox_2d": [10, 20, 50, 60], "label": "nucleus"}, '
    '{"bbox_2d": [70, 80, 120, 130], "label": "nucleus"}] '
    "Both nuclei look hyperchromatic."
)

TRUNCATED = """```json
[
\t{"bbox_2d": [12, 40, 56, 88], "label": "tumor cell"},
\t{"bbox_2d": [101, 44, 150, 97], "label": "tumor cell"},
\t{"bbox_2d": [230, 61, 281, 110], "label": "tumor cell"},
\t{"bbox_2d": [301, 2"""

PYTHONISH = "[{'bbox_2d': [10, 20, 50, 60], 'label': 'Langerhans\\' cell',}, ]"

STRING_NUMBERS = '{"bbox_2d": ["10", "20.5", "50", "60"], "label": " gland "}'

SINGLE_FENCED = """```json
{"bbox_2d": [135, 114, 816, 672], "label": "tumor region"}
```"""

DEGENERATE = """```json
[
  {"bbox_2d": [10, 10, 10, 40], "label": "cell"},
  {"bbox_2d": [-4, 10, 30, 40], "label": "cell"},
  {"bbox_2d": [NaN, 10, 30, 40], "label": "cell"},
  {"bbox_2d": [90, 80, 60, 120], "label": "cell"},
  {"bbox_2d": [1, 2, 3], "label": "cell"},
  {"bbox_2d": [5, 6, 25, 26], "label": "cell"}
]
```"""

REPETITION_LOOP = "```json\n[\n" + '\t{"bbox_2d": [5, 6, 25, 26], "label": "cell"},\n' * 3000


def test_fenced_list() -> None:
    parsed = parse_grounding_json(FENCED)
    assert [b.bbox for b in parsed.boxes] == [(112, 86, 158, 131), (402, 310, 447, 352)]
    assert {b.label for b in parsed.boxes} == {"mitotic figure"}
    assert (parsed.coords, parsed.source, parsed.truncated) == ("model_px", "json", False)
    assert parsed.dropped == parsed.fixed == []


def test_prose_around_fence_keeps_extra_keys() -> None:
    parsed = parse_grounding_json(PROSE_AND_FENCE)
    assert len(parsed.boxes) == 3
    assert parsed.boxes[1].bbox == (210.5, 77.0, 239.5, 104.0)
    assert parsed.boxes[2].extra == {"confidence": "high"}


def test_prose_with_brackets_before_unfenced_json() -> None:
    parsed = parse_grounding_json(PROSE_NO_FENCE)
    assert [b.bbox for b in parsed.boxes] == [(10, 20, 50, 60), (70, 80, 120, 130)]


def test_truncated_output_keeps_complete_boxes() -> None:
    parsed = parse_grounding_json(TRUNCATED)
    assert parsed.truncated
    assert len(parsed.boxes) == 3
    assert parsed.boxes[-1].bbox == (230, 61, 281, 110)


def test_single_quotes_and_trailing_commas() -> None:
    parsed = parse_grounding_json(PYTHONISH)
    assert parsed.boxes[0].label == "Langerhans' cell"
    assert parsed.boxes[0].bbox == (10, 20, 50, 60)


def test_numbers_as_strings_and_single_object() -> None:
    assert parse_grounding_json(STRING_NUMBERS).boxes[0].bbox == (10, 20.5, 50, 60)
    assert parse_grounding_json(STRING_NUMBERS).boxes[0].label == "gland"
    assert parse_grounding_json(SINGLE_FENCED).boxes[0].label == "tumor region"


def test_bare_box_list() -> None:
    parsed = parse_grounding_json("The tumour is at [135, 114, 816, 672].")
    assert parsed.boxes[0].bbox == (135, 114, 816, 672)
    assert parsed.boxes[0].label is None


def test_empty_list_is_no_boxes_not_an_error() -> None:
    parsed = parse_grounding_json("```json\n[]\n```")
    assert parsed.boxes == []
    assert not parsed.truncated


def test_degenerate_dropped_swapped_fixed() -> None:
    parsed = parse_grounding_json(DEGENERATE)
    assert [b.bbox for b in parsed.boxes] == [(60, 80, 90, 120), (5, 6, 25, 26)]
    assert len(parsed.dropped) == 4
    assert "zero width or height" in parsed.dropped[0]
    assert "negative" in parsed.dropped[1]
    assert "non-finite" in parsed.dropped[2]
    assert "expected 4 coordinates" in parsed.dropped[3]
    assert parsed.fixed == ["box 3 (cell): swapped corners [90.0, 80.0, 60.0, 120.0] put in order"]


def test_repetition_loop_deduplicated_and_truncated() -> None:
    parsed = parse_grounding_json(REPETITION_LOOP)
    assert parsed.truncated
    assert [b.bbox for b in parsed.boxes] == [(5, 6, 25, 26)]
    assert parsed.dropped == ["2999 exact duplicate box(es)"]


def test_many_drop_reasons_are_capped() -> None:
    text = "[" + ", ".join('{"bbox_2d": [1, 1, 1, 1]}' for _ in range(100)) + "]"
    parsed = parse_grounding_json(text)
    assert parsed.boxes == []
    assert len(parsed.dropped) == 21


GARBAGE = {
    "refusal": ("I cannot help with that.", "no grounding JSON"),
    "empty": ("", "empty model output"),
    "blank": ("  \n\t ", "empty model output"),
    "braces": ("{{{", "truncated before the first complete box"),
    "cut in first box": ('```json\n[{"bbox_2d": [1', "truncated before the first complete box"),
    "no bbox key": ('{"answer": "tumor"}', "no bbox_2d"),
    "points only": ('[{"point_2d": [346, 328], "label": "cell"}]', "no bbox_2d"),
    "repeated junk": ("nuclei " * 10_000, "no grounding JSON"),
    "too long": ("x" * (MAX_OUTPUT_CHARS + 1), "too long"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_raises_one_short_line(name: str) -> None:
    text, expected = GARBAGE[name]
    with pytest.raises(ModelOutputError, match=expected) as caught:
        parse_grounding_json(text)
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 200


TOKENS = (
    "<|object_ref_start|>mitotic figure<|object_ref_end|>"
    "<|box_start|>(123,456),(189,512)<|box_end|>"
    "<|box_start|>(600,100),(640,150)<|box_end|> and "
    "<|object_ref_start|>gland<|object_ref_end|><|box_start|>(10,20),(400,380)<|box_end|>"
)


def test_qwen2_box_tokens_are_norm1000() -> None:
    parsed = parse_box_tokens(TOKENS)
    assert parsed.coords == "norm1000"
    assert [(b.label, b.bbox) for b in parsed.boxes] == [
        ("mitotic figure", (123, 456, 189, 512)),
        ("mitotic figure", (600, 100, 640, 150)),
        ("gland", (10, 20, 400, 380)),
    ]


def test_box_tokens_stripped_by_server() -> None:
    parsed = parse_box_tokens("mitotic figure(123,456),(189,512)")
    assert parsed.boxes[0].label == "mitotic figure"
    assert parsed.boxes[0].bbox == (123, 456, 189, 512)


def test_box_tokens_truncated_and_off_grid() -> None:
    text = (
        "<|object_ref_start|>cell<|object_ref_end|><|box_start|>(10,20),(1200,380)<|box_end|>"
        "<|box_start|>(10,20),(40,40)<|box_end|><|box_start|>(123,45"
    )
    parsed = parse_box_tokens(text)
    assert parsed.truncated
    assert [b.bbox for b in parsed.boxes] == [(10, 20, 40, 40)]
    assert "0-1000 grid" in parsed.dropped[0]


def test_box_tokens_garbage() -> None:
    with pytest.raises(ModelOutputError, match=r"no \(x1,y1\),\(x2,y2\) box"):
        parse_box_tokens("There is no mitotic figure in this field.")


BBOX_TAGS = """I can see two nuclei with prominent nucleoli:
1. nucleus: <bbox>[12, 40, 56, 88]</bbox>
2. nucleus <bbox>[100,120,140,170]</bbox>"""


def test_bbox_tags_with_labels() -> None:
    parsed = parse_bbox_tags(BBOX_TAGS)
    assert [(b.label, b.bbox) for b in parsed.boxes] == [
        ("nucleus", (12, 40, 56, 88)),
        ("nucleus", (100, 120, 140, 170)),
    ]
    assert parsed.coords == "model_px"


def test_bbox_tags_normalised_and_truncated() -> None:
    parsed = parse_bbox_tags(
        "gland <bbox>[0.1, 0.2, 0.3, 0.4]</bbox> <bbox>[500, 6", coords="norm1000"
    )
    assert parsed.coords == "norm1000"
    assert parsed.truncated
    assert len(parsed.boxes) == 1


def test_bbox_tags_garbage() -> None:
    with pytest.raises(ModelOutputError, match="no <bbox> tag"):
        parse_bbox_tags("No abnormal cells are present.")


@pytest.mark.parametrize(
    ("text", "source"),
    [(FENCED, "json"), (TOKENS, "box_tokens"), (BBOX_TAGS, "bbox_tags")],
)
def test_parse_boxes_dispatches(text: str, source: str) -> None:
    parsed = parse_boxes(text)
    assert isinstance(parsed, BoxParse)
    assert parsed.source == source
    assert parsed.boxes


def test_result_serialises() -> None:
    parsed = parse_grounding_json(PROSE_AND_FENCE)
    assert BoxParse.model_validate_json(parsed.model_dump_json()) == parsed
