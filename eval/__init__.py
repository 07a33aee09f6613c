"""Scripted agent evaluations (suites, scorers, reports); no evaluation is implemented yet."""

from __future__ import annotations

__all__: list[str] = []
