"""Exception hierarchy of the co-pilot.

::

    CopilotError
    ├── ConfigError            a setting is missing or invalid
    ├── PlanError              a request cannot be turned into tool steps
    ├── VerificationError      the verifier itself cannot run
    ├── CaseError              a case cannot be created, found or continued
    │   └── CaseBusyError      another turn of the case held it too long: exit code 3
    └── ToolError              a tool could not produce its output
        ├── ToolInputError     the input is bad (user's fault): exit code 2
        │   ├── SlideOpenError     the file is not a slide we can open
        │   ├── RegionError        the region is off the slide or over the pixel budget
        │   └── SlideReadError     pixels could not be decoded (corrupt or truncated file)
        ├── ToolServerError    a required backend is down or broken: exit code 3
        ├── ToolTimeout        a backend did not answer in time: exit code 3
        └── ModelOutputError   a model answered, but unreadably: exit code 3

Every message is a single line meant for the user; no traceback reaches the UI or the LLM.
"""

from __future__ import annotations

__all__ = [
    "CaseBusyError",
    "CaseError",
    "ConfigError",
    "CopilotError",
    "PlanError",
    "RegionError",
    "SlideOpenError",
    "SlideReadError",
    "ToolError",
    "ToolInputError",
    "ToolServerError",
    "ToolTimeout",
    "VerificationError",
    "ModelOutputError",
    "error_kind",
    "excerpt",
]


class CopilotError(Exception):
    """Base of every error the co-pilot raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ConfigError(CopilotError):
    """A setting is missing or invalid; the message names the setting."""


class PlanError(CopilotError):
    """A request cannot be turned into tool steps."""


class VerificationError(CopilotError):
    """The verifier cannot run (not: a claim failed verification)."""


class CaseError(CopilotError):
    """A case cannot be created, found or continued."""


class CaseBusyError(CaseError):
    """Another turn of the case (in this or any process) held it longer than the wait allowed."""


class ToolError(CopilotError):
    """A tool could not produce its output."""


class ToolInputError(ToolError):
    """The tool's input is bad: a wrong argument, an unreadable file."""


class SlideOpenError(ToolInputError):
    """The file is not a slide or image the slide layer can open."""


class RegionError(ToolInputError):
    """A requested region is off the slide, empty, or over the pixel budget."""


class SlideReadError(ToolInputError):
    """Pixels could not be decoded from an opened slide (corrupt or truncated file)."""


class ToolServerError(ToolError):
    """A required backend (model server, database) is unavailable."""


class ToolTimeout(ToolServerError):
    """A backend did not answer within its timeout."""


class ModelOutputError(ToolError):
    """A model answered, but its text cannot be read as the expected output."""


def excerpt(text: str, limit: int = 80) -> str:
    """Quote ``text`` on one line, cut to ``limit`` characters, for an error message."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def error_kind(exc: Exception) -> str:
    """The kind of a failure, which sets the CLI's exit code.

    ``backend`` (down or slow: 3), ``input`` (the user's: 2), ``output`` (malformed model
    output: 3) or ``internal`` (a bug: 1).
    """
    if isinstance(exc, ToolServerError):
        return "backend"
    if isinstance(exc, ToolInputError):
        return "input"
    return "output" if isinstance(exc, ModelOutputError) else "internal"
