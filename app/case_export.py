"""A case gathered from its checkpoint and audit log; exported as a Markdown report and GeoJSON.

Used by ``smartpath cases export`` and by the web app's download buttons. Every tool call of a
case is in its audit log (the checkpoint keeps only the latest turn's evidence), so the turns,
their evidence, facts, chains and verification are read from there; the regions come from the
checkpointed state. Coordinates in the GeoJSON are level-0 slide pixels, as QuPath imports them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import CaseError

__all__ = [
    "CaseBundle",
    "CaseTurn",
    "bundle_from",
    "case_geojson",
    "load_case",
    "report_markdown",
    "shorten",
    "write_geojson",
    "write_markdown",
    "write_report_zip",
]

ROI_COLOR = [220, 30, 30]
DETECTION_COLOR = [0, 120, 255]
MASK_COLOR = [255, 200, 0]
REPORT_NAME = "report.md"
IMAGES_DIR = "images"
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


@dataclass
class CaseTurn:
    """One answered turn as the audit log recorded it."""

    turn: int
    request: str
    answer: str
    status: str | None
    chain: list[dict[str, Any]]
    verification: dict[str, Any]
    evidence: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    slide: dict[str, Any]
    ts: float | None = None


@dataclass
class CaseBundle:
    """Everything an export needs about one case."""

    case_id: str
    slide: dict[str, Any]
    rois: list[dict[str, Any]]
    turns: list[CaseTurn] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def evidence(self) -> dict[str, dict[str, Any]]:
        """Every answered turn's evidence by id."""
        return {e["id"]: e for t in self.turns for e in t.evidence}

    @property
    def facts(self) -> dict[str, dict[str, Any]]:
        """Every recalled fact by id (the latest recall of an id wins)."""
        return {f["id"]: f for t in self.turns for f in t.facts if "id" in f}

    def on_slide(self, slide_id: str | None = None) -> list[CaseTurn]:
        """The turns asked about ``slide_id`` (default: the case's latest slide)."""
        wanted = slide_id or self.slide.get("slide_id")
        return [t for t in self.turns if t.slide.get("slide_id") == wanted]


def load_case(copilot: Any, case_id: str) -> CaseBundle:
    """Read a case from ``copilot``'s cases database and audit log.

    Raises:
        CaseError: the id is invalid or no such case exists.
    """
    record, state = copilot.case(case_id)
    if record is None:
        msg = f"no case {case_id!r}; see 'smartpath cases list'"
        raise CaseError(msg)
    return bundle_from(case_id, state, copilot.audit.read(case_id))


def bundle_from(case_id: str, state: dict[str, Any], audit: list[dict[str, Any]]) -> CaseBundle:
    """Assemble a case from its checkpointed state and audit records (pure).

    A turn counts once its ``turn`` record is written, unless an ``interrupted`` record of
    the same number follows (its process died before the turn's last checkpoint, and the case
    took that number again); its evidence is the tool calls that record lists (calls of an
    attempt the verifier sent back are left out).
    """
    calls: dict[str, dict[str, Any]] = {}
    slides: dict[int, dict[str, Any]] = {}
    turns: list[CaseTurn] = []
    for rec in audit:
        kind = rec.get("kind")
        if kind == "request":
            slides[int(rec.get("turn", 0))] = rec.get("slide") or {}
        elif kind == "tool_call" and "id" in rec:
            calls[str(rec["id"])] = {k: v for k, v in rec.items() if k not in ("ts", "kind")}
        elif kind == "turn":
            turns.append(_turn(rec, calls, slides))
        elif kind == "interrupted":
            turns = [t for t in turns if t.turn != int(rec.get("turn", 0))]
    slide = state.get("slide") or (turns[-1].slide if turns else {})
    return CaseBundle(
        case_id=case_id,
        slide=dict(slide),
        rois=list(state.get("rois") or []),
        turns=turns,
        audit=audit,
    )


def _turn(
    rec: dict[str, Any], calls: dict[str, dict[str, Any]], slides: dict[int, dict[str, Any]]
) -> CaseTurn:
    number = int(rec.get("turn", 0))
    verification = rec.get("verification") or {}
    status = verification.get("step_status", {})
    steps = (rec.get("chain") or {}).get("steps", [])
    chain = [
        {
            "id": s.get("id"),
            "kind": s.get("kind"),
            "text": s.get("text", ""),
            "evidence": list(s.get("evidence", [])),
            "verified": bool(status.get(s.get("id"), False)),
        }
        for s in steps
    ]
    return CaseTurn(
        turn=number,
        request=str(rec.get("request", "")),
        answer=str(rec.get("answer", "")),
        status=verification.get("status"),
        chain=chain,
        verification=verification,
        evidence=[calls[i] for i in rec.get("evidence", []) if i in calls],
        facts=list(rec.get("facts") or []),
        slide=slides.get(number, {}),
        ts=rec.get("ts"),
    )


# ---------------------------------------------------------------- shortened tool output


def shorten(value: Any, *, items: int = 5, chars: int = 200) -> Any:
    """A copy of a JSON value with lists cut to ``items`` (plus a count) and strings cut."""
    if isinstance(value, dict):
        return {k: shorten(v, items=items, chars=chars) for k, v in value.items()}
    if isinstance(value, list):
        head = [shorten(v, items=items, chars=chars) for v in value[:items]]
        if len(value) > items:
            head.append(f"… {len(value) - items} more")
        return head
    if isinstance(value, str) and len(value) > chars:
        return value[:chars] + "…"
    return value


# ---------------------------------------------------------------- Markdown report


def report_markdown(bundle: CaseBundle, image_names: dict[str, str] | None = None) -> str:
    """The case as Markdown: slide, regions, then each turn's answer, tools, images and chain.

    Each turn lists its request, answer, tool calls, images, the chain with a verified mark per
    step, the verification and the facts recalled.

    Args:
        bundle: the case.
        image_names: artifact path -> path relative to the report; artifacts not in it are
            named but not linked.
    """
    images = image_names or {}
    slide = bundle.slide
    lines = [
        f"# SmartPath case {bundle.case_id}",
        "",
        f"- Slide: {_md(slide.get('name', '?'))} ({slide.get('width', '?')} × "
        f"{slide.get('height', '?')} px level 0)",
        f"- Slide sha256: `{slide.get('slide_id', '?')}`",
        f"- Turns: {len(bundle.turns)}",
        f"- Exported: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    if bundle.rois:
        lines += ["## Regions", "", "| # | box [x0, y0, x1, y1] (level-0 px) | scale | turn |"]
        lines.append("|---|---|---|---|")
        for roi in bundle.rois:
            mag = roi.get("magnification")
            scale = f"{mag:g}x" if mag else f"downsample {roi.get('downsample', '?')}"
            lines.append(f"| {roi['number']} | {roi['box']} | {scale} | {roi.get('turn', '?')} |")
        lines.append("")
    lines += ["## Findings", ""]
    for turn in bundle.turns:
        lines += _turn_markdown(turn, images)
    return "\n".join(lines).rstrip() + "\n"


def _turn_markdown(turn: CaseTurn, images: dict[str, str]) -> list[str]:
    out = [
        f"### Turn {turn.turn}: {_md(turn.request)}",
        "",
        f"**Answer:** {_md(turn.answer)}",
        "",
        f"**Verification:** {turn.status or 'none'}",
    ]
    v = turn.verification
    if v:
        share = 100 * float(v.get("steps_verified", 0.0))
        out[-1] += (
            f" ({share:.0f}% of steps verified, citation precision "
            f"{float(v.get('citation_precision', 0.0)):.2f})"
        )
    out.append("")
    if turn.evidence:
        out += ["Tool calls:", ""]
        for ev in turn.evidence:
            state = "ok" if ev.get("ok") else "failed"
            text = ev.get("summary", "") if ev.get("ok") else ev.get("error") or ev.get("summary")
            out.append(
                f"- `{ev['id']}` {ev.get('tool')} · expert {ev.get('expert') or 'built-in'} · "
                f"{ev.get('backend') or '-'} · {float(ev.get('seconds') or 0):.2f} s · {state}: "
                f"{_md(str(text or ''))}"
            )
        out.append("")
    for ev in turn.evidence:
        for artifact in ev.get("artifacts", []):
            rel = images.get(artifact)
            if rel:
                out += [f"![{ev['id']} {Path(artifact).name}]({rel})", ""]
            elif Path(artifact).suffix.lower() in _IMAGE_SUFFIXES:
                out += [f"_(image {Path(artifact).name} of {ev['id']} not included)_", ""]
    if turn.chain:
        out += ["Reasoning chain:", ""]
        for n, step in enumerate(turn.chain, 1):
            mark = "✔ verified" if step["verified"] else "✘ UNVERIFIED"
            cites = ", ".join(f"`{c}`" for c in step["evidence"]) or "no citation"
            out.append(f"{n}. [{step['kind']}] {_md(step['text'])} — {mark}; cites {cites}")
        out.append("")
    failed = [c for c in v.get("checks", []) if not c.get("ok")] if v else []
    if failed:
        out += ["Failed checks:", ""]
        out += [
            f"- {c.get('step') or 'answer'} {c.get('name')}: {_md(str(c.get('detail', '')))}"
            for c in failed
        ]
        out.append("")
    if turn.facts:
        out += ["Facts recalled:", ""]
        out += [
            f"- `{f.get('id')}` {_md(str(f.get('text', '')))} (source: {_md(str(f.get('source')))})"
            for f in turn.facts
        ]
        out.append("")
    return out


def _md(text: str) -> str:
    """Text on one line with Markdown's HTML and link brackets neutralised."""
    flat = " ".join(str(text).split())
    return flat.replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")


def _report_images(bundle: CaseBundle, artifacts_root: Path) -> dict[str, Path]:
    """Artifact path -> file, for image artifacts that lie inside ``artifacts_root``."""
    from app.web.paths import PathRefused, resolve_inside

    found: dict[str, Path] = {}
    for turn in bundle.turns:
        for ev in turn.evidence:
            for artifact in ev.get("artifacts", []):
                if Path(artifact).suffix.lower() not in _IMAGE_SUFFIXES:
                    continue
                try:
                    found[artifact] = resolve_inside(
                        artifact, [artifacts_root], relative_only=False
                    )
                except PathRefused:
                    continue
    return found


def write_report_zip(bundle: CaseBundle, dest: Path, artifacts_root: Path) -> Path:
    """Write ``dest`` (.zip): ``report.md`` with its images under ``images/``, linked relatively."""
    files = _report_images(bundle, artifacts_root)
    names = {a: f"{IMAGES_DIR}/{p.name}" for a, p in files.items()}
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(REPORT_NAME, report_markdown(bundle, names))
        for artifact, path in files.items():
            zf.write(path, names[artifact], compress_type=zipfile.ZIP_STORED)
    tmp.replace(dest)
    return dest


def write_markdown(bundle: CaseBundle, dest: Path, artifacts_root: Path) -> Path:
    """Write ``dest`` (.md) and copy its images into ``<stem>-images/`` beside it.

    A ``dest`` ending in ``.zip`` gets the zipped report instead.
    """
    if dest.suffix.lower() == ".zip":
        return write_report_zip(bundle, dest, artifacts_root)
    files = _report_images(bundle, artifacts_root)
    folder = dest.with_name(f"{dest.stem}-images")
    names = {a: f"{folder.name}/{p.name}" for a, p in files.items()}
    dest.parent.mkdir(parents=True, exist_ok=True)
    if files:
        folder.mkdir(exist_ok=True)
    for artifact, path in files.items():
        shutil.copyfile(path, dest.parent / names[artifact])
    dest.write_text(report_markdown(bundle, names), encoding="utf-8")
    return dest


# ---------------------------------------------------------------- GeoJSON for QuPath


def case_geojson(bundle: CaseBundle) -> dict[str, Any]:
    """The case's annotations on its latest slide as a GeoJSON FeatureCollection for QuPath.

    Regions are rectangle annotations; detected objects are detections (their box, or a point
    when no box); segmentation masks are detection polygons. Coordinates are level-0 pixels,
    clipped to the slide, every ring closed.
    """
    slide = bundle.slide
    width, height = float(slide.get("width") or 0), float(slide.get("height") or 0)
    clip = _clipper(width, height)
    features: list[dict[str, Any]] = []
    slide_id = slide.get("slide_id")
    for roi in bundle.rois:
        if slide_id and roi.get("slide_id") != slide_id:
            continue
        x0, y0, x1, y1 = roi["box"]
        features.append(
            _feature(
                _rect(x0, y0, x1, y1, clip),
                "annotation",
                "Region",
                ROI_COLOR,
                f"Region {roi['number']}",
                {"evidence": str(roi.get("evidence", "")), "turn": str(roi.get("turn", ""))},
            )
        )
    for turn in bundle.on_slide():
        for ev in turn.evidence:
            if not ev.get("ok"):
                continue
            output = ev.get("output") or {}
            meta = {"evidence": str(ev["id"]), "tool": str(ev.get("tool")), "turn": str(turn.turn)}
            for obj in output.get("objects") or []:
                geometry = _object_geometry(obj, clip)
                if geometry is not None:
                    label = str(obj.get("label") or "object")
                    features.append(
                        _feature(
                            geometry,
                            "detection",
                            label.capitalize(),
                            DETECTION_COLOR,
                            label,
                            meta,
                            _measurements(obj),
                        )
                    )
            for mask in output.get("masks") or []:
                ring = _ring(mask.get("polygon") or [], clip)
                if ring is not None:
                    label = str(mask.get("label") or "mask")
                    features.append(
                        _feature(
                            {"type": "Polygon", "coordinates": [ring]},
                            "detection",
                            label.capitalize(),
                            MASK_COLOR,
                            label,
                            meta,
                            _measurements(mask),
                        )
                    )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(bundle: CaseBundle, dest: Path) -> Path:
    """Write the case's GeoJSON to ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_text(json.dumps(case_geojson(bundle)), encoding="utf-8")
    tmp.replace(dest)
    return dest


def _clipper(width: float, height: float) -> Any:
    def clip(x: float, y: float) -> list[float]:
        cx = min(max(float(x), 0.0), width) if width else float(x)
        cy = min(max(float(y), 0.0), height) if height else float(y)
        return [round(cx, 1), round(cy, 1)]

    return clip


def _rect(x0: float, y0: float, x1: float, y1: float, clip: Any) -> dict[str, Any]:
    ring = [clip(x0, y0), clip(x1, y0), clip(x1, y1), clip(x0, y1), clip(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


def _object_geometry(obj: dict[str, Any], clip: Any) -> dict[str, Any] | None:
    box = obj.get("box")
    if isinstance(box, list) and len(box) == 4:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 > x0 and y1 > y0:
            return _rect(x0, y0, x1, y1, clip)
    point = obj.get("centroid")
    if isinstance(point, list) and len(point) == 2:
        return {"type": "Point", "coordinates": clip(*point)}
    return None


def _ring(points: list[list[float]], clip: Any) -> list[list[float]] | None:
    ring = [clip(p[0], p[1]) for p in points if isinstance(p, list | tuple) and len(p) == 2]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring if len({tuple(p) for p in ring}) >= 3 else None


def _measurements(obj: dict[str, Any]) -> dict[str, float]:
    keys = ("area_um2", "area_px", "score", "eccentricity", "hematoxylin")
    return {k: float(obj[k]) for k in keys if isinstance(obj.get(k), int | float)}


def _feature(
    geometry: dict[str, Any],
    object_type: str,
    classification: str,
    color: list[int],
    name: str,
    metadata: dict[str, str],
    measurements: dict[str, float] | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "objectType": object_type,
        "classification": {"name": classification, "color": color},
        "name": name,
        "metadata": metadata,
    }
    if measurements:
        properties["measurements"] = measurements
    return {"type": "Feature", "geometry": geometry, "properties": properties}
