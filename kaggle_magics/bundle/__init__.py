"""Offline dependency bundles: ``freeze`` a requirement set into wheels for Kaggle, ``install`` them offline.

Public API (loaded on first use: ``import kaggle_magics.bundle`` itself costs nothing, so the magics can
import it at start-up):

- :func:`freeze` -> :class:`FreezeResult` (module :mod:`.freezing`)
- :func:`install` -> :class:`InstallResult` (module :mod:`.installing`)
- :func:`capture_base` / :func:`read_base` -> :class:`BaseSnapshot`
- :func:`install_cell_source`: the first cell of a submission notebook that installs attached bundles
- :func:`read_manifest`, :func:`locate_bundles`, :func:`pack_dir`, :func:`unpack_archive`

Everything these import is the standard library and ``packaging``: the installer side runs from a wheel on a
stock image.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "freeze": "freezing",
    "FreezeResult": "freezing",
    "install": "installing",
    "InstallResult": "installing",
    "locate_bundles": "installing",
    "capture_base": "base",
    "read_base": "base",
    "shipped_base": "base",
    "BaseSnapshot": "base",
    "install_cell_source": "cell",
    "read_manifest": "manifest",
    "Manifest": "manifest",
    "BundleFile": "manifest",
    "MANIFEST_NAME": "manifest",
    "pack_dir": "archive",
    "unpack_archive": "archive",
    "ARCHIVE_SUFFIX": "archive",
    "Target": "target",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
