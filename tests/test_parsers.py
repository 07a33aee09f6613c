"""Answer-tag and closed-label parsers on outputs written the way the experts answer."""

from __future__ import annotations

import pytest

from core.errors import ModelOutputError, excerpt
from tools.parsers import ChoiceParse, parse_answer_tags, parse_choice

LABELS = ["tumor", "stroma", "lymphocytes", "necrosis", "normal"]
SYNONYMS = {"tumor": ["tumour", "carcinoma"], "necrosis": ["necrotic debris"]}

THINK_ANSWER = """<think>
The patch shows sheets of atypical epithelial cells with enlarged, hyperchromatic nuclei,
a high nuclear-to-cytoplasmic ratio and several mitoses. There is little intervening stroma.
</think>
<answer>tumor</answer>"""

OBSERVE_THINK_ANSWER = (
    "<observe>Dense sheets of small round cells with scant cytoplasm.</observe>"
    "<think>Small, round, dark nuclei in sheets fit a lymphoid infiltrate.</think>"
    "<answer>C</answer>"
)

CUT_IN_ANSWER = (
    "<think>Pink, acellular material with nuclear dust.</think>\n"
    "<answer>The tissue is predominantly necro"
)

CUT_IN_THINK = "<think>Looking at the nuclei, I can see that they are enlarged and"

TEMPLATE_OPENED_THINK = "Dense lymphoid infiltrate, no atypia.</think>\n\nlymphocytes"


def test_think_answer() -> None:
    parsed = parse_answer_tags(THINK_ANSWER)
    assert parsed.answer == "tumor"
    assert parsed.think is not None
    assert parsed.think.startswith("The patch shows")
    assert (parsed.tagged, parsed.truncated, parsed.observe) == (True, False, None)


def test_observe_think_answer() -> None:
    parsed = parse_answer_tags(OBSERVE_THINK_ANSWER)
    assert parsed.observe == "Dense sheets of small round cells with scant cytoplasm."
    assert parsed.answer == "C"


def test_answer_cut_off_is_kept_and_flagged() -> None:
    parsed = parse_answer_tags(CUT_IN_ANSWER)
    assert parsed.truncated
    assert parsed.answer == "The tissue is predominantly necro"


def test_think_left_open_before_answer_tag() -> None:
    parsed = parse_answer_tags("<think>Stroma with spindle cells.<answer>stroma</answer>")
    assert (parsed.think, parsed.answer, parsed.truncated) == (
        "Stroma with spindle cells.",
        "stroma",
        False,
    )


def test_answer_after_think_without_answer_tag() -> None:
    parsed = parse_answer_tags("<think>Fibrous tissue.</think>\nThe answer is stroma.")
    assert parsed.answer == "The answer is stroma."


def test_think_opened_by_chat_template() -> None:
    parsed = parse_answer_tags(TEMPLATE_OPENED_THINK)
    assert parsed.think == "Dense lymphoid infiltrate, no atypia."
    assert parsed.answer == "lymphocytes"


def test_untagged_output_is_the_answer() -> None:
    parsed = parse_answer_tags("  The tissue shows lymphocytes.\n")
    assert (parsed.answer, parsed.tagged, parsed.truncated) == (
        "The tissue shows lymphocytes.",
        False,
        False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CUT_IN_THINK, "cut off while thinking"),
        ("<think>Fibrous tissue.</think>", "nothing after it"),
        ("<answer></answer>", "empty <answer>"),
        ("", "empty model output"),
        ("   ", "empty model output"),
    ],
)
def test_no_answer_raises(text: str, expected: str) -> None:
    with pytest.raises(ModelOutputError, match=expected) as caught:
        parse_answer_tags(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "label", "method"),
    [
        ("Tumor.", "tumor", "exact"),
        ("Answer: necrosis", "necrosis", "exact"),
        ("The answer is Stroma", "stroma", "exact"),
        ("**Normal**", "normal", "exact"),
        ("tumour", "tumor", "exact"),
        ("The tissue shows lymphocytes.", "lymphocytes", "word"),
        ("This patch shows a dense infiltrate of a lymphocyte population.", "lymphocytes", "word"),
        ("The tissue looks abnormal, consistent with necrotic debris.", "necrosis", "word"),
        ("Invasive carcinoma is present.", "tumor", "word"),
        ("Multiple tumors are seen.", "tumor", "word"),
        (THINK_ANSWER, "tumor", "exact"),
    ],
)
def test_choice_from_words(text: str, label: str, method: str) -> None:
    parsed = parse_choice(text, LABELS, synonyms=SYNONYMS)
    assert (parsed.label, parsed.method) == (label, method)


@pytest.mark.parametrize(
    ("text", "label", "method"),
    [
        ("Answer: B", "stroma", "option"),
        ("B", "stroma", "option"),
        ("(B)", "stroma", "option"),
        ("B.", "stroma", "option"),
        ("The answer is (D).", "necrosis", "option"),
        ("I would choose option E", "normal", "option"),
        ("The answer is (D) necrosis", "necrosis", "word"),
        (OBSERVE_THINK_ANSWER, "lymphocytes", "option"),
    ],
)
def test_choice_from_option_letters(text: str, label: str, method: str) -> None:
    parsed = parse_choice(text, LABELS, options=LABELS)
    assert (parsed.label, parsed.method) == (label, method)


def test_options_may_be_synonyms_in_another_order() -> None:
    options = ["normal", "tumour", "necrosis", "stroma", "lymphocytes"]
    assert parse_choice("B", LABELS, synonyms=SYNONYMS, options=options).label == "tumor"


def test_longer_label_wins_over_the_label_inside_it() -> None:
    labels = ["tumor", "tumor stroma", "adipose tissue"]
    assert parse_choice("This is tumor stroma.", labels).label == "tumor stroma"
    assert parse_choice("Adipose tissue", labels).method == "exact"


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("Tumor and stroma are both present.", None, "ambiguous answer .*names stroma and tumor"),
        ("B. tumor", LABELS, "ambiguous"),
        ("I cannot help with that.", None, "no label in answer"),
        ("Answer: B", None, "no label in answer"),
        ("Answer: F", LABELS, "option F, not one of A-E"),
        pytest.param("I am not sure. " * 5000, None, "no label in answer", id="long-unsure"),
        pytest.param("lymphocytes stroma " * 3000, None, "ambiguous", id="long-repetition"),
    ],
)
def test_choice_failures_name_the_labels(
    text: str, options: list[str] | None, expected: str
) -> None:
    with pytest.raises(ModelOutputError, match=expected) as caught:
        parse_choice(text, LABELS, options=options)
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 250
    if "option F" not in message:
        assert "expected one of: tumor, stroma, lymphocytes, necrosis, normal" in message


def test_choice_rejects_caller_mistakes() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        parse_choice("tumor", LABELS, synonyms={"cancer": ["carcinoma"]})
    with pytest.raises(ValueError, match="must be labels"):
        parse_choice("A", LABELS, options=["fat", "tumor"])


def test_choice_result_serialises() -> None:
    parsed = parse_choice("Tumor.", LABELS)
    assert ChoiceParse.model_validate_json(parsed.model_dump_json()) == parsed


def test_excerpt_is_one_short_line() -> None:
    text = "line one\nline two " + "x" * 500
    quoted = excerpt(text)
    assert "\n" not in quoted
    assert len(quoted) <= 82
    assert quoted.endswith("…'")
