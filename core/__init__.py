"""The bottom layer every other package uses: errors, settings, the HTTP client, progress.

``tools/`` and ``memory/`` import only ``core/`` (never ``agent/``); ``agent/`` uses all three;
``app/`` and ``eval/`` compose them.
"""
