"""Start the web app: Gradio settings that must precede its import, the Copilot, the server."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from app.web.paths import AppDirs
from core.settings import Settings

__all__ = ["serve"]


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Serve the app on ``host:port`` until interrupted; return the exit code.

    Analytics are off and Gradio's temporary files go to the app's web cache, both set before
    gradio is imported. The browser may fetch files from the web cache only (a case's images
    are copied there under unguessable names, see ``WebService``); uploads are capped at
    ``settings.max_upload_mb``. Up to ``settings.web_concurrency`` requests run at once, so a
    long turn in one session does not hold up the others.
    """
    dirs = AppDirs.from_settings(settings)
    dirs.ensure()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(dirs.web_cache)
    import gradio  # noqa: F401  (imported only after the variables above are set)

    from app.runner import Copilot
    from app.web.service import WebService
    from app.web.ui import build_ui, theme

    copilot = Copilot(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo = build_ui(WebService(copilot, dirs, settings))
        demo.queue(default_concurrency_limit=settings.web_concurrency)
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            allowed_paths=[str(p) for p in dirs.served],
            max_file_size=settings.max_upload_mb * 1_000_000,
            theme=theme(),
            quiet=True,
            ssr_mode=False,
            mcp_server=False,
            enable_monitoring=False,
            footer_links=[],
            prevent_thread_lock=True,
        )
        sys.stderr.write(f"smartpath app: serving on {url} (home {settings.home})\n")
        if host not in _LOOPBACK:
            sys.stderr.write(
                f"smartpath app: warning: bound to {host}, reachable from other machines, "
                "and the app has no login\n"
            )
        sys.stderr.flush()
        demo.block_thread()
    finally:
        copilot.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
