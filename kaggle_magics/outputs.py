"""``%kaggle_output``: a kernel's output files, all of them, safely and all at once.

Three promises: every page of the listing (the backend pages; older clients stopped at 500 files), no file
lands outside ``dest`` whatever name the server sends (absolute paths, ``..``, a symlink already in ``dest``),
and nothing half-downloaded: files go to a temporary folder beside ``dest`` (same filesystem) and are moved
into place only when all of them arrived whole.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .backends.base import Backend
from .errors import BackendError, KaggleMagicsError, NotFound
from .explain import reword
from .handles import KernelRef
from .progress import counter
from .results import OutputFile, OutputResult
from .status import as_kernel_ref


class UnsafeOutputName(KaggleMagicsError):
    """An output file name that would be written outside the destination folder."""


def safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder, or :class:`UnsafeOutputName`.

    Backslashes count as separators here (``..\\x`` is a traversal on Windows and never a sane output name),
    and ``.`` parts and doubled slashes are dropped.
    """
    hint = (
        "the kernel's output listing holds a name that is not a plain relative path; nothing was downloaded"
    )
    if not name or "\x00" in name:
        raise UnsafeOutputName(f"output file name {name!r} is empty or holds a NUL byte", hint=hint)
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":" and unified[0].isalpha()):
        raise UnsafeOutputName(f"output file name {name!r} is an absolute path", hint=hint)
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeOutputName(f"output file name {name!r} climbs out of the destination ('..')", hint=hint)
    if not parts:
        raise UnsafeOutputName(f"output file name {name!r} names no file", hint=hint)
    return PurePosixPath(*parts)


def select(
    items: list[OutputFile], pattern: str | None
) -> tuple[list[tuple[PurePosixPath, OutputFile]], int]:
    """The items to download, as (safe relative path, item), and how many the pattern left out.

    ``pattern`` is an fnmatch glob on the relative name (``*`` also crosses ``/``: ``*.csv`` matches
    ``sub/a.csv``). Names are checked only for the files we would write; clashes between them (a file that is
    also a folder, two names for one path) are refused too.
    """
    chosen: list[tuple[PurePosixPath, OutputFile]] = []
    skipped = 0
    for item in items:
        if pattern and not fnmatch.fnmatchcase(item.name, pattern):
            skipped += 1
            continue
        chosen.append((safe_relative(item.name), item))
    seen: dict[PurePosixPath, str] = {}
    for rel, item in chosen:
        if rel in seen:
            raise UnsafeOutputName(f"output names {seen[rel]!r} and {item.name!r} are the same file")
        seen[rel] = item.name
    for rel, item in chosen:
        for parent in rel.parents:
            if parent in seen:
                raise UnsafeOutputName(
                    f"output name {seen[parent]!r} is a file but {item.name!r} needs it to be a folder"
                )
    return chosen, skipped


def _check_target(dest: Path, rel: PurePosixPath) -> None:
    """Refuse to move into ``dest/rel`` if any existing part of the way is a symlink or the wrong kind."""
    here = dest
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise UnsafeOutputName(
                f"{here} is a symlink: writing {rel} through it could land outside {dest}",
                hint="remove the symlink or download into an empty folder",
            )
        if here.exists() and not here.is_dir():
            raise KaggleMagicsError(f"{here} is a file but the output {rel} needs it to be a folder")
    final = dest / rel
    if final.is_symlink():
        raise UnsafeOutputName(f"{final} is a symlink; refusing to replace it", hint="remove it first")
    if final.is_dir():
        raise KaggleMagicsError(f"{final} is a folder but the output {rel} is a file")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download_output(
    backend: Backend,
    ref: KernelRef | str,
    *,
    dest: str | os.PathLike[str],
    pattern: str | None = None,
    display: Any = None,
) -> OutputResult:
    """Download the run's output files (those matching ``pattern``) into ``dest``, as the module says."""
    ref = as_kernel_ref(ref)
    dest = Path(dest).expanduser().absolute()
    if dest.exists() and not dest.is_dir():
        raise KaggleMagicsError(f"{dest} exists and is not a folder", hint="choose another --dest")
    try:
        items = backend.list_output(ref)
    except NotFound as exc:
        if f"kernel {ref.id} not found" in exc.message:  # the kernel (or that version) is not there at all
            raise reword(exc, f"kernel {ref.id} not found", hint=backend.kernel_hint(ref)) from None
        raise reword(
            exc,
            f"no output found for kernel {ref}",
            hint=f"check that its run finished: kaggle-magics status {ref} --wait",
        ) from None
    chosen, skipped = select(items, pattern)
    result = OutputResult(ref=str(ref), dest=dest, skipped=skipped)
    if not chosen:
        result.notes.append(
            f"no output file matches {pattern!r} ({len(items)} listed)"
            if pattern
            else "the run has no output files"
        )
        return result

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        bar = counter(len(chosen), f"{ref} outputs", display)
        try:
            for rel, item in chosen:
                target = staging.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    backend.download_output_file(ref, item, target)
                except NotFound as exc:
                    raise reword(
                        exc, f"output file {item.name!r} of {ref} disappeared while downloading"
                    ) from None
                if not target.is_file():
                    raise BackendError(f"output file {item.name!r} of {ref} was not written by the download")
                size = target.stat().st_size
                if item.size is not None and size != item.size:
                    raise BackendError(
                        f"output file {item.name!r} of {ref} arrived with {size} bytes, expected {item.size}",
                        hint="the download was cut short; run it again (nothing was written to the"
                        " destination)",
                    )
                result.total_bytes += size
                result.files.append(rel.as_posix())
                bar.update(1)
        finally:
            bar.close()
        _move_into_place(staging, dest, [rel for rel, _ in chosen])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _move_into_place(staging: Path, dest: Path, names: list[PurePosixPath]) -> None:
    """A new ``dest`` is the staging folder renamed (one atomic step); into an existing one each file is
    renamed into place after every target was checked, so a refused name leaves ``dest`` untouched."""
    if not dest.exists():
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp made it private; its subfolders are ordinary
        os.rename(staging, dest)
        return
    for rel in names:
        _check_target(dest, rel)
    for rel in names:
        final = dest.joinpath(*rel.parts)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging.joinpath(*rel.parts), final)
