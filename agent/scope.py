"""Scope check: compare what each expert was trained on with what the turn knows, in code.

A tool output that records its experts' domains (``domains``: ``tools.experts.DeclaredDomain``)
is checked against the organs the request, an earlier request of the case or the slide's path
names (``core.organs``), against its analysis scale (``mpp``: more than 2× outside the expert's
µm/px range), and against the request's words that ask for something the expert cannot tell
(its ``cannot`` entries' triggers). Each finding is a ``Caveat``: a sentence with its claims,
written as a ``caveat`` step of the chain and into the answer. A ``cannot`` finding also means
the turn does not answer what was asked: the verifier does not call such a turn verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from agent.state import CaseState, ChainStep, Evidence, ReasoningChain
from core.narration import Writer
from core.organs import organs_in, organs_in_path
from tools.phrasing import decimals_for

__all__ = [
    "SCALE_FACTOR",
    "Caveat",
    "Mention",
    "caveats_for",
    "caveats_of_state",
    "organ_mentions",
    "out_of_domain",
    "with_caveats",
]

SCALE_FACTOR = 2.0
"""An analysis scale more than this factor outside an expert's µm/px range draws a caveat."""

CaveatKind = Literal["organ", "organ_unknown", "stain", "scale", "cannot"]


@dataclass(frozen=True)
class Mention:
    """An organ the turn knows of, the word that named it, and where that word was."""

    organ: str
    word: str
    source: str
    """"the request", "an earlier request of this case" or "the slide's path"."""


@dataclass(frozen=True)
class Caveat:
    """One limit of one expert that applies to this turn's evidence."""

    evidence: str
    expert: str
    kind: CaveatKind
    writer: Writer
    """The sentence and its claims (expert name and training tissue quoted from the evidence)."""
    unanswered: str | None = None
    """For ``cannot``: why the turn does not answer the request ("does not answer: …")."""

    @property
    def text(self) -> str:
        """The sentence as the chain and the answer show it."""
        return self.writer.render()


def organ_mentions(
    request: str, earlier_requests: Sequence[str] = (), slide_path: str | None = None
) -> list[Mention]:
    """The organs the turn knows of: the request's, else the case's latest, else the slide's.

    The slide's own path (a TCGA project code) is kept beside the request's organs when it
    names another one: "its cholangio not colon" on a TCGA-CHOL tile is still bile duct.
    """
    found = organs_in(request)
    if found:
        said = [Mention(o, w, "the request") for o, w in found]
        named = {o for o, _ in found}
        if slide_path:
            said += [
                Mention(o, w, "the slide's path")
                for o, w in organs_in_path(slide_path)
                if o not in named
            ]
        return said
    for text in reversed(earlier_requests):
        found = organs_in(text)
        if found:
            return [Mention(o, w, "an earlier request of this case") for o, w in found]
    if slide_path:
        return [Mention(o, w, "the slide's path") for o, w in organs_in_path(slide_path)]
    return []


_STAIN_SAID = re.compile(
    r"\b(?:this|the|an?|my)\s+(?:is\s+(?:an?\s+)?)?(?:\w+\s+){0,2}?(?:ihc|immunostain\w*|"
    r"immunohistochem\w*)\b(?!\s+(?:markers?|panel|stains?\s+(?:to|for|would|should)|for|to)\b)|"
    r"\b(?:ihc|immunostain(?:ed)?)\s+(?:slide|image|section|tile|field|picture|stain\b(?!s))|"
    r"\b(?:stained|staining)\s+(?:for|with)\b|\blabell?ing\s+index\b|\bdab\b|"
    r"\bbrown\s+(?:staining|stain|chromogen)\b",
    re.IGNORECASE,
)
"""Words that say the image itself is an immunostain ("this is kidney IHC", "what is it
stained for"); "which IHC markers would help" orders a stain and says nothing of the image."""
_STAIN_IN_PATH = re.compile(r"(?<![a-z])(?:ihc|dab)(?![a-z])", re.IGNORECASE)


def stain_mention(
    request: str, earlier_requests: Sequence[str] = (), slide_path: str | None = None
) -> Mention | None:
    """An immunostain the turn knows the image is: said now, earlier in the case, or in its name."""
    for text, source in [
        (request, "the request"),
        *((t, "an earlier request of this case") for t in reversed(earlier_requests)),
    ]:
        m = _STAIN_SAID.search(text)
        if m:
            return Mention("immunostain", " ".join(m.group(0).split()), source)
    if slide_path:
        m = _STAIN_IN_PATH.search(PurePath(slide_path).name)
        if m:
            return Mention("immunostain", m.group(0), "the slide's file name")
    return None


def caveats_of_state(state: CaseState | Mapping[str, Any]) -> list[Caveat]:
    """The caveats of this turn's evidence, from the request, the case and the slide."""
    evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
    earlier = [str(f.get("request", "")) for f in state.get("findings", [])]
    slide = state.get("slide") or {}
    path = slide.get("path") or state.get("slide_path")
    mentions = organ_mentions(str(state.get("request", "")), earlier, path)
    used = {
        str(d.get("expert"))
        for e in state.get("archive", [])
        for d in (e.get("output") or {}).get("domains") or []
    }
    request = str(state.get("request", ""))
    stain = stain_mention(request, earlier, path)
    out = caveats_for(evidence, request, mentions, unnamed_organ=True, said=used, stain=stain)
    lookup = (state.get("plan") or {}).get("lookup") or {}
    if lookup.get("kind") == "recall":  # a summary of the case keeps each result's caveats
        recalled = [Evidence.model_validate(e) for e in state.get("earlier", [])]
        out += caveats_for(recalled, request, mentions, stain=stain)
    return out


def caveats_for(
    evidence: Sequence[Evidence],
    request: str,
    mentions: Sequence[Mention],
    *,
    unnamed_organ: bool = False,
    said: set[str] | None = None,
    stain: Mention | None = None,
) -> list[Caveat]:
    """Each successful output's caveats: what it cannot tell, then organ, stain and scale.

    With ``unnamed_organ``, an expert trained on one organ's tissue used where no organ is
    named says so the first time the case uses it (``said``: experts the case used before).
    ``stain``: the image is said to be an immunostain, which an H&E expert was not made for.
    """
    out: list[Caveat] = []
    told = set(said or ())
    for ev in evidence:
        if not ev.ok:
            continue
        for i, domain in enumerate(ev.output.get("domains") or []):
            out.extend(_cannot(ev, i, domain, request))
            out.extend(_organ(ev, i, domain, mentions))
            if unnamed_organ and not mentions and str(domain.get("expert")) not in told:
                out.extend(_organ_unknown(ev, domain))
                told.add(str(domain.get("expert")))
            out.extend(_stain(ev, i, domain, stain))
            out.extend(_scale(ev, i, domain))
    return out


def out_of_domain(caveats: Sequence[Caveat]) -> set[str]:
    """Evidence ids whose expert was trained on another organ or stain than the turn's."""
    return {c.evidence for c in caveats if c.kind in ("organ", "stain")}


def with_caveats(chain: ReasoningChain, caveats: Sequence[Caveat]) -> ReasoningChain:
    """The chain with a caveat step per caveat before its conclusion, and each in the answer.

    Caveat steps already in the chain are kept, not repeated. The steps are renumbered.
    """
    have = {s.text for s in chain.steps if s.kind == "caveat"}
    new = [c for c in caveats if c.text not in have]
    if not new:
        return chain
    conclusion = chain.conclusion
    body = [s for s in chain.steps if s is not conclusion]
    body += [
        ChainStep(id="", kind="caveat", text=c.text, claims=c.writer.claims, evidence=[c.evidence])
        for c in new
    ]
    if conclusion is not None:
        w = Writer().text(conclusion.text)
        w.claims.extend(conclusion.claims)
        for c in new:
            w.text(" ").extend(c.writer)
        cites = list(dict.fromkeys([*conclusion.evidence, *(c.evidence for c in new)]))
        body.append(conclusion.model_copy(update={"text": w.render(), "claims": w.claims,
                                                  "evidence": cites}))  # fmt: skip
    steps = [s.model_copy(update={"id": f"S{n}"}) for n, s in enumerate(body, start=1)]
    return ReasoningChain(steps=steps)


def _who(ev: Evidence, domain: Mapping[str, Any]) -> Writer:
    return Writer().text("The ").quote(str(domain["expert"]), ev.id).text(" expert")


def _cannot(ev: Evidence, i: int, domain: Mapping[str, Any], request: str) -> list[Caveat]:
    out = []
    for limit in domain.get("cannot") or []:
        asked = _asked(request, limit.get("triggers") or [])
        if asked is None:
            continue
        w = _who(ev, domain).text(" ").quote(limit["text"], ev.id)
        w.text(f": the request asks about “{asked}”, which it cannot tell")
        if isinstance(ev.output.get("count"), int):
            noun = str(ev.output.get("object") or ev.output.get("what") or "objects")
            w.text("; it found ").num(ev.output["count"], ev.id, "count")
            w.text(f" {noun} in total")
        reason = f"does not answer: asked for {asked} ({domain['expert']} {limit['text']})"
        out.append(Caveat(ev.id, str(domain["expert"]), "cannot", w.text("."), reason))
    return out


def _asked(request: str, triggers: Sequence[str]) -> str | None:
    """The request's words a trigger matches (with a following 'nuclei'/'cells'), or None."""
    for trigger in triggers:
        stem = re.escape(trigger.strip()).replace(r"\ ", r"\s+")
        m = re.search(
            rf"(?<![\w-])({stem}[\w-]*(?:\s+(?:nuclei|nucleus|cells?|figures))?)",
            request,
            re.IGNORECASE,
        )
        if m:
            return " ".join(m.group(1).split())
    return None


def _organ(
    ev: Evidence, i: int, domain: Mapping[str, Any], mentions: Sequence[Mention]
) -> list[Caveat]:
    organs = list(domain.get("organs") or [])
    outside = [m for m in mentions if m.organ not in organs]
    if not organs or not outside:
        return []
    mentions = outside  # "it's cholangio, not colon": the organ the expert was not trained on
    w = _trained_on(ev, domain, organs)
    classes = [c["text"] for c in domain.get("cannot") or [] if not c.get("triggers")]
    if classes:
        w.text(" and ").quote(classes[0], ev.id)
    source = mentions[0].source
    named = " and ".join(
        m.organ if m.word.lower() == m.organ else f"{m.organ} (“{m.word}”)" for m in mentions
    )
    what = "label" if "label" in ev.output else "result"
    w.text(f"; {source} names {named}, so its {what} may not apply.")
    return [Caveat(ev.id, str(domain["expert"]), "organ", w)]


def _trained_on(ev: Evidence, domain: Mapping[str, Any], organs: list[str]) -> Writer:
    """'The <expert> expert was trained on <tissue>', the tissue quoted from its domain."""
    w = _who(ev, domain).text(" was trained on ")
    if domain.get("tissue"):
        return w.quote(str(domain["tissue"]), ev.id)
    return w.text("tissue of the ").quote(" and ".join(organs), ev.id)


def _organ_unknown(ev: Evidence, domain: Mapping[str, Any]) -> list[Caveat]:
    """An organ-specific expert on a slide whose organ nobody named: check that it applies."""
    organs = list(domain.get("organs") or [])
    if not organs:
        return []
    w = _trained_on(ev, domain, organs)
    what = "label" if "label" in ev.output else "result"
    w.text(
        f"; no organ is named for this slide (request, case or file name), so check that its "
        f"{what} applies to the tissue here."
    )
    return [Caveat(ev.id, str(domain["expert"]), "organ_unknown", w)]


def _stain(ev: Evidence, i: int, domain: Mapping[str, Any], stain: Mention | None) -> list[Caveat]:
    """An H&E expert on an image said to be an immunostain: its result may not apply."""
    stains = [str(x) for x in domain.get("stains") or []]
    if stain is None or not stains or any("ihc" in x.lower() for x in stains):
        return []
    w = _who(ev, domain).text(" works on ").quote(" and ".join(stains), ev.id)
    w.text(f" stains; {stain.source} says the image is an immunostain (“{stain.word}”), ")
    what = "label" if "label" in ev.output else "result"
    w.text(f"so its {what} may not apply.")
    return [Caveat(ev.id, str(domain["expert"]), "stain", w)]


def _scale(ev: Evidence, i: int, domain: Mapping[str, Any]) -> list[Caveat]:
    mpp, low, high = ev.output.get("mpp"), domain.get("mpp_min"), domain.get("mpp_max")
    if not isinstance(mpp, int | float) or low is None or high is None:
        return []
    if mpp > SCALE_FACTOR * high:
        how = "coarse"
    elif mpp < low / SCALE_FACTOR:
        how = "fine"
    else:
        return []
    w = _who(ev, domain).text(" was trained at ")
    w.num(low, ev.id, f"domains.{i}.mpp_min", decimals=decimals_for(low))
    if high != low:
        w.text(" to ").num(high, ev.id, f"domains.{i}.mpp_max", decimals=decimals_for(high))
    w.text(" µm/px; this region was analysed at ")
    w.num(mpp, ev.id, "mpp", decimals=decimals_for(mpp))
    w.text(f" µm/px, more than twice as {how}, so its result may not be reliable.")
    return [Caveat(ev.id, str(domain["expert"]), "scale", w)]
