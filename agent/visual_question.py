"""Read a clause as a question about what the image shows, by its form (pure).

Pathologists ask about features no measuring tool reports in a few grammatical forms: whether
something is present ("is there pagetoid spread?", "any goblet cells in this biopsy?", "do you
see tumour budding?"), how something looks ("does this look tubular or villous?", "are the
nuclei high grade?", "tell me if they look atypical") and free description ("describe the
growth pattern", "what do you see?"). ``visual_question`` returns the form and the thing asked
about; the planner decides from the thing whether a tile classifier can answer it (a tissue
class: composition) or only a vision-language expert can (vqa).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["VisualQuestion", "feature_alone", "visual_question"]

_LEAD = (
    r"^\s*(?:[a-z][\w\s-]{0,30}:\s+)?"  # "oral mucosa: does the epithelium look dysplastic?"
    r"(?:(?:so|and|ok|okay|also|but|then|now|hmm|right|well|quick\s+q|please|kindly|"
    r"in\s+your\s+(?:opinion|view|eyes))\s*[,:-]?\s+)*"
)
_IF_SO = r"(?:(?:and\s+)?if\s+so\s*,?\s*)?"
_PRESENCE_RE = re.compile(
    _LEAD
    + _IF_SO
    + r"(?:(?:(?:can|could)\s+you\s+(?:please\s+)?)?(?:tell\s+me\s+|let\s+me\s+know\s+|check\s+|"
    r"see\s+|say\s+)?(?:if|whether)\s+there\s+(?:is|are)|"
    r"(?:is|are)\s+there|(?:do|can|could)\s+(?:you|we|i)\s+(?:see|spot|find|identify|appreciate)|"
    r"(?:any|anything\s+like|some)|(?:is|are)\s+(?:any|some)|see\s+any|"
    r"(?:i|we)\s+(?:wonder|am\s+wondering)\s+(?:if|whether)\s+there\s+(?:is|are))\s+"
    r"(?:any\s+|some\s+|an?\s+|evidence\s+of\s+|signs?\s+of\s+)*(?P<thing>[^?.;]+)"
)
_NOTED_RE = re.compile(
    _LEAD + r"(?:any\s+)?(?P<thing>[a-z][\w\s-]{2,60}?)\s+"
    r"(?:present|seen|identified|visible|noted|evident)\s*(?:here|in\s+(?:this|the)\s+\w+)?\s*$"
)
""""Lymphovascular invasion present?": a feature and whether it is seen."""
_LOOK_FOR_RE = re.compile(
    _LEAD + r"(?:(?:can|could)\s+you\s+(?:please\s+)?)?(?:look|check|search|screen|scan)\s+"
    r"(?:(?:this|the)\s+(?:field|view|region|area)\s+)?(?:for|whether\s+there\s+(?:is|are))\s+"
    r"(?:any\s+)?(?P<thing>[^?.;]+)"
)
""""Check for perineural invasion", "look for mitoses": a presence question as an order."""
_SEE_SOME_RE = re.compile(
    r"^\s*(?P<thing>[a-z][\w\s-]{2,60}?)\s*,?\s+(?:do\s+|can\s+)?you\s+(?:can\s+)?(?:see|spot|find)\s+"
    r"(?:any|some|them|it|one|these)\b"
)
""""Reed-Sternberg cells, you can see some here?": the thing first, then the question."""
_LOOK_RE = re.compile(
    _LEAD
    + _IF_SO
    + r"(?:(?:tell\s+me\s+)?(?:if|whether)\s+|(?:(?:what|how)\s+)?(?:do|does|did)\s+)?"
    r"(?P<subject>(?:this|that|these|those|the)\s+[\w-]+(?:\s+[\w-]+)?|this|that|it|they|these|"
    r"those|nuclei|cells|glands|crypts|ducts|villi|tubules|vessels|acini|nests)\s+"
    r"(?:(?:here|there|(?:in|on)\s+(?:this|the)\s+(?:view|field|area|region|image))\s+)?"
    r"(?:look|looks|appear|appears|seem|seems)\s+(?:to\s+(?:be|you)\s+)?(?:like\s+)?"
    r"(?P<thing>[^?.;]+)"
)
_LOOKS_TO_ME_RE = re.compile(
    _LEAD
    + r"(?:(?:it|this|that)\s+)?(?:looks?|seems?)\s+(?:like\s+)?(?P<thing>[^?.;]+?)\s+to\s+me\b"
)
""""Looks cribriform to me - agree?": the user's impression, put to the expert."""
_ARE_THE_RE = re.compile(
    _LEAD + _IF_SO + r"(?:is|are)\s+(?:(?:the|these|those|this|that)\s+)?"
    r"(?:(?!(?:whole|entire|slide|case|specimen|wsi)\b)[a-z-]+\s+){0,2}?(?P<subject>nucle(?:i|us)|cells?|"
    r"glands?|tumou?r\s+cells?|tumou?r|lesion|nucleoli|chromatin|cytoplasm|mitoses|epithelium|"
    r"vessels?|nerves?|mucosa|crypts?|villi|stroma|infiltrate|lymphocytes|neutrophils|"
    r"eosinophils|plasma\s+cells|histiocytes|macrophages|architecture|pattern|surface|epidermis|"
    r"dermis|capsule|background|basement\s+membrane|mucus|mucin|ink|margin|margins(?=\s[^?.;]*\b(?:here|there|this|these)\b))\s+"
    r"(?P<thing>(?!there\b|in\b|on\b|at\b|from\b)[^?.;]+)"
)
_DOING_RE = re.compile(
    _LEAD + r"(?:is|are)\s+(?:it|they|the\s+tumou?r|the\s+lesion|the\s+cancer|this|that)\s+"
    r"(?P<thing>(?!(?:showing|having|containing|displaying|exhibiting)\b)[a-z]{3,}ing\b[^?.;]*)"
)
""""Is it spreading out into the fat?": what the tumour is doing, put to the expert."""
_WHETHER_RE = re.compile(
    r"\b(?:know|tell\s+me|see|check|say)\s+(?:if|whether)\s+(?:the\s+)?(?:[a-z-]+\s+){0,2}?"
    r"(?P<subject>glands?|cells?|nucle(?:i|us)|tumou?r(?:\s+cells?)?|lesion|epithelium|stroma|"
    r"vessels?|margins?|nerves?|mucosa|crypts?|villi)\s+(?:here\s+|there\s+)?"
    r"(?:show|shows|have|has|display|displays|contain|contains|are|is|look|looks|reach|reaches|"
    r"extend|extends|involve|involves|invade|invades|infiltrate|infiltrates|touch|touches|"
    r"cross|crosses|abut|abuts)\s+"
    r"(?P<thing>[^?.;]+)"
)
""""(The reg wants to) know if the glands here show a desmoplastic reaction": a state asked
indirectly."""
_IF_THEY_RE = re.compile(
    r"\btell\s+me\s+(?:if|whether)\s+(?P<subject>they|these|those)\s+(?:are|look|seem|appear)\s+"
    r"(?P<thing>[^?.;]+)"
)
""""(count the nuclei, then) tell me if they're overlapping": the things just named, asked about."""
_LIKE_RE = re.compile(
    _LEAD + r"what\s+(?:is|are)\s+(?:the\s+)?(?P<thing>[\w:/-]+(?:\s+[\w:/-]+){0,2})\s+like\s+"
    r"(?:\w+\s+){0,2}(?:this|these|those|that|here|it|them)\b"
)
""""What's the N:C ratio like in these atypical cells?": a feature's state in the image."""
_SHOW_RE = re.compile(
    _LEAD + r"(?:does|do)\s+(?:(?:any|some|all|either|both|each)\s+(?:of\s+)?)?"
    r"(?:(?:the|this|these|that|those)\s+)?(?P<subject>[\w-]+(?:\s+[\w-]+)?)"
    r"\s+(?:here\s+|there\s+)?(?:show|have|display|contain|exhibit|form|float|infiltrate|invade|"
    r"extend|reach|involve|surround|abut|line|wrap)\s+(?P<thing>[^?.;]+)"
)
""""Does the tumour here show a cribriform pattern?": a feature of something in the image."""
_IDENTITY_RE = re.compile(
    _LEAD + r"(?:is|are)\s+(?:this|that|these|those)\s+(?P<thing>[\w-]+(?:\s+[\w-]+){0,8}?)"
    r"(?:\s+(?:in|at|on|near)\s+the\s+(?:very\s+)?(?:middle|cent(?:re|er)|top|bottom|left|right|"
    r"corner|edge)(?:\s+there)?|\s+(?:here|there)|\s+in\s+(?:this|the)\s+(?:field|view|region|"
    r"area))?\s*$"
)
""""Are those small bright red blobs red blood cells?": what something in the image is."""
_NOT_AN_IDENTITY_RE = re.compile(
    r"\b(?:same|different|one|view|region|field|area|roi|enough|ok|okay|fine|right|correct|done|"
    r"it|or|there|here|on|at|a\s+good)\b"
)
_PLACE_SUBJECT_RE = re.compile(
    r"^(?:region|area|field|view|slide|section|biopsy|piece|it|one|we|you)s?$"
)
_CALL_IT_RE = re.compile(
    _LEAD + r"(?:would|do|could)\s+you\s+call\s+(?:this|that|it|these|those|the\s+[\w-]+\s+"
    r"(?:here|there|in\s+(?:this|the)\s+(?:view|field|area)))\s+"
    r"(?:(?P<subject>nuclei|nucleus|cells?|glands?|tumou?r|lesion|area|region|field)\s+)?"
    r"(?P<thing>[^?.;]+)|" + _LEAD + r"(?:is|are)\s+(?:this|that|it|these|those)\s+(?:\w+\s+)?"
    r"(?:consistent|compatible|in\s+keeping)\s+with\s+(?P<also>[^?.;]+)|"
    + _LEAD
    + r"(?:does|do|would|could)\s+(?:this|it|these|that|they)\s+(?:\w+\s+)?"
    r"(?:meet|fulfil+|satisfy)\s+(?:the\s+)?(?:[\w-]+\s+)?criteria\s+(?:for|of)\s+(?P<meets>[^?.;]+)"
)
""""Would you call this X?", "is this consistent with X?": how it looks, put to the expert."""
_ANYWHERE_RE = re.compile(
    _LEAD + r"(?:any\s+)?(?P<thing>[a-z][\w\s,-]{2,80}?)\s+anywhere\b(?:\s+(?:in|on)\s+"
    r"(?:this|the)\s+\w+)?\s*$"
)
""""Intercellular bridges or single-cell keratinisation anywhere in this field?"."""
_POINT_OUT_RE = re.compile(
    _LEAD + r"(?:(?:can|could|would)\s+you\s+(?:please\s+)?)?(?:point\s+out|point\s+to|"
    r"show\s+me\s+where)\s+(?:an?\s+|some\s+|any\s+|the\s+)?(?P<thing>[^?.;]+?)"
    r"(?:\s+(?:is|are))?(?:\s+for\s+me)?(?:\s+please)?\s*$"
)
""""Can you point out a blood vessel for me?": where a feature is, put to the expert."""
_FITS_RE = re.compile(
    _LEAD + r"(?:and\s+)?(?:does|do|would)\s+(?:this|that|it|these|those|the)\s*(?:[\w-]+\s+)?"
    r"(?P<thing>(?:fit|match|correspond|conform)\b[^?.;]*)"
)
""""Does this field fit?" after a described entity: how the image compares, put to the expert."""
_PRESENT_RE = re.compile(r"^(?:present|seen|visible|identified|noted|evident)\b")
_DESCRIBE_RE = re.compile(
    _LEAD
    + r"(?:(?:can|could|would)\s+you\s+(?:please\s+)?)?(?:describe|characteri[sz]e|comment\s+on|"
    r"tell\s+me\s+what\s+you\s+(?:see|think)|what\s+(?:do|can)\s+you\s+see|"
    r"what\s+(?:is|are)\s+(?:the\s+)?(?:growth\s+pattern|architecture|morphology|cytology|"
    r"grade|pattern)|"
    # "what % pattern 4 would you estimate in this view", "how much solid growth would you say
    # there is in this field": the expert's estimate of what is on screen
    r"(?:(?:roughly|approximately|about|so)\s*,?\s+)?(?:what|how\s+much|how\s+many)\b[^?.;]*\bwould\s+you\s+(?:estimate|say|guess|put\s+it\s+at)\b"
    r"(?=[^?.;]*\b(?:this|here|these)\b)|"
    # "predominant pattern - acinar, lepidic, solid?": the view's pattern, asked by its noun
    r"(?:give\s+me\s+)?(?:an?\s+|the\s+|your\s+)?(?:grade|grading)\s+impression\b|"
    r"(?:the\s+|its\s+)?(?:predominant|dominant|main|major)\s+(?:growth\s+|architectural\s+)?"
    r"pattern\b(?!\s+(?:of|in)\s+(?!this|these|the\s+(?:view|field|tumou?r|lesion))\w)|"
    # "explain me the architecture", "walk me through the morphology": of what is on screen
    r"(?:explain|walk\s+me\s+through|talk\s+me\s+through)\s+(?:(?:to\s+)?me\s+)?(?:the\s+)?"
    r"(?:growth\s+pattern|architecture|morphology|cytology|architectural\s+pattern)"
    r"(?=\s*(?:$|[?.!,;]|here\b|in\s+(?:this|the)\b|of\s+(?:this|these|the\s+glands)\b|please\b))|how\s+would\s+you\s+describe|what\s+(?:jumps|stands|leaps)\s+out|"
    r"what\s+(?:catches|strikes)\s+(?:your|you)|what\s+is\s+(?:going\s+on|happening)|"
    r"what\s+do\s+you\s+notice|anything\s+(?:notable|remarkable|concerning|worrying|abnormal|"
    r"odd|weird|interesting)|tell\s+me\s+about\s+(?:this|that|these|those|what\s+you\s+see)|"
    r"what\s+grade\b|what\s+[\w-]+\s+grade\s+(?:would|do|does|is|are)\s+(?:you|this|these|it|they)\b|what\s+is\s+the\s+[\w\s-]{0,30}?(?:score|pattern|ratio|index)\s+"
    r"(?=here\b|in\s+(?:this|these|the)\b|of\s+(?:this|these|those)\b)|"
    r"what\s+(?:type|kind|sort)\s+of\s+(?:cells?|structures?|inflammat\w*|infiltrate|pattern|"
    r"glands?)\s+(?:is|are)\s+(?=this|these|those|that|here|present|seen)|"
    r"what\s+(?:are|is)\s+(?:these|those|this|that)\s+(?:[\w-]+\s+){0,3}(?:cells?|structures?|"
    r"things?|bodies|blobs|spots|inclusions?|granules?|deposits?|crystals?|material|stuff|clumps?|"
    r"circles?|dots|specks|globules|droplets)\b|what\s+(?:are|is)\s+the\s+(?:[\w-]+\s+){0,4}(?:things|"
    r"blobs|clumps|circles|dots|specks|stuff|bits)\b|how\s+(?:would|should|do)\s+(?:you|i|we)\s+(?:grade|classify|call)\s+(?:this|that|it|these)|what\s+is\s+the\s+most\s+(?:salient|striking|"
    r"prominent|notable|obvious|interesting)\s+(?:structure|feature|thing|finding)|what\s+do\s+you\s+(?:make\s+of|think\s+of|"
    r"think\s+about)|(?:your|any)\s+(?:impression|thoughts?\s+on|opinion\s+on)|"
    r"thoughts?\s+(?:on|about)\s+(?=the\b|this\b|these\b|that\b|it\b)|"
    # "what's the mitotic activity like?": how something of the view looks
    r"what\s+(?:is|are)\s+(?:the\s+)?(?!(?:[\w-]+\s+){0,2}?(?:prognosis|survival|outlook|treatment|"
    r"management|incidence|prevalence|risk|weather|scan|file|slide|metadata|resolution|"
    r"turnaround)\b)(?:[\w-]+\s+){0,2}?[\w-]+\s+like(?=\s*(?:\?|$|here\b|in\s+th(?:is|ese)\b|"
    r"there\b)))\b"
    r"(?P<thing>[^?.;]*)|"
    + _LEAD
    + r"what\s+do\s+you\s+think\b(?P<about>[^?.;]*\b(?:this|here|these|those|it)\b[^?.;]*)"
)
_NOT_VISUAL_RE = re.compile(
    r"\b(?:how\s+many|many|number|count|counts|density|area|mm|µm|microns?|percent\w*|%|"
    r"fraction|proportion|share|tissue\s+(?:on|in)\s+the\s+slide|slide|metadata|mpp|"
    r"magnification|pixels?|level|label|diagnosis|link|association|difference|relationship|"
    r"treatment|therapy|prognosis|guideline|stains?|markers?|tests?|way|earlier|before|"
    r"previous|results?|findings?|cellularity)\b"
)
"""Words of measurement, of slide facts, of the case's memory or of textbook knowledge: a
question naming one is not a free visual question."""

_NOT_A_SUBJECT_RE = re.compile(
    r"\b(?:file|slide|scan|image|wsi|viewer|scanner|format|resolution|metadata|level|pyramid)\b"
)
_MEASURED_THING_RE = re.compile(r"(?:tissue|cells?|nucle(?:i|us))\b(?!\s+(?:look|seem|appear))")
"""Presence of tissue, cells or nuclei is the tissue tool's or the detector's to answer."""


_QUALITY_RE = re.compile(
    r"\b(?:blurr?y|blurred|blur|out\s+of\s+focus|in\s+focus|focus(?:ed|sed)?|folds?|folded|"
    r"(?:air\s+)?bubbles?|precipitate|lifting|lifted|detach\w*|faded|fading|washed[\s-]out|"
    r"chatter|knife\s+marks?|(?:over|under)[\s-]?stain\w*|"
    r"too\s+(?:eosinophilic|basophilic|pink|blue|pale|dark|red|purple)|artefacts?|artifacts?|"
    r"stitching)\b"
)
"""How the section or its scan looks (focus, folds, bubbles, faded stain): only an expert that
sees the image answers."""
_ASKS_RE = re.compile(
    r"\?|^\s*(?:\w+\s+){0,3}?(?:is|are|does|do|did|any|how|what|whats|could|can)\b"
)


_GUESSED_RE = re.compile(
    r"^(\s*(?:(?:so|and|ok|okay|hmm|well)\s*,?\s+)*)(?:maybe|perhaps|possibly)\s*,?\s+"
    r"(this|that|it|these|those)\s+(?:is|are)\s+"
)
"""A guess put as a question ("maybe this is serrated?"): what the image shows, asked."""


@dataclass(frozen=True)
class VisualQuestion:
    """A clause read as a question about the image."""

    form: Literal["presence", "look", "state", "describe"]
    """``presence`` (is there X), ``look`` (does it look like X), ``state`` (are the nuclei
    X), ``describe`` (describe it, what do you see)."""
    thing: str
    """What is asked about, as written ("pagetoid spread of melanocytes")."""


def visual_question(clause: str) -> VisualQuestion | None:
    """The visual question ``clause`` asks, or None when its form is not one."""
    low = _GUESSED_RE.sub(r"\1is \2 ", clause.lower())  # "maybe this is serrated" → "is this …"
    quality = _QUALITY_RE.search(low)
    if quality is not None and _ASKS_RE.search(low):
        return VisualQuestion("state", quality.group())  # "is that a fold or an air bubble?"
    describe = _DESCRIBE_RE.search(low)
    if describe is not None:
        thing = (describe.group("thing") or describe.group("about") or "").strip()
        if _NOT_VISUAL_RE.search(thing) and not re.search(r"\b(?:this|here)\b", thing):
            return None
        return VisualQuestion("describe", thing)
    forms = (
        ("presence", _PRESENCE_RE),
        ("presence", _LOOK_FOR_RE),
        ("presence", _NOTED_RE),
        ("presence", _ANYWHERE_RE),
        ("presence", _POINT_OUT_RE),
        ("look", _CALL_IT_RE),
        ("look", _FITS_RE),
        ("presence", _SEE_SOME_RE),
        ("look", _LOOKS_TO_ME_RE),
        ("look", _LOOK_RE),
        ("state", _ARE_THE_RE),
        ("state", _LIKE_RE),
        ("state", _SHOW_RE),
        ("state", _DOING_RE),
        ("look", _IDENTITY_RE),
        ("state", _WHETHER_RE),
        ("state", _IF_THEY_RE),
    )
    for form, pattern in forms:
        m = pattern.search(low)
        if m is None:
            continue
        subject = m.groupdict().get("subject") or ""
        if _NOT_A_SUBJECT_RE.search(subject):
            return None  # "the file seems huge": a remark about the slide, not the tissue
        thing = (
            m.group("thing") or m.groupdict().get("also") or m.groupdict().get("meets") or ""
        ).strip(" ,")
        if pattern is _IDENTITY_RE and (
            _NOT_AN_IDENTITY_RE.search(thing) or _NOT_A_SUBJECT_RE.search(thing)
        ):
            continue  # "is this one the same tissue?": a comparison, not what it is
        if pattern is _SHOW_RE and _PLACE_SUBJECT_RE.match(subject):
            form = "presence"  # "does this region have necrosis?": whether it is there
        if pattern is _ARE_THE_RE and _PRESENT_RE.match(thing):
            form, thing = "presence", subject  # "are lymphocytes present in roi 3?"
        if not thing or _NOT_VISUAL_RE.search(thing) or _MEASURED_THING_RE.match(thing):
            return None
        return VisualQuestion(form, thing)  # type: ignore[arg-type]
    return None


_BARE_RE = re.compile(
    r"\s*(?:(?:and|so|ok|okay|also)\s+)?(?:any\s+)?(?P<thing>[a-z][\w/'-]*(?:\s+[\w/'-]+){0,2}?)"
    r"(?:\s+(?:here|there|in\s+(?:this|the)\s+(?:view|field|area|one)))?\s*\?+\s*"
)
_NOT_LOOKED_FOR_RE = re.compile(
    r"\b(?:msi|mmr|ki-?67|her-?2|pd-?l1|er|pr|p53|p16|hpv|brca\w*|kras|braf|egfr|alk|ros1|ntrk|"
    r"idh\w*|mgmt|tmb|ihc|grade|grading|stage|staging|icd|code|snomed|synonyms?|definition|"
    r"meaning|criteria|ddx|differential|rest|else|more|why|what|who|how|when|where|which|"
    r"yes|no|ok|okay|thanks|really|sure|again|next|done|ready|views?|regions?|fields?|anything|"
    r"something|nothing|everything|thoughts?|opinions?|ideas?|comments?|suggestions?|"
    r"impressions?|feedback|questions?|help|please|hello)\b"
)


def feature_alone(low: str) -> str | None:
    """The feature a question of one to three words names ("keratinisation?", "any lipoblasts?").

    Unlike the router's bare features, it needs no word of the visual expert's vocabulary: the
    planner asks it only when a view is open and nothing but knowledge was chosen. Asked so,
    such a question asks whether the feature is there. None when ``low`` is no such question,
    or names a measurement, a slide fact, a stain or a scale.
    """
    questions = [q for q in re.findall(r"[^?]*\?+", low) if q.strip(" ?")]
    if len(questions) > 1 and "".join(questions).strip() == low.strip():
        # "mvp here? glomeruloid tufts?": each question a feature alone
        found = [feature_alone(q) for q in questions]
        return found[0] if all(found) else None
    m = _BARE_RE.fullmatch(low)
    if m is None:
        return None
    thing = m.group("thing")
    if (
        not re.search(r"[a-z]{5,}", thing)
        or _NOT_VISUAL_RE.search(thing)
        or _NOT_A_SUBJECT_RE.search(thing)
        or _NOT_LOOKED_FOR_RE.search(thing)
        or _MEASURED_THING_RE.match(thing)
    ):
        return None
    return thing
