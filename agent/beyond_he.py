"""Requests for a result no H&E image can give: a stain's index, a molecular status, a prognosis.

"What's the Ki-67 index here?", "is this tumour MSI-high?", "BRCA1 status of this tumour?",
"5-year survival for this patient and which chemo?": no expert of the co-pilot measures these,
and a vision-language model that answered would be guessing. Such a request about the case gets
one plain line naming what the result needs; a textbook question about the same marker ("what
is MSI?", "how is HER2 tested?") stays a knowledge question.
"""

from __future__ import annotations

import re

__all__ = ["beyond_he"]

_MARKERS: tuple[tuple[str, str, str], ...] = (
    (
        r"ki-?67|mib-?1",
        "Ki-67",
        "Ki-67 immunohistochemistry (the index is the share of stained tumour nuclei)",
    ),
    (r"pd-?l1", "PD-L1", "PD-L1 immunohistochemistry, scored as TPS or CPS"),
    (
        r"her-?2",
        "HER2",
        "HER2 immunohistochemistry, with in situ hybridisation for equivocal cases",
    ),
    (
        r"\ber\b|\bpr\b|o?estrogen\s+receptors?|progesterone\s+receptors?",
        "Hormone receptor",
        "ER/PR immunohistochemistry",
    ),
    (
        r"\bmmr\b|mismatch[\s-]repair|\bmsi\b(?:[\s-]*(?:h|high|low|stable))?|microsatellite",
        "Mismatch-repair / MSI",
        "mismatch-repair immunohistochemistry (MLH1, PMS2, MSH2, MSH6) or "
        "PCR/sequencing for microsatellite instability",
    ),
    (r"\bp16\b|\bhpv\b", "HPV", "p16 immunohistochemistry or HPV testing"),
    (r"\bp53\b", "p53", "p53 immunohistochemistry"),
    (
        r"\bcd\d{1,3}[a-z]?\b|\bcytokeratins?\b|\bck\s?\d{1,2}\b|\bsox-?10\b|\bs-?100\b|\bdesmin\b|"
        r"\bgata-?3\b|\bttf-?1\b|\bcdx-?2\b",
        "Immunostain",
        "immunohistochemistry for that marker",
    ),
    (
        r"immunofluorescen\w*|\b(?:iga|igg|igm|c3|c1q|c4d)\b|electron\s+microscop\w*",
        "Immune-deposit",
        "immunofluorescence on frozen tissue or electron microscopy (deposits do not show on H&E)",
    ),
    (
        r"brca[12]?|\bkras\b|\bnras\b|\bbraf\b|\begfr\b|\balk\b|\bros1\b|\bntrk\b|\bidh[12]?\b|"
        r"\bmgmt\b|\btmb\b|mutational\s+burden|mutation|fusion|molecular\s+(?:status|subtype|profile)",
        "Molecular",
        "molecular testing (sequencing or PCR) of the tumour",
    ),
)
_RESULT = (
    r"(?:index|score|status|positiv\w*|negativ\w*|express\w*|mutat\w*|mutant|amplif\w*|high|"
    r"low|deficien\w*|proficien\w*|stable|unstable|loss|lost|retained|%|percent\w*|tps|cps|"
    r"h-?score|allred|proliferation|carrier|driven|related|associated|subtype|profile|deposits?|"
    r"staining|pattern)"
)
_POINTER = re.compile(
    r"\b(?:this|these|here|it|the\s+(?:tumou?r|patient|lesion|case|slide|image|cancer|"
    r"specimen|biopsy|block)|in\s+this)\b"
)
_THE_RESULT = re.compile(
    r"\b(?:the|its|their)\s+(?:[\w+-]+\s+){1,2}?(?:score|status|index|result|tps|cps|percentage)\b"
    r"(?!\s+(?:mean|means|is\s+used|used|for\s+(?:a|an)\b))"
)
""""and what's the PD-L1 score?" asked in a case: the case's result, as "here" would say."""
_DEFINITION = re.compile(
    r"^\s*(?:so\s+|and\s+|ok,?\s+)?(?:what(?:\s+is|\s+are|'s|s)|explain|define)\s+(?:the\s+)?"
    r"[\w\s/-]{1,30}?(?:\?|,|$|\s+and\s+)"
)
""""what is MSI?", "what's MSI, and …": a definition, unless what it names points at the case."""
_TEXTBOOK = re.compile(
    r"\bhow\s+(?:is|are|do|does|would|should|can)\b|\border\b|\bexplain\b|"
    r"\bhow\s+(?:the|an?)\s+[\w\s/+-]{1,40}?\s+(?:is|are)\s+(?:derived|calculated|scored|measured|"
    r"done|performed|assessed|interpreted|reported)\b|"
    r"\bwhich\s+(?:antibod|stain|marker|ihc)|\bused\s+for\b|\bwhy\b|\bremind\s+me\s+of\b|"
    r"\bcriteria\b|"
    # "would p53 and WT1 help me separate serous from endometrioid?", "does p16 matter"
    r"\bhelp\s+(?:me\s+|us\s+|you\s+)?(?:to\s+)?(?:separate|distinguish|differentiate|tell|sort|"
    r"decide|discriminate)\b|\bmatters?\b|\bwhat\s+would\s+(?:it|they|that|this)\s+(?:tell|show|"
    r"mean|add)\b|\bconfirmatory\b"
)


_EXPECTED = re.compile(
    r"\b(?:should|would)\s+(?:i|you|we|one)\s+expect\b|\b(?:you|one|i|we)'d\s+expect\b"
)
""""the profile you'd expect for a colorectal primary": textbook, unless asked of the case
("what would you expect the Ki-67 to be here?")."""
_TAG_QUESTION = re.compile(r",?\s*(?:is\s+it\s+not|isn'?t\s+it|right|correct|no)\s*\??\s*$")


def _textbook(low: str) -> bool:
    """A textbook question (a definition, how a test is done, which stains), not a result."""
    m = _DEFINITION.search(low)
    pointed = m and (_POINTER.search(m.group(0)) or _THE_RESULT.search(m.group(0)))
    untagged = _TAG_QUESTION.sub("", low)
    expected = _EXPECTED.search(low) and not _POINTER.search(untagged)
    return bool(_TEXTBOOK.search(low) or (m and not pointed) or expected)


_OUTCOME = re.compile(
    r"\b(?:survival|prognosis|life\s+expectancy|recurrence|chemo\w*|treatment|therapy|"
    r"radiotherapy|which\s+drugs?)\b"
)
_PATIENT = re.compile(
    r"\b(?:this|the|my|our)\s+(?:patient|case|man|woman|lady|gentleman)\b|\bfor\s+(?:him|her|"
    r"them)\b|\bshould\s+(?:we|i|they|she|he)\b|\bthis\s+tumou?r\b"
)


def beyond_he(low: str) -> str | None:
    """The line for a request that asks of this case what no H&E image gives, or None.

    ``low``: the request normalised, in lower case.
    """
    if _OUTCOME.search(low) and _PATIENT.search(low) and not _textbook(low):
        return (
            "Survival, prognosis and the choice of treatment cannot be read from this image or "
            "these models: they need the diagnosis, the stage and the patient's clinical data, "
            "and belong to the treating team. The co-pilot measures the slide (tissue, nuclei, "
            "tissue classes) and recalls textbook facts."
        )
    if not (_POINTER.search(low) or _THE_RESULT.search(low)) or _textbook(low):
        return None
    for pattern, name, needs in _MARKERS:
        m = re.search(pattern, low)
        if m is None:
            continue
        # "p53 aberrant patterns - which count as mutant-type? and does the atypia here look
        # serous?": the marker's own sentence asks the textbook, the case is asked elsewhere
        own = _sentence_at(low, m.start())
        before = _sentence_at(low, max(0, low.find(own) - 2)) if low.find(own) > 1 else ""
        pointed = _POINTER.search(own) or _THE_RESULT.search(own) or _POINTER.search(before)
        if not pointed or _textbook(own):
            continue  # ("IF on this? c3 / iga deposits": the sentence before points)
        near = low[max(0, m.start() - 40) : m.end() + 40]
        if re.search(rf"\b{_RESULT}", near) or re.search(pattern + r"[\s-]*(?:h|high)\b", low):
            return (
                f"{name} results cannot be read from an H&E image: they need {needs}. None "
                "of the co-pilot's experts measures them, and no answer is given from the "
                "image's look."
            )
    return None


def _sentence_at(low: str, at: int) -> str:
    """The sentence of ``low`` that holds the character at ``at``."""
    start = max((m.end() for m in re.finditer(r"[?!;]|\.\s", low[:at])), default=0)
    end = re.search(r"[?!;]|\.\s|\.$", low[at:])
    return low[start : at + end.start() if end else len(low)]
