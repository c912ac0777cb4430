"""Offline dependency bundles: ``freeze`` a requirement set into wheels for Kaggle, ``install`` them offline.

Public API:

- :func:`freeze` -> :class:`FreezeResult`
- :func:`install` -> :class:`InstallResult`
- :func:`capture_base` / :func:`read_base` -> :class:`BaseSnapshot`
- :func:`install_cell_source`: the first cell of a submission notebook that installs attached bundles
- :func:`read_manifest`, :func:`locate_bundles`, :func:`pack_dir`, :func:`unpack_archive`

The functions are bound here eagerly, after their modules: ``kaggle_magics.bundle.freeze`` and
``kaggle_magics.bundle.install`` are the functions, whatever was imported before. Everything imported is the
standard library and ``packaging`` (the installer side runs from a wheel on a stock image).
"""

from __future__ import annotations

from .archive import ARCHIVE_SUFFIX, pack_dir, unpack_archive
from .base import BaseSnapshot, capture_base, read_base
from .cell import install_cell_source
from .freeze import FreezeResult, freeze
from .install import InstallResult, install, locate_bundles
from .manifest import MANIFEST_NAME, BundleFile, Manifest, read_manifest
from .target import Target

__all__ = [
    "ARCHIVE_SUFFIX",
    "MANIFEST_NAME",
    "BaseSnapshot",
    "BundleFile",
    "FreezeResult",
    "InstallResult",
    "Manifest",
    "Target",
    "capture_base",
    "freeze",
    "install",
    "install_cell_source",
    "locate_bundles",
    "pack_dir",
    "read_base",
    "read_manifest",
    "unpack_archive",
]
