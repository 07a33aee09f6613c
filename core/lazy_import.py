"""Modules imported when first used: image libraries that a question about metadata never needs.

``ndi = lazy_module("scipy.ndimage")`` at the top of a module imports nothing; the first
attribute read (``ndi.label``) imports ``scipy.ndimage`` through the import system, whose
per-module locks make it safe from several threads. (``importlib.util.LazyLoader`` is not,
before Python 3.12.)
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _Deferred(ModuleType):
    """Stands for a module until one of its attributes is read, then reads it from the module."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # copy, pickle and help probe these: no import for them
            raise AttributeError(attr)
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> ModuleType:
    """A stand-in for the module ``name`` that imports it when one of its attributes is read."""
    return _Deferred(name)
