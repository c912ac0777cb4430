"""Names a bundle may hold: one plain file name each, checked before anything is installed or unpacked.

A bundle is flat, so every name in its manifest (and the folder name a packed folder unpacks to) is a single
path component. A name made of dots, or holding ``..``, a separator or a control character, could make a path
that leaves the folder (``..``) or stands for the folder itself (``.``): such a manifest is hostile or corrupt.
"""

from __future__ import annotations

from ..errors import BundleError

HOSTILE_HINT = "the bundle is corrupt or was not written by a freeze: freeze it again"
MAX_BYTES = 255  # what a file name may take on Linux


def plain_name_problem(name: object) -> str | None:
    """Why ``name`` is not one plain file name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "it is empty"
    if set(name) <= {"."}:
        return "it is made of dots only"
    if ".." in name:
        return "it holds '..'"
    if "/" in name or "\\" in name:
        return "it holds a path separator"
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        return "it holds a control character"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return f"it is longer than {MAX_BYTES} bytes"
    return None


def check_name(name: object, what: str) -> str:
    """``name`` when it is one plain file name; else a BundleError naming ``what`` and why."""
    problem = plain_name_problem(name)
    if problem is not None:
        raise BundleError(f"{what} {name!r} is not a plain file name: {problem}", hint=HOSTILE_HINT)
    assert isinstance(name, str)
    return name
