"""Scripted agent evaluations: scorers (detection metrics) and measurements on real data."""

from __future__ import annotations

__all__: list[str] = []
