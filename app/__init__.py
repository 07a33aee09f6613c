"""Composition root and user interfaces of the co-pilot (the ``smartpath`` command).

``Copilot`` and ``TurnResult`` are imported on first use (``from app import Copilot``): the
command line imports ``app.main`` alone, and ``smartpath --help`` loads no agent machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.runner import Copilot, TurnResult

__all__ = ["Copilot", "TurnResult"]


def __getattr__(name: str) -> Any:
    """Import ``app.runner`` when one of its names is first asked for."""
    if name in __all__:
        from app import runner

        return getattr(runner, name)
    msg = f"module 'app' has no attribute {name!r}"
    raise AttributeError(msg)
