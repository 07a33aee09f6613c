"""Parse the answer text of expert models: reasoning tags and closed-set labels."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import ModelOutputError, excerpt

__all__ = [
    "MAX_OUTPUT_CHARS",
    "ChoiceParse",
    "TaggedAnswer",
    "parse_answer_tags",
    "parse_choice",
    "require_text",
]

MAX_OUTPUT_CHARS = 200_000
"""Longer outputs are refused: a model stuck in a repetition loop, not an answer."""


class TaggedAnswer(BaseModel):
    """The parts of a ``<think>…</think><answer>…</answer>`` output."""

    model_config = ConfigDict(frozen=True)

    answer: str
    think: str | None = None
    observe: str | None = None
    tagged: bool = Field(description="False when the output had no tags: answer is all of it")
    truncated: bool = Field(description="a tag was opened and never closed")


class ChoiceParse(BaseModel):
    """A label chosen from a closed label set."""

    model_config = ConfigDict(frozen=True)

    label: str
    method: Literal["exact", "word", "option"]
    answer: str = Field(description="the answer text the label was read from")


def require_text(text: str) -> str:
    """Return ``text`` if it is a non-empty string of at most ``MAX_OUTPUT_CHARS``.

    Raises:
        ModelOutputError: not text, empty or too long.
    """
    if not isinstance(text, str):
        msg = f"model output is {type(text).__name__}, not text"
        raise ModelOutputError(msg)
    if len(text) > MAX_OUTPUT_CHARS:
        msg = f"model output too long ({len(text)} chars > {MAX_OUTPUT_CHARS}): {excerpt(text)}"
        raise ModelOutputError(msg)
    if not text.strip():
        msg = "empty model output"
        raise ModelOutputError(msg)
    return text


# --- <think>/<observe>/<answer> tags --------------------------------------------------------


def _tag_part(text: str, tag: str) -> tuple[str | None, bool]:
    """Content of the last ``<tag>``: (content or None, cut off at the end of the text)."""
    opens = [m.end() for m in re.finditer(rf"<{tag}>", text, re.IGNORECASE)]
    closes = [m.start() for m in re.finditer(rf"</{tag}>", text, re.IGNORECASE)]
    if not opens:
        if closes and tag == "think":  # the chat template opened <think> for the model
            return text[: closes[0]].strip(), False
        return None, False
    start = opens[-1]
    end = next((c for c in closes if c >= start), None)
    if end is not None:
        return text[start:end].strip(), False
    nxt = re.search(r"<(think|observe|answer)>", text[start:], re.IGNORECASE)
    if nxt:
        return text[start : start + nxt.start()].strip(), False
    return text[start:].strip(), True


def parse_answer_tags(text: str) -> TaggedAnswer:
    """Split ``<think>…</think>``, ``<observe>…</observe>`` and ``<answer>…</answer>``.

    Without an ``<answer>`` tag, the text after ``</think>`` is the answer; without any tag,
    the whole text is (``tagged=False``). A tag left open at the end sets ``truncated``.

    Raises:
        ModelOutputError: empty or too long output, or no answer left (cut off while thinking).
    """
    text = require_text(text).strip()
    think, think_cut = _tag_part(text, "think")
    observe, observe_cut = _tag_part(text, "observe")
    answer, answer_cut = _tag_part(text, "answer")
    tagged = think is not None or observe is not None or answer is not None
    reason = "empty <answer>"
    if answer is None:
        tail = re.split(r"</(?:think|observe)>", text, flags=re.IGNORECASE)[-1]
        answer = "" if think_cut or observe_cut else (tail.strip() if tagged else text)
        reason = "cut off while thinking" if think_cut or observe_cut else "nothing after it"
    if not answer:
        msg = f"no answer in model output ({reason}): {excerpt(text)}"
        raise ModelOutputError(msg)
    return TaggedAnswer(
        answer=answer,
        think=think,
        observe=observe,
        tagged=tagged,
        truncated=think_cut or observe_cut or answer_cut,
    )


# --- closed-label-set classification --------------------------------------------------------

_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+)?(?:final\s+)?(?:answer|label|class|classification|diagnosis)"
    r"(?:\s+is)?\s*[:\-]?\s*)+",
    re.IGNORECASE,
)
_LETTER = re.compile(r"^\(?([A-Z])(?:\)|[.:]|$)|\(([A-Z])\)|\boption\s+([A-Z])\b", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _phrases(labels: Sequence[str], synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    unknown = sorted(set(synonyms) - set(labels))
    if unknown or not labels:
        msg = f"synonyms for unknown labels {unknown}" if unknown else "no labels given"
        raise ValueError(msg)
    table: dict[str, str] = {}
    for label in labels:
        for phrase in (label, *synonyms.get(label, ())):
            table[_norm(phrase)] = label
    return table


def _word_hits(answer: str, table: Mapping[str, str]) -> set[str]:
    """Labels named as whole words (plural or singular); the longest phrase wins an overlap."""
    phrases = sorted(table, key=len, reverse=True)
    alternatives = []
    for index, phrase in enumerate(phrases):
        stem = phrase[:-1] if phrase.endswith("s") else phrase
        alternatives.append(rf"(?P<p{index}>{re.escape(phrase)}|{re.escape(stem)}(?:s|es)?)")
    pattern = re.compile(rf"\b(?:{'|'.join(alternatives)})\b")
    return {table[phrases[int(m.lastgroup[1:])]] for m in pattern.finditer(answer) if m.lastgroup}


def _letter(
    answer: str, options: Sequence[str], table: Mapping[str, str]
) -> tuple[str, str | None]:
    """The option letter the answer names ("" if none) and its label (None if out of range)."""
    match = _LETTER.search(answer.strip())
    if match is None:
        return "", None
    letter = next(g for g in match.groups() if g).upper()
    index = ord(letter) - ord("A")
    return letter, table[_norm(options[index])] if index < len(options) else None


def parse_choice(
    text: str,
    labels: Sequence[str],
    *,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    options: Sequence[str] | None = None,
) -> ChoiceParse:
    """Read which of ``labels`` the model chose.

    Tries, in order: the whole answer equals a label or synonym (case and punctuation ignored,
    a leading "Answer:" / "The answer is" dropped); exactly one label named as whole words in
    the sentence; an option letter ("B", "(B)", "B.") mapped through ``options``. ``<answer>``
    tags, when present, are read first.

    Args:
        text: the model output.
        labels: the closed label set.
        synonyms: other phrasings per label, e.g. ``{"tumor": ["tumour", "carcinoma"]}``.
        options: labels (or synonyms) in the order the prompt lettered them A, B, C, ...

    Raises:
        ModelOutputError: no label, or several, in the answer; the message names the labels.
        ValueError: synonyms or options that name no label (a caller's bug).
    """
    table = _phrases(labels, synonyms or {})
    if options is not None and any(_norm(o) not in table for o in options):
        msg = f"options {list(options)} must be labels or synonyms of {list(labels)}"
        raise ValueError(msg)
    answer = parse_answer_tags(text).answer
    core = _norm(_PREFIX.sub("", answer))
    if core in table:
        return ChoiceParse(label=table[core], method="exact", answer=answer)
    hits = _word_hits(core, table)
    letter, by_letter = _letter(_PREFIX.sub("", answer), options, table) if options else ("", None)
    valid = ", ".join(labels)
    if letter and by_letter is None and not hits:
        last = chr(ord("A") + len(options or []) - 1)
        msg = f"answer names option {letter}, not one of A-{last}: {excerpt(answer)}"
        raise ModelOutputError(msg)
    chosen = hits | ({by_letter} if by_letter else set())
    if len(chosen) == 1:
        method: Literal["word", "option"] = "word" if hits else "option"
        return ChoiceParse(label=chosen.pop(), method=method, answer=answer)
    if chosen:
        named = " and ".join(sorted(chosen))
        msg = f"ambiguous answer {excerpt(answer)}: names {named}; expected one of: {valid}"
        raise ModelOutputError(msg)
    msg = f"no label in answer {excerpt(answer)}; expected one of: {valid}"
    raise ModelOutputError(msg)
