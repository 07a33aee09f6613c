"""Gradio components and events of the case panels (``app.web.panels``).

Current region, evidence and facts cited, audit trail, export; and the click on the thumbnail.

``app.web.ui`` places the two groups of components in its columns and calls ``wire`` once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.web.panels import CasePanels
from app.web.roi_view import OVERLAYS

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["CITE_JS", "RegionPanel", "SidePanel", "region_panel", "side_panel", "wire"]

CITE_JS = """
() => {
  if (window.__smartpathCite) return;
  window.__smartpathCite = true;
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest ? ev.target.closest("a[href*='#cite-']") : null;
    if (!link) return;
    ev.preventDefault();
    ev.stopPropagation();
    let ref = "";
    try {
      ref = decodeURIComponent(link.getAttribute("href").split("#cite-")[1] || "");
    } catch (err) {
      return;
    }
    const box = document.querySelector("#cite-id textarea, #cite-id input");
    const show = document.querySelector("#cite-show");
    if (!box || !show) return;
    box.value = ref;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => {
      show.click();
      const out = document.querySelector("#cite-output");
      if (out) out.scrollIntoView({ block: "nearest" });
    }, 60);
  }, true);
}
"""
"""Turns a click on a chain citation (``#cite-ID`` link) into 'show ID' in the evidence panel."""


@dataclass
class RegionPanel:
    """The current region at full resolution and its overlay toggles."""

    image: gr.Image
    overlays: gr.CheckboxGroup
    caption: gr.Markdown


@dataclass
class SidePanel:
    """Export buttons (beside the cases) and, below the chat, cited evidence and the audit trail."""

    export_btn: gr.Button
    report_btn: gr.DownloadButton
    geojson_btn: gr.DownloadButton
    export_status: gr.Markdown
    cite_id: gr.Textbox
    cite_btn: gr.Button
    cite_out: gr.HTML
    audit: gr.HTML


def region_panel() -> RegionPanel:
    """Create the region components (inside the caller's column)."""
    import gradio as gr

    image = gr.Image(
        label="Current region (full resolution)",
        type="pil",
        format="png",
        interactive=False,
        elem_id="roi-view",
    )
    overlays = gr.CheckboxGroup(
        choices=list(OVERLAYS),
        value=list(OVERLAYS),
        label="Overlays",
        elem_id="overlays",
    )
    caption = gr.Markdown(
        "No region yet: ask for a zoom or click the slide.", elem_id="roi-caption"
    )
    return RegionPanel(image, overlays, caption)


def side_panel() -> Callable[[], SidePanel]:
    """Create the export components (inside the caller's column).

    Returns:
        A function that creates the evidence and audit components (full width, below the
        chat's row) and returns the whole panel.
    """
    import gradio as gr

    export_btn = gr.Button("Export case", elem_id="export-case")
    with gr.Row():
        report_btn = gr.DownloadButton(
            "Download report", interactive=False, elem_id="download-report"
        )
        geojson_btn = gr.DownloadButton(
            "Download GeoJSON", interactive=False, elem_id="download-geojson"
        )
    export_status = gr.Markdown("", elem_id="export-status")

    def below() -> SidePanel:
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                gr.Markdown("**Evidence and facts**: click a citation in the chain, or type an id")
                with gr.Row():
                    cite_id = gr.Textbox(
                        label="Evidence or fact id", placeholder="E1.1", elem_id="cite-id", scale=3
                    )
                    cite_btn = gr.Button("Show", elem_id="cite-show", scale=1)
                cite_out = gr.HTML("", elem_id="cite-output")
            with (
                gr.Column(scale=2, min_width=420),
                gr.Accordion("Audit trail", open=False, elem_id="audit-accordion"),
            ):
                audit = gr.HTML("<p>No case yet.</p>", elem_id="audit")
        return SidePanel(
            export_btn, report_btn, geojson_btn, export_status, cite_id, cite_btn, cite_out, audit
        )

    return below


def wire(
    demo: gr.Blocks,
    service: Any,
    session: gr.State,
    overview: gr.Image,
    chat: gr.Chatbot,
    region: RegionPanel,
    side: SidePanel,
    click_outputs: list[Any],
    ask_and_show: Callable[[Any, str], Iterator[tuple[Any, ...]]],
) -> None:
    """Connect the panels: refresh when the chat changes, toggles redraw, clicks zoom, export.

    Args:
        demo: the app's Blocks (for the page-load script).
        service: the app's ``WebService``.
        session: the session's ``gr.State``.
        overview: the slide thumbnail (its select event sets the region).
        chat: the chat (its change refreshes the panels).
        region: the region components.
        side: export, evidence and audit components.
        click_outputs: the components ``ask_and_show``'s tuple fills (the slide panel and chat).
        ask_and_show: asks the Copilot in the session's case, yielding the slide panel's values
            as the turn streams.
    """
    import gradio as gr

    panels = CasePanels(service)

    def refresh(state: Any, show: list[str]) -> tuple[Any, ...]:
        image, caption = panels.roi(state, show)
        if not state.case_id:
            # no case, so no export to make stale; the chat's change event also fires on page
            # load, and clearing here would race an early "no case to export yet" away
            return image, caption, panels.audit(state), gr.skip(), gr.skip(), gr.skip()
        stale = gr.DownloadButton(value=None, interactive=False)  # the case moved on: re-export
        return image, caption, panels.audit(state), stale, stale, ""

    def redraw(state: Any, show: list[str]) -> tuple[Any, ...]:
        return panels.roi(state, show)

    def on_point(state: Any, evt: gr.SelectData) -> Iterator[tuple[Any, ...]]:
        question, error = panels.point_question(state, evt.index)
        if question is None:
            yield (*(gr.skip() for _ in click_outputs), f"**Error:** {error}")
            return
        for values in ask_and_show(state, question):
            yield (*values, gr.skip())

    # gradio finds the SelectData parameter by its annotation object, not the postponed string
    on_point.__annotations__["evt"] = gr.SelectData

    def on_cite(state: Any, ref: str) -> str:
        return panels.citation(state, ref)

    def on_export(state: Any) -> tuple[Any, ...]:
        files = panels.export(state)
        if files.error:
            off = gr.DownloadButton(value=None, interactive=False)
            return off, off, f"**Error:** {files.error}"
        return (
            gr.DownloadButton(value=str(files.report), interactive=True),
            gr.DownloadButton(value=str(files.geojson), interactive=True),
            f"Exported {state.case_id}: report (Markdown with its images, zipped) and GeoJSON.",
        )

    refresh_out = [
        region.image,
        region.caption,
        side.audit,
        side.report_btn,
        side.geojson_btn,
        side.export_status,
    ]
    chat.change(refresh, [session, region.overlays], refresh_out, trigger_mode="always_last")
    region.overlays.change(redraw, [session, region.overlays], [region.image, region.caption])
    # the turn changes the chat, whose change event then refreshes the panels
    overview.select(on_point, [session], [*click_outputs, region.caption])
    side.cite_btn.click(on_cite, [session, side.cite_id], side.cite_out)
    side.cite_id.submit(on_cite, [session, side.cite_id], side.cite_out)
    side.export_btn.click(
        on_export, [session], [side.report_btn, side.geojson_btn, side.export_status]
    )
    demo.load(None, None, None, js=CITE_JS)
