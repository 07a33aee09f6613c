"""Pure functions from turns and cases to Gradio chat messages (plain dicts, no gradio import).

Every text that comes from a user, a file or a model is shown through ``as_text``: the chat
renders Markdown, and the only markup in a message is the app's own (bold marks, the chain's
list, citation links).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.runner import TurnResult
from app.web.text import as_text

__all__ = [
    "render_chain",
    "render_error",
    "render_finding",
    "render_tool_call",
    "render_turn",
    "user_message",
]

Message = dict[str, Any]
_CITE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:#/+-]{0,127}$")
ImageFilter = Callable[[str], Path | None]
"""Returns the file to show for an artifact path, or None when it must not be shown."""


def render_turn(result: TurnResult, image_file: ImageFilter) -> list[Message]:
    """Messages of one answered turn: the request, each tool call, the answer, images, the chain.

    Each tool call is a collapsible message (``metadata.title``) naming its evidence id, tool,
    expert, backend, duration and status.
    """
    messages: list[Message] = [user_message(result.request)]
    messages.extend(_tool_call(ev) for ev in result.evidence)
    messages.append({"role": "assistant", "content": as_text(result.answer) or "(no answer)"})
    for artifact in result.artifacts:
        shown = image_file(artifact)
        if shown is not None and shown.suffix.lower() in {".png", ".jpg", ".jpeg"}:
            messages.append({"role": "assistant", "content": {"path": str(shown)}})
    messages.append({"role": "assistant", "content": render_chain(result)})
    return messages


def render_chain(result: TurnResult) -> str:
    """Markdown: the verification status, then each step with its mark and cited ids."""
    v = result.verification
    status = v.get("status", "none")
    share = 100 * float(v.get("steps_verified", 0.0))
    lines = [f"**Reasoning chain: {status}** ({share:.0f}% of steps verified)", ""]
    for n, step in enumerate(result.chain, 1):
        mark = "**verified**" if step["verified"] else "**UNVERIFIED**"
        cites = ", ".join(cite_link(c) for c in step["evidence"]) or "no citation"
        text = as_text(step["text"])
        lines.append(f"{n}. [{step['kind']}] {text} — {mark}; cites {cites}")
    failed = [c for c in v.get("checks", []) if not c.get("ok")]
    if failed:
        lines.append("")
        for check in failed:
            where = check.get("step") or "answer"
            detail = as_text(check.get("detail", ""))
            lines.append(f"- failed check: {where} {check['name']}: {detail}")
    return "\n".join(lines)


def cite_link(ref: str) -> str:
    """A citation as a link the page turns into "show this tool output or fact" (see panels).

    Ids outside the safe alphabet stay plain text, never a link.
    """
    if _CITE_ID_RE.match(ref):
        return f"[{as_text(ref)}](#cite-{quote(ref, safe='')})"
    return as_text(ref)


def render_finding(finding: dict[str, Any]) -> list[Message]:
    """An earlier turn of a reopened case: its request and answer with the verification status."""
    status = finding.get("status") or "none"
    answer = as_text(finding.get("answer", ""))
    return [
        user_message(finding.get("request", "")),
        {"role": "assistant", "content": f"{answer}\n\n_(turn {finding.get('turn')}, {status})_"},
    ]


def render_error(request: str, message: str) -> list[Message]:
    """A request that could not be answered, with the one-line reason."""
    return [user_message(request), {"role": "assistant", "content": f"Error: {as_text(message)}"}]


def user_message(text: str) -> Message:
    """A user's question as the chat shows it: as typed, one line, no markup."""
    return {"role": "user", "content": as_text(text)}


def render_tool_call(ev: dict[str, Any]) -> Message:
    """One tool call as the collapsible message a turn shows (also while a turn streams)."""
    return _tool_call(ev)


def _tool_call(ev: dict[str, Any]) -> Message:
    ok = bool(ev.get("ok"))
    expert = ev.get("expert") or "built-in"
    backend = ev.get("backend") or "-"
    seconds = float(ev.get("seconds") or 0.0)
    state = "ok" if ok else "failed"
    title = (
        f"Tool call {ev['id']} {ev['tool']} · expert {expert} · {backend} · "
        f"{seconds:.2f} s · {state}"
    )
    body = as_text(ev.get("summary", "") if ok else ev.get("error") or ev.get("summary", ""))
    return {
        "role": "assistant",
        "content": body,
        "metadata": {"title": title, "id": ev["id"], "status": "done", "duration": seconds},
    }
