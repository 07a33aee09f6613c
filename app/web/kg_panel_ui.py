"""Gradio components and events of the knowledge-graph panel (``app.web.kg_panel``).

``app.web.ui`` places the accordion in its cases column and calls ``wire`` once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.web.kg_panel import KGPanel

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["BUILD_CONCURRENCY_ID", "KGComponents", "kg_panel", "wire"]

BUILD_CONCURRENCY_ID = "kg-build"
"""The build's own queue group: a build never takes one of the chat turns' places."""


@dataclass
class KGComponents:
    """The accordion with the store's status, the build button and the build's progress."""

    accordion: gr.Accordion
    status: gr.Markdown
    build_btn: gr.Button
    log: gr.Markdown


def kg_panel() -> KGComponents:
    """Create the knowledge-graph accordion (inside the caller's column), closed."""
    import gradio as gr

    with gr.Accordion("Knowledge graph", open=False, elem_id="kg-accordion") as accordion:
        status = gr.Markdown("Reading the knowledge graph's status…", elem_id="kg-status")
        build_btn = gr.Button("Build / refresh knowledge graph", elem_id="kg-build")
        log = gr.Markdown("", elem_id="kg-build-log")
    return KGComponents(accordion, status, build_btn, log)


def wire(kg: KGComponents, panel: KGPanel) -> None:
    """Show the status when the accordion opens; stream a build into the panel on click.

    The build's event has a queue group of its own with no limit, so a second click (from any
    session) is answered at once with "already running" and no chat turn waits for a build.
    """
    import gradio as gr

    def on_open() -> str:
        return panel.status()

    def on_build() -> Iterator[tuple[Any, Any]]:
        for text in panel.build():
            yield text, gr.skip()
        yield gr.skip(), panel.status()

    kg.accordion.expand(on_open, None, kg.status)
    kg.build_btn.click(
        on_build,
        None,
        [kg.log, kg.status],
        concurrency_id=BUILD_CONCURRENCY_ID,
        concurrency_limit=None,
    )
