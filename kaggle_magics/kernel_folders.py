"""Kernel folders on disk: where a kernel's folder goes by default, which folders may be replaced, and
writing one whole or not at all (built beside its place, then renamed into it)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import notebook
from .errors import KaggleMagicsError, MetadataError
from .handles import KernelRef
from .metadata import KERNEL_METADATA, KernelMetadata

if TYPE_CHECKING:
    from nbformat import NotebookNode


def default_dir(ref: KernelRef) -> Path:
    return Path("kaggle") / ref.slug


@contextmanager
def staging(parent: Path | None) -> Iterator[Path]:
    """A temp folder (beside ``parent`` when given, so the final rename stays on one file system)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".kaggle-magics-", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_replaceable(dest: Path, given: bool = True) -> None:
    """Refuse a ``--dir`` (``given``) or default folder that holds anything but a kernel folder (its metadata
    and code file): the folder is replaced whole, and the user's own files must never go with it."""
    if not dest.exists() and not dest.is_symlink():
        return
    name = f"--dir {dest}" if given else f"{dest} (the default place of the kernel folder)"
    fix = "give a new or empty folder" if given else "pass --dir OTHER-FOLDER, or move that out of the way"
    if dest.is_symlink() or not dest.is_dir():
        raise MetadataError(f"{name} exists and is not a folder", hint=fix)
    names = {entry.name for entry in dest.iterdir()}
    if not names:
        return
    ours = {KERNEL_METADATA}
    try:
        ours.add(KernelMetadata.read(dest).code_file)
    except KaggleMagicsError:
        ours = set()
    extra = sorted(names - ours) if KERNEL_METADATA in ours else sorted(names)
    if extra:
        shown = ", ".join(extra[:3]) + (f" (+{len(extra) - 3} more)" if len(extra) > 3 else "")
        raise MetadataError(
            f"{name} holds files of its own ({shown}): it would be replaced whole",
            hint=f"{fix}, or a kernel folder written by kaggle-magics" if given else fix,
        )


def write_kernel_folder(nb: NotebookNode, meta: KernelMetadata, dest: Path, given: bool = True) -> Path:
    """Write the notebook and its metadata into ``dest`` atomically: built beside it, then renamed into place.

    An existing ``dest`` is replaced only once the new folder is complete, and only if it holds nothing but a
    kernel folder (see :func:`check_replaceable`; ``given``: ``dest`` is the user's --dir)."""
    dest = Path(dest)
    check_replaceable(dest, given)
    with staging(dest.parent) as tmp:
        build = tmp / dest.name
        build.mkdir()
        notebook.validate(nb, meta.code_file)
        (build / meta.code_file).write_text(notebook.dumps(nb), encoding="utf-8")
        meta.write(build)
        old = tmp / (dest.name + ".old")
        if dest.exists():
            dest.rename(old)
        build.rename(dest)
    return dest


def same_files(stage: Path, folder: Path) -> bool:
    """Whether every file of ``stage`` is in ``folder`` with the same bytes."""
    for path in stage.rglob("*"):
        if path.is_file():
            other = folder / path.relative_to(stage)
            if not other.is_file() or other.read_bytes() != path.read_bytes():
                return False
    return True


def place(stage: Path, dest: Path, given: bool = True) -> None:
    """Put a copy of ``stage`` at ``dest`` in one rename (built beside it); an existing ``dest`` is replaced
    only once the copy is complete, and only if it holds nothing but a kernel folder."""
    check_replaceable(dest, given)
    with staging(dest.parent) as tmp:
        build = tmp / dest.name
        shutil.copytree(stage, build)
        if dest.exists():
            dest.rename(tmp / (dest.name + ".old"))
        build.rename(dest)
