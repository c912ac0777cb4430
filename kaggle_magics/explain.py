"""Backend errors reworded for the workflow at hand: which kernel, dataset or competition, and the page that
fixes it.

Backends raise :class:`NotFound` / :class:`PermissionDenied` with what the server said; only the workflow
knows what the user was trying to do, so it names the thing and the URL here, keeping the error's class
(callers and the CLI's exit codes rely on it) and the server's words as the cause.
"""

from __future__ import annotations

from typing import TypeVar

from .errors import KaggleMagicsError

E = TypeVar("E", bound=KaggleMagicsError)


def reword(exc: E, message: str, hint: str | None = None) -> E:
    """A new error of the same class with ``message`` (the server's text appended) and ``hint``."""
    said = exc.message.strip()
    if said and said.lower() not in message.lower():
        message = f"{message} ({said})"
    new = type(exc)(message, hint=hint or exc.hint)
    new.__cause__ = exc
    return new
