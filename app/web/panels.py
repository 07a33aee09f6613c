"""The web app's case panels: current ROI, thumbnail clicks, citations, audit trail, export.

Every method takes the session's state and returns what a panel shows; a failure a user can
cause comes back as one line, never a traceback. Nothing here runs a tool except
``point_question``'s caller asking the Copilot, as the chat would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import logging
import re
import secrets
from pathlib import Path
from typing import Any

from PIL import Image

from app.case_export import CaseBundle, bundle_from, shorten, write_geojson, write_report_zip
from app.web.paths import PathRefused, place_once, resolve_inside
from app.web.roi_view import DISPLAY_PX, OVERLAYS, draw_roi, overlays_in
from core.errors import CopilotError
from tools.types import Box

__all__ = ["CasePanels", "ExportFiles"]

logger = logging.getLogger(__name__)

_CITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:#/+-]{0,127}$")
_MAX_AUDIT_ROWS = 500


class ExportFiles:
    """Where an export was written (inside the app's web cache), or why it was not."""

    def __init__(
        self, report: Path | None = None, geojson: Path | None = None, error: str = ""
    ) -> None:
        self.report, self.geojson, self.error = report, geojson, error


class CasePanels:
    """Panels beside the chat, over the web service's Copilot and folders."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.copilot = service.copilot
        self.dirs = service.dirs
        self.settings = service.settings

    # ------------------------------------------------------------ the case
    def bundle(self, session: Any) -> CaseBundle | None:
        """The session's case as its checkpoint and audit log hold it, or None (no case yet)."""
        if not session.case_id:
            return None
        _, state = self.copilot.case(session.case_id)
        return bundle_from(session.case_id, state, self.copilot.audit.read(session.case_id))

    # ------------------------------------------------------------ current ROI
    def roi(self, session: Any, show: list[str] | None) -> tuple[Path | None, str]:
        """The case's current ROI with the chosen overlays (a PNG in the web cache), and a caption.

        The drawn view is written once per content under a name made from its hash, and put in
        place by a rename: the panel refreshes more than once a turn, and a browser fetching the
        view never reads a file that another refresh is rewriting.
        """
        if not session.case_id or not session.slide_path:
            return None, "No region yet: ask for a zoom or click the slide."
        try:
            _, state = self.copilot.case(session.case_id)
            rois = {r["number"]: r for r in state.get("rois") or []}
            roi = rois.get(state.get("current_roi")) if state.get("current_roi") else None
            slide = self.copilot.slides.open(session.slide_path)
            if roi is None or roi.get("slide_id") != slide.metadata.slide_id:
                return None, "No region yet: ask for a zoom or click the slide."
            bundle = bundle_from(session.case_id, state, self.copilot.audit.read(session.case_id))
            image = self._roi_pixels(roi, slide)
            found = overlays_in(roi["box"], (e for t in bundle.on_slide() for e in t.evidence))
            tissue = self.copilot.slides.tissue(slide, self.settings.thumbnail_px)
            drawn = draw_roi(
                image,
                roi["box"],
                found,
                show=[s for s in show or [] if s in OVERLAYS],
                tissue_mask=tissue.mask,
                tissue_downsample=tissue.downsample,
            )
        except CopilotError as exc:
            return None, f"**Error:** {_line(exc)}"
        x0, y0, x1, y1 = roi["box"]
        parts = [
            f"**Region {roi['number']}** · box [{x0}, {y0}, {x1}, {y1}] level-0 px",
            f"{len(found.boxes) + len(found.points)} detection(s)",
            f"{len(found.polygons)} mask(s)",
        ]
        if found.sources:
            parts.append("from " + ", ".join(found.sources))
        try:
            view = self._published_view(drawn)
        except OSError as exc:
            return None, f"**Error:** the region view could not be written: {_line(exc)}"
        return view, " · ".join(parts)

    def _published_view(self, image: Image.Image) -> Path:
        """``image`` as a PNG in the web cache, in a folder named by its content's hash."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        folder = self.dirs.web_cache / "region-views" / hashlib.sha256(data).hexdigest()[:40]
        return place_once(folder / "region.png", lambda partial: partial.write_bytes(data))

    def _roi_pixels(self, roi: dict[str, Any], slide: Any) -> Image.Image:
        """The region's view artifact, or a fresh read when it is missing or coarser than shown."""
        x0, y0, x1, y1 = roi["box"]
        shown = min(DISPLAY_PX, max(x1 - x0, y1 - y0))  # longest side the panel will show
        artifact = roi.get("artifact")
        if artifact:
            try:
                path = resolve_inside(artifact, [self.dirs.artifacts], relative_only=False)
                with Image.open(path) as img:
                    if max(img.size) >= shown:
                        return img.convert("RGB")
            except (PathRefused, OSError):
                logger.debug("ROI artifact unreadable, reading the slide", exc_info=True)
        downsample = max(1.0, max(x1 - x0, y1 - y0) / DISPLAY_PX)
        read = slide.read_region(
            Box(x0=x0, y0=y0, x1=x1, y1=y1),
            downsample=downsample,
            max_pixels=(DISPLAY_PX + 2) ** 2,
        )
        return Image.fromarray(read.image)

    # ------------------------------------------------------------ thumbnail click
    def point_question(self, session: Any, index: Any) -> tuple[str | None, str]:
        """The zoom request for a click at thumbnail pixel ``index`` = [x, y], or an error."""
        if not session.slide_path:
            return None, "open the sample or upload a slide first"
        try:
            x, y = (float(v) for v in index)
        except (TypeError, ValueError):
            return None, "the click gave no position on the slide"
        try:
            slide = self.copilot.slides.open(session.slide_path)
            _, downsample = slide.thumbnail(self.settings.thumbnail_px)
        except CopilotError as exc:
            return None, _line(exc)
        meta = slide.metadata
        lx = min(max(round(x * downsample), 0), meta.width - 1)
        ly = min(max(round(y * downsample), 0), meta.height - 1)
        question = f"Zoom to ({lx}, {ly})"
        if meta.objective_power:
            question += f" at {min(20.0, float(meta.objective_power)):g}x"
        return question, ""

    # ------------------------------------------------------------ citations
    def citation(self, session: Any, ref: str | None) -> str:
        """HTML showing one cited evidence's tool output, or one fact's text and source."""
        ref = (ref or "").strip()
        if not ref:
            return "Click a citation in the reasoning chain, or type an evidence or fact id."
        if not _CITE_RE.match(ref):
            return f"<p><b>Error:</b> {html.escape(ref[:80])!s} is not an evidence or fact id</p>"
        try:
            bundle = self.bundle(session)
        except CopilotError as exc:
            return f"<p><b>Error:</b> {html.escape(_line(exc))}</p>"
        if bundle is None:
            return "<p>No case yet: ask a question first.</p>"
        evidence, facts = bundle.evidence, bundle.facts
        if ref in evidence:
            return _evidence_html(evidence[ref])
        if ref in facts:
            return _fact_html(facts[ref])
        known = ", ".join([*evidence, *facts]) or "none"
        return (
            f"<p><b>Error:</b> no evidence or fact {html.escape(ref)} in this case "
            f"(ids: {html.escape(known[:400])})</p>"
        )

    # ------------------------------------------------------------ audit trail
    def audit(self, session: Any) -> str:
        """The case's audit log as an HTML table, most recent last (read only)."""
        if not session.case_id:
            return "<p>No case yet.</p>"
        try:
            records = self.copilot.audit.read(session.case_id)
        except (CopilotError, OSError) as exc:
            return f"<p><b>Error:</b> {html.escape(_line(exc))}</p>"
        if not records:
            return "<p>The audit log of this case is empty.</p>"
        shown = records[-_MAX_AUDIT_ROWS:]
        rows = [
            "<tr><th>time (UTC)</th><th>kind</th><th>turn</th><th>record</th></tr>",
            *(_audit_row(r) for r in shown),
        ]
        note = (
            f"<p>Last {len(shown)} of {len(records)} records.</p>"
            if len(shown) < len(records)
            else f"<p>{len(records)} records, oldest first.</p>"
        )
        path = html.escape(str(self.copilot.audit.path(session.case_id).name))
        return (
            f"{note}<p>Log file: <code>{path}</code></p>"
            f"<table class='sp-audit' style='width:100%;font-size:0.85em'>{''.join(rows)}</table>"
        )

    # ------------------------------------------------------------ export
    def export(self, session: Any) -> ExportFiles:
        """Write the case's report (zip) and GeoJSON into a fresh folder of the web cache."""
        if not session.case_id:
            return ExportFiles(error="no case to export yet: ask a question first")
        try:
            bundle = self.bundle(session)
            assert bundle is not None
            if not bundle.turns:
                return ExportFiles(error="the case has no answered turn to export yet")
            folder = self.dirs.web_cache / "exports" / secrets.token_hex(8)
            report = write_report_zip(
                bundle, folder / f"{bundle.case_id}-report.zip", self.dirs.artifacts
            )
            geojson = write_geojson(bundle, folder / f"{bundle.case_id}.geojson")
        except (CopilotError, OSError) as exc:
            return ExportFiles(error=f"export failed: {_line(exc)}")
        return ExportFiles(report=report, geojson=geojson)


def _evidence_html(ev: dict[str, Any]) -> str:
    state = "ok" if ev.get("ok") else "failed"
    head = (
        f"{ev['id']} {ev.get('tool')} · expert {ev.get('expert') or 'built-in'} · "
        f"{ev.get('backend') or '-'} · {float(ev.get('seconds') or 0):.2f} s · {state}"
    )
    text = ev.get("summary", "") if ev.get("ok") else ev.get("error") or ev.get("summary", "")
    body = json.dumps(
        shorten({"inputs": ev.get("inputs", {}), "output": ev.get("output", {})}),
        indent=1,
        ensure_ascii=False,
    )
    return (
        f"<div class='sp-cited' id='sp-cited-{html.escape(str(ev['id']))}'>"
        f"<p><b>Tool output {html.escape(head)}</b></p>"
        f"<p>{html.escape(str(text))}</p>"
        f"<p style='word-break:break-all'>output sha256 "
        f"<code>{html.escape(str(ev.get('output_sha256') or '-'))}</code></p>"
        f"<pre style='max-height:28em;overflow:auto'>{html.escape(body)}</pre></div>"
    )


def _fact_html(fact: dict[str, Any]) -> str:
    return (
        f"<div class='sp-cited'><p><b>Fact {html.escape(str(fact.get('id')))}</b>: "
        f"{html.escape(str(fact.get('text', '')))}</p>"
        f"<p>Source: {html.escape(str(fact.get('source', '?')))} · entity "
        f"{html.escape(str(fact.get('entity', '?')))} · linked via "
        f"{html.escape(str(fact.get('via', '?')))}</p></div>"
    )


def _audit_row(rec: dict[str, Any]) -> str:
    ts = rec.get("ts")
    when = (
        dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(ts, int | float)
        else "?"
    )
    kind = str(rec.get("kind", "?"))
    turn = str(rec.get("turn", ""))
    if kind == "request":
        what = f"request: {rec.get('request', '')}"
    elif kind == "tool_call":
        state = "ok" if rec.get("ok") else "failed"
        sha = str(rec.get("output_sha256") or "")[:12]
        what = (
            f"{rec.get('id')} {rec.get('tool')} · expert {rec.get('expert') or 'built-in'} · "
            f"{rec.get('backend') or '-'} · {float(rec.get('seconds') or 0):.2f} s · {state} · "
            f"output sha256 {sha}… · {rec.get('summary') or rec.get('error') or ''}"
        )
    elif kind == "interrupted":
        what = (
            f"turn {turn} did not complete ({rec.get('reason', '')}); nodes left: "
            f"{', '.join(rec.get('pending') or []) or '-'}; the case continues from turn "
            f"{rec.get('continues_from_turn')}"
        )
    elif kind == "turn":
        status = (rec.get("verification") or {}).get("status", "none")
        what = f"answer ({status}; evidence {', '.join(rec.get('evidence', []))}): " + str(
            rec.get("answer", "")
        )
    else:
        what = json.dumps(shorten({k: v for k, v in rec.items() if k not in ("ts", "kind")}))
    what = " ".join(what.split())[:600]
    return (
        f"<tr style='vertical-align:top'><td style='white-space:nowrap'>{when}</td>"
        f"<td>{html.escape(kind)}</td><td>{html.escape(turn)}</td>"
        f"<td>{html.escape(what)}</td></tr>"
    )


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
