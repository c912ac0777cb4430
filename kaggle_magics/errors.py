"""The error family.

Every failure the user can fix is a :class:`KaggleMagicsError`: one line that names the culprit, and a hint
that says what to do. IPython shows it through ``_render_traceback_`` (no traceback); the CLI prints
``error: ...`` and ``hint: ...`` and exits non-zero. Bad *arguments* to a magic are IPython's ``UsageError``
instead, which IPython shows as one line too.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator


class KaggleMagicsError(Exception):
    """A failure with a one-line message and an optional hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        text = f"{type(self).__name__}: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def _render_traceback_(self) -> list[str]:  # IPython hook: shown instead of a traceback
        return self.render().splitlines()


class InvalidRef(KaggleMagicsError, ValueError):
    """A kernel, dataset, model or competition reference that does not parse."""

    exit_code = 2


class MetadataError(KaggleMagicsError, ValueError):
    """kernel-metadata.json or dataset-metadata.json is malformed or invalid."""

    exit_code = 2


class NotebookError(KaggleMagicsError):
    """A notebook or script that cannot be read or converted."""

    exit_code = 2


class ConfigError(KaggleMagicsError):
    """Bad configuration: pyproject.toml, %config or environment variables."""

    exit_code = 2


class CredentialsError(KaggleMagicsError):
    """No usable Kaggle credentials."""


class BackendError(KaggleMagicsError):
    """A Kaggle (or local Kaggle) call failed."""


class MaybeApplied(BackendError):
    """A write whose answer was lost and whose effect could not be checked: it may have happened, so it was
    not repeated (repeating it blindly could make a second version, run or submission)."""


class NotFound(BackendError):
    """A kernel, dataset, model or competition that does not exist (or is not visible)."""


class PermissionDenied(BackendError):
    """401/403: not allowed, or competition rules not accepted."""


class RateLimited(BackendError):
    """429 that outlived our retries."""


class RunFailed(KaggleMagicsError):
    """A kernel run ended in ERROR, or timed out."""


class BundleError(KaggleMagicsError):
    """Freezing or installing an offline dependency bundle failed."""


class InputError(KaggleMagicsError):
    """A file or folder a command was given is missing, or holds nothing it can use."""

    exit_code = 2


class PathError(KaggleMagicsError):
    """A path the file system refuses (a name too long, a folder not writable)."""

    exit_code = 2


_NAME_MAX = 255


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 48 else repr(name[:24] + "..." + name[-16:])


def from_os_error(exc: OSError) -> KaggleMagicsError | None:
    """The one-line error for an OSError the user can fix (a name too long, no permission, a read-only or
    full disk), or None for one that is not theirs to fix."""
    path = os.fsdecode(exc.filename) if exc.filename is not None else None
    if exc.errno == errno.ENAMETOOLONG:
        parts = path.split(os.sep) if path else []
        longest = max(parts, key=len, default="")
        if len(longest) > _NAME_MAX:
            return PathError(
                f"the name {_shown(longest)} has {len(longest)} characters: file systems allow {_NAME_MAX}",
                hint="shorten it (a folder or file name comes from a kernel slug, --dest, --dir, --out or --name)",
            )
        return PathError(
            f"the path {_shown(path or '')} is too long ({len(path or '')} characters)",
            hint="choose a shorter folder",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and path:
        why = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return PathError(f"{path}: {why}", hint="choose a folder you can write to (--dest, --dir, --out)")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return KaggleMagicsError(
            f"no space left on the device{f' while writing {path}' if path else ''}",
            hint="free some space, or choose another folder",
        )
    return None


@contextlib.contextmanager
def os_errors() -> Iterator[None]:
    """Turn the OSErrors a user can fix into a :class:`KaggleMagicsError` (one line and a hint)."""
    try:
        yield
    except OSError as exc:
        known = from_os_error(exc)
        if known is None:
            raise
        raise known from None


class CheckFailed(KaggleMagicsError):
    """``kaggle-magics check`` found errors in what was about to be pushed."""
class ImageError(KaggleMagicsError):
    """The image twin of a local run cannot be had: built, found in the cache, or made of this base."""
