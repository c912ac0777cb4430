"""The error family.

Every failure the user can fix is a :class:`KaggleMagicsError`: one line that names the culprit, and a hint
that says what to do. IPython shows it through ``_render_traceback_`` (no traceback); the CLI prints
``error: ...`` and ``hint: ...`` and exits non-zero. Bad *arguments* to a magic are IPython's ``UsageError``
instead, which IPython shows as one line too.
"""

from __future__ import annotations


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


class CheckFailed(KaggleMagicsError):
    """``kaggle-magics check`` found errors in what was about to be pushed."""
