"""Backend selection: ``--backend``, ``%config KaggleMagics.backend``, ``[tool.kaggle_magics] backend``,
``$KAGGLE_MAGICS_BACKEND``; otherwise ``kaggle`` when credentials exist, else ``local`` (said in one line)."""

from __future__ import annotations

import os
from collections.abc import Callable

from .. import config
from ..errors import ConfigError
from .base import Backend

__all__ = ["Backend", "choose_backend_name", "get_backend", "open_backend"]


_told: list[bool] = []  # the fallback to the local backend is said once per session


def choose_backend_name(*explicit: str | None, notify: Callable[[str], None] | None = None) -> str:
    """The backend to use: the first explicit choice, then the environment, then credentials decide."""
    name = config.first(*explicit, os.environ.get(config.ENV_BACKEND))
    if name:
        given = name
        name = name.strip().lower()
        if name not in config.BACKENDS:
            origin = "" if config.first(*explicit) else f" (from ${config.ENV_BACKEND})"
            raise ConfigError(
                f"unknown backend {given!r}{origin}", hint="use one of: " + ", ".join(config.BACKENDS)
            )
        return name
    source = config.credentials_source()
    if source:
        return "kaggle"
    if notify and not _told:
        _told.append(True)
        notify("kaggle-magics: no Kaggle credentials found, using the embedded local Kaggle (--backend local)")
    return "local"


def get_backend(name: str, **options: object) -> Backend:
    """Build the backend called ``name``. Imports its module only now (the Kaggle client is heavy)."""
    if name == "kaggle":
        from .kaggle import KaggleBackend

        return KaggleBackend(**options)  # type: ignore[arg-type]
    if name == "local":
        from ..local.backend import LocalBackend

        return LocalBackend(**options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown backend {name!r}", hint="use one of: " + ", ".join(config.BACKENDS))


def open_backend(
    *explicit: str | None,
    store: str | os.PathLike[str] | None = None,
    notify: Callable[[str], None] | None = None,
    env: str | None = None,
    base: str | os.PathLike[str] | None = None,
) -> Backend:
    """Choose (see :func:`choose_backend_name`) and build a backend; ``store`` is the local backend's folder,
    ``env`` and ``base`` the environment of its runs (see :mod:`kaggle_magics.local.environment`)."""
    from pathlib import Path

    name = choose_backend_name(*explicit, notify=notify)
    if name == "local":
        return get_backend(
            name, store=Path(store).expanduser() if store else None, env=env, base=str(base) if base else None
        )
    return get_backend(name)

