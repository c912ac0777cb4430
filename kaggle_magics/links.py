"""Symlinks that lead out of a folder about to be uploaded or packed.

The official clients read a symlinked file's bytes, so a link in an upload folder sends whatever it points
at: ``pw -> /etc/passwd`` or a link to ``~/.kaggle/kaggle.json`` would put that file in a dataset or a model.
Every upload and every packed folder is therefore checked at any depth, the same way: a symlink is refused
when what it resolves to (through the links on the way) lies outside the folder. Links inside it are fine.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

from .errors import KaggleMagicsError


def outward_links(folder: Path, skip: Collection[str] = ()) -> Iterator[tuple[Path, str]]:
    """Each symlink under ``folder`` (``path``, its link text) that resolves outside ``folder``, in walk
    order. Folders named in ``skip`` are not entered; symlinked folders are checked, never entered."""
    root = os.path.realpath(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if not _inside(os.path.realpath(path), root):
                yield path, target


def first_outward_link(folder: Path, skip: Collection[str] = ()) -> tuple[Path, str] | None:
    """The first symlink under ``folder`` that leads outside it, or None."""
    return next(outward_links(folder, skip), None)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class OutwardLink(KaggleMagicsError):
    """A folder to upload holds a symlink that leads outside it."""

    exit_code = 2


def refuse_outward_links(folder: Path, what: str, skip: Collection[str] = ()) -> None:
    """Raise :class:`OutwardLink` naming the first symlink under ``folder`` that leads outside it."""
    found = first_outward_link(folder, skip)
    if found is not None:
        path, target = found
        raise OutwardLink(
            f"{path} is a symlink to {target}, outside the {what} folder {folder}: the upload would send what"
            " it points at",
            hint="copy the file into the folder if it belongs in the upload, or remove the link",
        )
