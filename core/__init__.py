"""The bottom layer every other package uses: errors, settings, HTTP, progress, narration.

The chain writer and its claims (``narration``) and claimable output fields (``claimable``)
are here so that a tool file can narrate its own output.

``tools/`` and ``memory/`` import only ``core/`` (never ``agent/``); ``agent/`` uses all three;
``app/`` and ``eval/`` compose them.
"""
