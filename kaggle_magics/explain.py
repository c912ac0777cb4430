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


def _plain(text: str) -> str:
    return " ".join(text.lower().replace("'", "").replace('"', "").split())


def reword(exc: E, message: str, hint: str | None = None) -> E:
    """A new error of the same class with ``message`` and ``hint``, plus what the backend said that neither
    says already (``kernel x not found: URL`` under ``kernel 'x' not found`` adds only the URL, and nothing
    when the hint gives it). When the backend said ``message`` and more (``kernel x not found in the local
    store (...)``), its sentence is the message: the same fact is never said twice."""
    hint = hint or exc.hint
    said = exc.message.strip()
    head, sep, tail = said.partition(": ")
    if sep and _plain(head) in _plain(message):
        said = tail.strip()
    elif _plain(message) in _plain(said):
        message, said = said, ""
    if said and _plain(said) not in _plain(message) and _plain(said) not in _plain(hint or ""):
        message = f"{message} ({said})"
    new = type(exc)(message, hint=hint)
    new.__cause__ = exc
    return new
