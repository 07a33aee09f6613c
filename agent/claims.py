"""Chain text and its checkable claims, written together (defined in ``core.narration``)."""

from __future__ import annotations

from core.narration import Writer, format_number

__all__ = ["Writer", "format_number"]
