"""Errands outside the co-pilot: ordering stains, sending images, writing into the LIS.

"Order MART-1 and PRAME on block A2", "run a PARR clonality assay", "forward this image to
Dr Patel", "rescan it at 40x", "write my essay", "make slides for the tumour board", "dictate a
synoptic report into the LIS", "what's the IoU against the ground-truth annotation?", "open
the TURBT slide from the same patient", "export it all to a PDF", "rotate the image 90
degrees", "measure the Breslow thickness with the ruler": the co-pilot reads the slide open
in the case and answers from its tools and the knowledge graph; it has no link to the
laboratory's systems, other people, annotations it was never given or other slides. Such a
clause orders no tool, and a request made only of it gets one line saying so.
"""

from __future__ import annotations

import re

from agent.request_text import split_clauses

__all__ = ["ERRAND_RE", "OTHER_MODEL_RE", "RERUN_RE", "errand_line"]

_POLITE = (
    r"(?:(?:ok|okay|so|and|also|then|now|please|pls|kindly|great|thanks|right|perfect|cool|lovely|"
    r"fine|can\s+you(?:\s+to)?|could\s+you(?:\s+to)?|would\s+you|"
    r"is\s+(?:it\s+)?possible\s+(?:for\s+you\s+)?to|"
    r"will\s+you|can\s+u|could\s+u|would\s+it\s+be\s+possible\s+to|"
    r"i(?:'d|\s+would|\s+should)\s+like\s+(?:you|it)\s+to|i\s+(?:want|need)\s+(?:you|it)\s+to)"
    r"[,!.]?\s+)*"
)
_DISPLAY = (
    rf"\s*{_POLITE}(?:rotate|flip|mirror|invert)\s+(?:the\s+|this\s+)?(?:image|view|slide|field|"
    r"picture|it|this|orientation)\b|"
    rf"\s*{_POLITE}(?:rotate|turn)\s+(?:it\s+|this\s+|the\s+\w+\s+)?(?:by\s+)?\d+\s*(?:degrees?|deg\b|°)?|"
    rf"\s*{_POLITE}turn\s+(?:the\s+|this\s+)?(?:image|view|slide|field|picture|it|this)\s+"
    r"(?:round|around|over|upside|sideways|through|\d+\s*(?:degrees?|deg\b|°))|"
    rf"\s*{_POLITE}(?:adjust|change|correct|fix|increase|decrease|boost|reduce|tweak|balance|"
    r"turn\s+(?:up|down))\s+(?:the\s+)?(?:colou?r(?:\s+balance)?|white\s+balance|brightness|"
    r"contrast|saturation|gamma|exposure|hue|stain\s+colou?rs?)\b|"
    # "normalise the stain first", "colour-correct it": the pixels as scanned are what is read
    rf"\s*{_POLITE}(?:(?:stain|colou?r)[\s-]+normali[sz]e|normali[sz]e\s+(?:the\s+)?(?:stain|colou?rs?)|"
    r"colou?r[\s-]+correct)\b|"
    # "annotate the invasive front with a red line", "draw a line along the margin"
    rf"\s*{_POLITE}(?:annotate|draw\s+(?:a|an)\s+(?:\w+\s+)?(?:line|arrow|circle))\b"
)
"""How the image is shown (turned, mirrored, its colours changed): the viewer's, not the
co-pilot's; it reads the slide as scanned."""
_DISPLAY_RE = re.compile(_DISPLAY)
_OTHER_MODEL = (
    r"[^.;?!]{0,60}?\b(?:with|using|via|through)\s+(?:a\s+|an\s+)?(?!(?:the|your|its|our)\b)[\w-]+(?:\s+[\w-]+)?\s+instead\s+of\s+"
    r"(?:the|your|its|our)\s+(?:default\s+|own\s+|usual\s+|current\s+)?(?:detector|model|classifier|"
    r"segmenter|segmentation|algorithm|tool|network)\b|"
    rf"\s*{_POLITE}(?:run|use|try|switch\s+to|swap\s+(?:in|to))\s+(?:a\s+|an\s+)?(?:different|another|"
    r"other|new)\s+(?:model|detector|classifier|segmenter|algorithm|network)\b|"
    # "run the thyroid-specific model on this instead of the colorectal one"
    rf"\s*{_POLITE}(?:run|use|try|apply|switch\s+to|swap\s+(?:in|to))\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:[\w-]+-specific|specific|dedicated|speciali[sz]ed|[\w-]+-trained|(?:thyroid|kidney|renal|"
    r"lung|breast|prostate|skin|liver|bone|sarcoma|gyn\w*|brain|lymphoma|bladder)(?:[\s-]specific)?)"
    r"\s+(?:model|classifier|detector|network|algorithm)\b|"
    # "can u rerun it with a head and neck model instead", "rerun this with a different nuclei
    # model, e.g. StarDist"
    rf"\s*{_POLITE}(?:re-?run|redo|repeat|run|do|try)\s+(?:it|this|that|them|the\s+[\w-]+)?\s*"
    r"(?:again\s+)?(?:with|using|through|via)\s+(?:a|an|the)\s+(?:(?:different|another|other|new)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:model|detector|classifier|segmenter|algorithm|network)\b|"
    r"(?:[\w-]+\s+){1,3}?(?:model|detector|classifier|segmenter|algorithm|network)\s+instead\b)|"
    # "can u retrain the tile classifier on our labels", "swap to a vit backbone and rerun it"
    rf"\s*{_POLITE}(?:re-?train|fine-?tune|train|calibrate)\s+(?:up\s+)?(?:the\s+|your\s+|a\s+|an\s+|its\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:model|classifier|detector|segmenter|network|expert|head)s?\b|"
    rf"\s*{_POLITE}(?:swap|switch|change|move)\s+(?:over\s+)?(?:to\s+)?(?:a\s+|an\s+|the\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:backbone|architecture|encoder|weights|checkpoint)\b|"
    rf"\s*{_POLITE}(?:change|lower|raise|adjust|set|tweak|increase|decrease|bump|drop)\s+(?:up\s+|down\s+)?"
    r"(?:the\s+|its\s+|your\s+)?(?:[\w-]+\s+){0,2}?(?:threshold|cut-?off|confidence)\b|"
    # "can you run the HER2 model?": a marker or grading model the deployment does not have
    rf"\s*{_POLITE}(?:run|use|try|apply)\s+(?:a\s+|an\s+|the\s+)?(?:her-?2|msi|mmr|ki-?67|pd-?l1|er|pr|"
    r"egfr|kras|braf|gleason|mitosis|mitotic|grading|survival|prognostic|mutation)\s+"
    r"(?:prediction\s+|scoring\s+)?(?:model|classifier|predictor|network|algorithm)\b|"
    r"[^.;?!]{0,30}\b(?:another|a\s+different|some\s+other)\s+model\s+for\s+[\w-]+"
)
"""Another model than the deployment's ("rerun the nuclei with StarDist instead of the default
detector"): the experts are set where the co-pilot is deployed, not from the chat."""
_OTHER_MODEL_RE = re.compile(_OTHER_MODEL)
OTHER_MODEL_RE = _OTHER_MODEL_RE
RERUN_RE = re.compile(
    r"\s*(?:(?:and|then|&&|&|\+)\s+)*(?:re-?run|redo|re-?do|re-?count|re-?classify|re-?segment|"
    r"re-?detect|re-?infer|count\s+again|run\s+(?:it\s+|that\s+|this\s+)?again|try\s+again)\b"
)
"""A clause that runs again what a model change before it would change ("swap to a ViT
backbone and rerun the tile classifier"): asked of the changed model, not of the one there."""
_TEACHING = (
    # "can u quiz me on lymph node anatomy?", "grade my answer out of 10", "make me flashcards"
    rf"\s*{_POLITE}(?:quiz|test|examine)\s+me\b|[^.;?!]*\b(?:grade|mark|score|rate)\s+my\s+"
    r"(?:answer|guess|diagnosis|attempt|read|interpretation)\b|"
    rf"\s*{_POLITE}(?:make|create|write|generate)\s+(?:me\s+)?(?:some\s+)?(?:\w+\s+)?flash\s*cards\b"
)
"""Setting or marking a test ("quiz me on lymph node anatomy", "grade my answer out of 10")."""
_TEACHING_RE = re.compile(_TEACHING)
_DISTANCE = (
    rf"\s*{_POLITE}(?:measure|calculate|determine|get)\s+(?:me\s+)?(?:the\s+|a\s+|its\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:breslow|depth|thickness|distance|diameter|width|length|clearance)\b|"
    rf"\s*{_POLITE}measure\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+)?\s+(?:from|with\s+(?:a|the)\s+ruler)\b|"
    r"[^.;?!]*\b(?:with|use|using)\s+(?:a|the|your)\s+(?:ruler|measuring\s+tool|calipers?)\b"
)
"""A distance measured between structures ("measure breslow w the ruler from the top of the
granular layer"): the co-pilot measures areas, counts and tissue shares, not lengths."""
_DISTANCE_RE = re.compile(_DISTANCE)
ERRAND_RE = re.compile(
    rf"\s*{_POLITE}(?:(?:re-?)?order|dictate|e-?mail|mail|fax|forward|send|print|book|schedule|"
    r"upload|phone|re-?scan|re-?cut|re-?stain|stain\s+(?:it|this|that|them|the\s+(?:block|slide|section|case|tissue|biopsy|specimen|"
    r"sample))\s+(?:for|with))\b"
    # "order views 1-4 by stroma area": a ranking, not an order placed
    r"(?!\s+(?:all\s+)?(?:the\s+|these\s+|those\s+|our\s+)?(?:views?|regions?|fields?|rois?|them|"
    r"cores?|pieces?|fragments?|results?|counts?)\b[^.;?!]*\bby\b(?!\s+(?:e-?mail|post|fax|mail|courier|"
    r"teams|slack|whatsapp|text|phone|tomorrow|tonight|monday|the\s+end)\b))(?!\s+(?:me|us)\b[^.;?!]*\b(?:count|area|"
    r"summary|result|number|view|region)s?\b)|"
    r"(?!\s*(?:(?:please|pls|can\s+you|could\s+you)\s+)?(?:segment|count|detect|classify|mask|"
    r"outline|run|zoom|go|show)\b)"  # "segment the nuclei as a mask to score against our truth"
    r"[^.;?!]*\b(?:iou|dice|accuracy|f1|agreement|overlap|score|compare|match)\w*\b[^.;?!]*\b"
    r"(?:ground[\s-]?truth|(?:pathologist|manual|expert|my|our|reference)'?s?\s+annotations?)\b|"
    rf"\s*{_POLITE}(?:open|load|switch\s+to|pull\s+up|bring\s+up|go\s+to)\s+(?:up\s+)?"
    r"(?:the\s+|a\s+)?(?:(?:other|another|next|previous|second|patient's|[\w-]+)\s+)?"
    r"(?:slides?|cases?|blocks?)\s+(?:from|of|for)\s+(?:the\s+same|another|that|this|the\s+other)\s+"
    r"(?:patient|case|specimen)|"
    rf"\s*{_POLITE}(?:open|load|switch\s+to)\s+(?:up\s+)?(?:the\s+)?(?:other|another|next|previous)\s+"
    r"(?:slide|case|block)\b|"
    rf"\s*{_POLITE}(?:get|have)\s+[^.;?!]{{1,60}}?\s+(?:ordered|sent|emailed|faxed|booked|printed)\b|"
    rf"\s*{_POLITE}(?:run|do|perform|send\s+off\s+for)\s+(?:an?\s+|the\s+)?[^.;?!]{{0,40}}?\b(?:assay|pcr|"
    r"sequencing|ngs|fish|clonality|methylation|flow\s+cytometry|immunostains?|ihc)\b|"
    rf"\s*{_POLITE}(?:write|draft|make|prepare|create|put\s+together)\s+(?:me\s+)?(?:up\s+)?"
    r"(?:my|an?|the|our|some)?\s*(?:[\w-]+\s+){0,2}?(?:essay|paper|thesis|abstract|manuscript|grant|"
    r"letter|powerpoint|ppt|slide\s+deck|deck|presentation|poster|slides\s+for|"
    r"(?:histo)?pathology\s+report|synoptic\s+report|final\s+report|report\b(?=[^.;?!]*\b(?:format|"
    r"template|dataset|proforma|sign\s+(?:it\s+)?out|lis)\b))\b|"
    rf"\s*{_POLITE}(?:log|save|push|export|sync|write|post)\s+[^.;?!]{{0,60}}?\b(?:to|into|in|on)\s+"
    r"(?:my|our|the)\s+(?:[\w-]+\s+)?(?:wandb|w&b|mlflow|project|drive|dropbox|database|db|"
    r"spreadsheet|excel|sheet|lims|lis|epic|cerner|notebook|repo|bucket|server)\b|"
    rf"\s*{_POLITE}(?:export|save|download|convert|turn|(?:can\s+i\s+|could\s+i\s+)?(?:get|have))\s+"
    r"[^.;?!]{0,40}?\b(?:to|as|into|in)\s+"
    r"(?:an?\s+)?(?:pdfs?|csvs?|word|docx?|excel|xlsx?|powerpoint|pptx?|pngs?|jpe?gs?|tiff?s?|"
    r"geo-?json|json|xml|parquet|hdf5|h5|qupath)\b|"
    rf"\s*{_POLITE}(?:save|take|grab|make)\s+(?:me\s+)?(?:a\s+)?screen\s*(?:shot|grab)s?\b|"
    rf"\s*{_POLITE}put\s+[^.;?!]{{0,40}}?\b(?:into|in|onto)\s+(?:our|the|a|my)\s+(?:[\w-]+\s+){{0,3}}?"
    r"(?:template|presentation|deck|powerpoint|document|spreadsheet)\b|"
    rf"\s*{_POLITE}sign\s+(?:it|this|that|the\s+(?:case|report|slide))\s+out\b|"
    rf"{_TEACHING}|"
    # "could you put a reticulin stain on this section", "can you put p16 and Ki67 on this block"
    rf"\s*{_POLITE}(?:put|do|run)\s+(?:an?\s+|the\s+|some\s+)?[\w-]+(?:\s*(?:,|and|&|\+)\s*[\w-]+)*\s+"
    r"(?:stains?\s+|immunostains?\s+|ihc\s+)?on\s+(?:this|the|that)\s+(?:section|block|level|case)\b|"
    rf"\s*{_POLITE}(?:make|create|generate|prepare)\s+(?:me\s+)?(?:an?\s+)?(?:pdf|word|docx?|csv|excel|"
    r"powerpoint|pptx?)\b|"
    # "can you blind the study for me - hide animal IDs and dose groups"
    rf"\s*{_POLITE}(?:blind|unblind|anonymi[sz]e|de-?identify|pseudonymi[sz]e)\s+(?:the\s+|this\s+|my\s+)?"
    r"(?:study|slides?|data|cases?|images?|ids?)\b|"
    rf"\s*{_POLITE}sign\s+out\s+(?:the|this|that)\s+(?:case|report|slide)\b|"
    # "check the label barcode matches the requisition": the laboratory's records
    rf"\s*{_POLITE}(?:check|verify|confirm|make\s+sure|match)\s+[^.;?!]{{0,40}}?\b(?:barcode|"
    r"requisition|accession(?:\s+number)?|patient\s+id|mrn|lis)\b|"
    # "focus is bad here, fix it", "refocus this area": a rescan's job
    rf"\s*{_POLITE}(?:fix|correct|sharpen|improve|adjust|redo)\s+(?:the\s+)?(?:focus|focusing|blur\w*)\b|"
    rf"\s*{_POLITE}re-?focus\b|"
    r"[^.;?!]*\b(?:focus\s+is\s+(?:bad|poor|off|awful|terrible)|out\s+of\s+focus|blurry|blurred)\b"
    r"[^.;?!]*\b(?:fix|correct|sharpen|refocus)\b|"
    rf"\s*{_POLITE}request\s+[^.;?!]{{0,40}}?\b(?:levels?|stains?|re-?cuts?|deepers?|ihc|"
    r"immuno\w*|block)\b|"
    rf"{_DISPLAY}|{_OTHER_MODEL}|{_DISTANCE}"
)
"""A clause that asks for an errand outside the co-pilot, or a score against an annotation the
case does not hold. "Send me the count" is an answer asked for, not an errand."""


def errand_line(low: str) -> str | None:
    """The line for a request that asks for an errand (in any of its clauses), or None.

    ``low``: the request normalised, in lower case.
    """
    said = next((c for c in split_clauses(low) if ERRAND_RE.match(c)), None)
    if said is None:
        return None
    if _OTHER_MODEL_RE.match(said) and re.search(r"\b(?:threshold|cut-?off|confidence)\b", said):
        return (
            "The experts' thresholds are part of the deployment's configuration (smartpath "
            "experts list shows the experts); they cannot be changed from the chat. It can run "
            "the experts as configured on any region and say what each can and cannot tell."
        )
    if _OTHER_MODEL_RE.match(said):
        return (
            "The co-pilot runs the experts its deployment configured (smartpath experts list "
            "shows them); it cannot swap in another model from the chat. It can run those on "
            "any region and say what each can and cannot tell."
        )
    if _DISPLAY_RE.match(said):
        return (
            "The co-pilot cannot change how the image is shown (turned, mirrored, its colours "
            "adjusted): it reads the slide as scanned; use the viewer's controls for that. It "
            "can move to another part of the slide, change the magnification, and measure or "
            "describe what is there."
        )
    if _TEACHING_RE.match(said):
        return (
            "The co-pilot does not set or mark tests: it answers from this slide's measurements "
            "and the knowledge graph. Ask it what a structure is, to show or measure something, "
            "or for the textbook facts on a topic, and check your own reading against that."
        )
    if _DISTANCE_RE.match(said):
        return (
            "The co-pilot has no ruler: it measures areas (tissue, masks), counts and tissue "
            "shares, not distances between structures such as a Breslow thickness or the "
            "clearance to a margin; use the viewer's measuring tool for that. It can give the "
            "scan's micrometres per pixel, and a visual-question expert, where one is configured, "
            "can describe the depth it sees."
        )
    return (
        "That is outside the co-pilot: it has no link to the laboratory's systems, to other "
        "people, to annotations it was not given or to other slides from this chat (open "
        "another slide as a case of its own). It can measure this slide (tissue, nuclei, "
        "segmentation, tissue classes, the slide-level call), answer visual and textbook "
        "questions, and summarise the case so far for you to pass on."
    )
