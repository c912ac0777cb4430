"""Directories packed under a name Kaggle leaves alone, and unpacked with exec bits and symlinks intact.

Kaggle unpacks ``.zip``, ``.tar``, ``.tar.gz`` (and similar) files uploaded in datasets, and what it unpacks
loses its exec bits. A folder such as a Julia depot or a compiled solver is therefore shipped as a gzipped tar
whose name ends in :data:`ARCHIVE_SUFFIX`, which no unpacker recognises, and unpacked by us on the other side
with :mod:`tarfile`'s ``data`` filter: modes and relative symlinks are kept, and a member that would land
outside the folder (absolute path, ``..``, a link pointing out) stops the unpacking before anything is
written.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path

from ..errors import BundleError

ARCHIVE_SUFFIX = ".tar.gz.kmx"

# Names that Kaggle (and the tools people use to upload) unpack on sight.
UNPACKED_SUFFIXES = (
    ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".7z", ".gz", ".bz2",
    ".xz", ".rar",
)  # fmt: skip

_MARKER = ".kaggle-magics-archive"


def unpacked_by_kaggle(name: str) -> bool:
    """True if Kaggle would unpack a file of this name (and strip exec bits from what it holds)."""
    return name.lower().endswith(UNPACKED_SUFFIXES)


def check_outward_links(folder: Path) -> None:
    """Refuse a folder whose symlinks point outside it: unpacking could not restore them safely."""
    root = Path(os.path.normpath(Path(folder).absolute()))
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if os.path.isabs(target) or not _within(Path(os.path.normpath(path.parent / target)), root):
                raise BundleError(
                    f"{path} is a symlink to {target}, outside {folder}",
                    hint="make the link relative and inside the folder, or copy what it points to",
                )


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def pack_dir(folder: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Pack ``folder`` into ``dest_dir/<name>.tar.gz.kmx`` (symlinks stored as links, modes kept)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"--dir {folder}: not a folder", hint="pass the path of an existing directory")
    check_outward_links(folder)
    name = name or folder.resolve().name
    out = Path(dest_dir) / f"{name}{ARCHIVE_SUFFIX}"
    with tarfile.open(out, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        tar.add(folder, arcname=".", recursive=True, filter=_portable)
    return out


def _portable(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if not (info.isfile() or info.isdir() or info.issym() or info.islnk()):
        return None  # sockets, fifos, devices: nothing to ship
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def archive_name(path: str | Path) -> str:
    """The folder name an archive unpacks to: ``julia.tar.gz.kmx`` -> ``julia``."""
    name = Path(path).name
    return name[: -len(ARCHIVE_SUFFIX)] if name.endswith(ARCHIVE_SUFFIX) else name


def unpack_archive(archive: Path, dest: Path, *, stamp: str | None = None) -> bool:
    """Unpack ``archive`` into the folder ``dest`` (created, or replaced when its stamp differs).

    ``stamp`` (the archive's sha256) is remembered in the folder, so a second call with the same one does
    nothing and returns False. Unpacking happens in a sibling temp folder renamed into place at the end: a
    rejected member or a full disk leaves ``dest`` as it was.
    """
    dest = Path(dest)
    marker = dest / _MARKER
    if stamp and marker.is_file() and marker.read_text().strip() == stamp:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, tmp, archive)
            if hasattr(tarfile, "data_filter"):
                try:
                    tar.extractall(tmp, members=members, filter="data")
                except tarfile.FilterError as exc:
                    raise BundleError(
                        f"{Path(archive).name}: member {exc.tarinfo.name!r} would land outside the folder",
                        hint="the archive is corrupt or hostile: re-create it with --dir",
                    ) from None
            else:  # pragma: no cover - Python < 3.10.12 / 3.11.4: members were checked above
                tar.extractall(tmp, members=members)
        if stamp:
            (tmp / _MARKER).write_text(stamp + "\n")
        _restore_root_mode(tmp, members)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except tarfile.TarError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(f"{Path(archive).name}: not a readable archive ({exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def _restore_root_mode(folder: Path, members: list[tarfile.TarInfo]) -> None:
    """The unpacked folder gets the packed folder's mode (its ``./`` member), not the temp folder's 0700, so
    a tool folder that others (or a sandbox user) read stays readable."""
    root = next((m for m in members if m.isdir() and os.path.normpath(m.name) == "."), None)
    mode = root.mode & 0o755 if root is not None else 0o755
    folder.chmod(mode | stat.S_IRWXU)


def _check_member(member: tarfile.TarInfo, root: Path, archive: Path) -> None:
    """Reject names and links that would escape ``root`` (checked before anything is extracted)."""
    name = member.name
    target = Path(os.path.normpath(root / name))
    bad = os.path.isabs(name) or not _within(target, root)
    if not bad and (member.issym() or member.islnk()):
        link = member.linkname
        base = target.parent if member.issym() else root
        bad = os.path.isabs(link) or not _within(Path(os.path.normpath(base / link)), root)
    if bad:
        raise BundleError(
            f"{Path(archive).name}: member {name!r} would land outside the folder",
            hint="the archive is corrupt or hostile: re-create it with --dir",
        )
