"""Gradio Blocks layout of the web app: slide panel, chat, cases; callbacks only delegate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from app.web import kg_panel_ui, panels_ui
from app.web.service import SessionState, SlideView, WebService
from app.web.text import as_text

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["build_ui", "theme"]

INTRO = (
    "Open the sample or upload a slide, then ask, e.g. *What is the size, magnification and "
    "resolution?*, *How much of it is tissue?*, *Zoom to the largest tissue region at 20x*. "
    "Answers stream in: each step and tool call shows as it happens, then the answer and its "
    "verified chain. Other sessions keep working while a long turn runs."
)


def theme() -> gr.themes.Base:
    """The default theme with local fonts only (the page makes no request to font services)."""
    import gradio as gr

    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build_ui(service: WebService) -> gr.Blocks:
    """Lay out the app and connect each control to one ``WebService`` method."""
    import gradio as gr

    with gr.Blocks(title="SmartPath Co-pilot", analytics_enabled=False) as demo:
        session = gr.State(SessionState())
        gr.Markdown(f"## SmartPath Co-pilot\n{INTRO}")
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                with gr.Row():
                    sample_btn = gr.Button("Open sample", elem_id="open-sample")
                    upload_btn = gr.UploadButton("Upload slide", elem_id="upload-slide")
                status = gr.Markdown("", elem_id="slide-status")
                overview = gr.Image(
                    label="Slide (tissue outline, numbered regions)",
                    type="pil",
                    format="png",
                    interactive=False,
                    elem_id="overview",
                )
                caption = gr.Markdown("No slide open.", elem_id="slide-caption")
                region = panels_ui.region_panel()
            with gr.Column(scale=2, min_width=420):
                # text from users and files is escaped (app.web.text); no LaTeX, no custom tags
                chat = gr.Chatbot(
                    label="Case",
                    height=620,
                    elem_id="chat",
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                )
                question = gr.Textbox(
                    label="Question", placeholder="Ask about the slide…", elem_id="question"
                )
                ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
            with gr.Column(scale=1, min_width=260):
                cases = gr.Dropdown(label="Cases", choices=[], value=None, elem_id="cases")
                with gr.Row():
                    open_btn = gr.Button("Open case", elem_id="open-case")
                    refresh_btn = gr.Button("Refresh", elem_id="refresh-cases")
                new_btn = gr.Button("New case", elem_id="new-case")
                side_below = panels_ui.side_panel()
                kg = kg_panel_ui.kg_panel()
        side = side_below()

        panel = [session, overview, caption, status, chat]

        def show(view: SlideView, state: SessionState) -> tuple[Any, ...]:
            if view.error:
                return state, gr.skip(), gr.skip(), f"**Error:** {as_text(view.error)}", gr.skip()
            return state, view.image, view.caption, "", state.messages

        def on_sample(state: SessionState) -> tuple[Any, ...]:
            return show(service.open_sample(state), state)

        def on_upload(state: SessionState, received: str | None) -> tuple[Any, ...]:
            return show(service.upload(state, received), state)

        def on_open(state: SessionState, case_id: str | None) -> tuple[Any, ...]:
            return show(service.open_case(state, case_id), state)

        def on_new(state: SessionState) -> tuple[Any, ...]:
            return show(service.new_case(state), state)

        def on_ask(state: SessionState, text: str) -> Iterator[tuple[Any, ...]]:
            cleared: Any = ""  # the question box empties as soon as the turn starts
            regions = service.roi_count(state)
            for messages in service.ask_stream(state, text):
                if messages and messages[-1].get("metadata", {}).get("status") == "pending":
                    yield state, gr.skip(), gr.skip(), gr.skip(), messages, cleared
                    cleared = gr.skip()
            # the finished turn, the slide panel and the case id change in one update
            state, image, caption, status, _ = show(service.view(state), state)
            if service.roi_count(state) == regions:
                image = gr.skip()  # no new region to draw: the overview stays as it is
            yield state, image, caption, status, state.messages, cleared

        def on_refresh() -> Any:
            return gr.Dropdown(choices=service.case_choices(), value=None)

        sample_btn.click(on_sample, [session], panel)
        upload_btn.upload(on_upload, [session, upload_btn], panel)
        open_btn.click(on_open, [session, cases], panel)
        new_btn.click(on_new, [session], panel)
        ask_event = {
            "fn": on_ask,
            "inputs": [session, question],
            "outputs": [*panel, question],
        }
        ask_btn.click(**ask_event).then(on_refresh, None, cases)
        question.submit(**ask_event).then(on_refresh, None, cases)
        refresh_btn.click(on_refresh, None, cases)
        demo.load(on_refresh, None, cases)

        def ask_and_show(state: SessionState, text: str) -> Iterator[tuple[Any, ...]]:
            for *values, _ in on_ask(state, text):  # streamed like a typed question
                yield tuple(values)

        panels_ui.wire(demo, service, session, overview, chat, region, side, panel, ask_and_show)
        kg_panel_ui.wire(kg, service.kg)
    return demo
