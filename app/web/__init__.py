"""The web app (``smartpath app``): Gradio UI over the same Copilot and cases as the CLI."""

from __future__ import annotations

from app.web.paths import AppDirs, PathRefused, resolve_inside
from app.web.server import serve
from app.web.uploads import UploadRejected, accept_upload

__all__ = ["AppDirs", "PathRefused", "UploadRejected", "accept_upload", "resolve_inside", "serve"]
