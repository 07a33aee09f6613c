"""Composition root and user interfaces of the co-pilot (the ``smartpath`` command)."""

from __future__ import annotations

from app.runner import Copilot, TurnResult

__all__ = ["Copilot", "TurnResult"]
