"""Directories packed under a name Kaggle leaves alone, and unpacked with exec bits and symlinks intact.

Kaggle unpacks ``.zip``, ``.tar``, ``.tar.gz`` (and similar) files uploaded in datasets, and what it unpacks
loses its exec bits. A folder such as a Julia depot or a compiled solver is therefore shipped as a gzipped tar
whose name ends in :data:`ARCHIVE_SUFFIX`, which no unpacker recognises, and unpacked by us on the other side
with :mod:`tarfile`'s ``data`` filter: modes and relative symlinks are kept.

An archive is checked whole before anything is written (:func:`check_members`): against the tree it makes
once unpacked, whatever the order of its members, so a link that only points out once a later member exists
is refused too. It is then unpacked into a fresh temp folder beside its destination, renamed into place only
when complete (:func:`stage_unpack`, :meth:`StagedUnpack.commit`).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError
from .names import HOSTILE_HINT, plain_name_problem

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
    """Refuse a folder whose symlinks lead outside it (resolved through the links on the way), or are
    absolute (they would point elsewhere once unpacked): unpacking could not restore them safely."""
    from ..links import outward_links

    found = next(outward_links(Path(folder)), None)
    if found is None:
        found = next(_absolute_links(Path(folder)), None)
    if found is not None:
        path, target = found
        raise BundleError(
            f"{path} is a symlink to {target}, outside {folder}"
            + (" (an absolute link points elsewhere once unpacked)" if os.path.isabs(target) else ""),
            hint="make the link relative and inside the folder, or copy what it points to",
        )


def _absolute_links(folder: Path) -> Iterator[tuple[Path, str]]:
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            if path.is_symlink() and os.path.isabs(os.readlink(path)):
                yield path, os.readlink(path)


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


MAX_LINK_DEPTH = 40  # as Linux's ELOOP


def unpack_archive(archive: Path, dest: Path, *, stamp: str | None = None) -> bool:
    """Unpack ``archive`` into the folder ``dest`` (created, or replaced when its stamp differs).

    ``stamp`` (the archive's sha256) is remembered in the folder, so a second call with the same one does
    nothing and returns False. A rejected member or a full disk leaves ``dest`` as it was.
    """
    staged = stage_unpack(archive, dest, stamp=stamp)
    if staged is None:
        return False
    staged.commit()
    return True


@dataclass
class StagedUnpack:
    """An archive unpacked whole into ``tmp``, a fresh folder beside ``dest``, waiting to be renamed there."""

    tmp: Path
    dest: Path

    def commit(self) -> None:
        """Put the unpacked folder at ``dest``; a folder there before (an older unpacking of ours) goes."""
        dest = self.dest
        old: Path | None = None
        if dest.is_symlink() or dest.exists():
            _check_replaceable(dest)
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
            os.replace(dest, old / dest.name)
        try:
            os.replace(self.tmp, dest)
        except BaseException:
            if old is not None:
                os.replace(old / dest.name, dest)
            self.discard()
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def stage_unpack(archive: Path, dest: Path, *, stamp: str | None = None) -> StagedUnpack | None:
    """Check ``archive`` whole, then unpack it into a fresh temp folder beside ``dest`` (None when ``dest``
    already holds this ``stamp``). Nothing is written outside the temp folder; on any failure it is gone."""
    dest = Path(dest)
    check_destination(dest)
    marker = dest / _MARKER
    if stamp and not dest.is_symlink() and marker.is_file() and marker.read_text().strip() == stamp:
        return None
    tmp: Path | None = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            check_members(members, Path(archive).name)  # the whole tree, before anything is written
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
            if hasattr(tarfile, "data_filter"):
                try:
                    tar.extractall(tmp, members=members, filter="data")
                except tarfile.FilterError as exc:  # pragma: no cover - check_members refuses these first
                    raise _outside(archive, exc.tarinfo.name) from None
            else:  # pragma: no cover - Python < 3.10.12 / 3.11.4: check_members made this safe
                tar.extractall(tmp, members=members)
        if stamp:
            (tmp / _MARKER).write_text(stamp + "\n")
        _restore_root_mode(tmp, members)
    except (tarfile.TarError, EOFError) as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(f"{Path(archive).name}: not a readable archive ({exc})") from None
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StagedUnpack(tmp, dest)


def check_destination(dest: Path) -> None:
    """``dest`` may receive an unpacked folder: a plain name, and nothing there but an earlier unpacking."""
    problem = plain_name_problem(Path(dest).name)
    if problem is not None:
        raise BundleError(f"{dest}: cannot unpack a folder there: {problem}", hint=HOSTILE_HINT)
    if dest.is_symlink() or dest.exists():
        _check_replaceable(dest)


def _check_replaceable(dest: Path) -> None:
    """Only a folder an earlier unpacking made (it holds our marker) is ever replaced."""
    if dest.is_symlink() or not dest.is_dir() or not (dest / _MARKER).is_file():
        raise BundleError(
            f"{dest} exists and was not unpacked from a bundle: it is left alone",
            hint="move it away, or unpack the bundle's folders elsewhere (--dirs-dest)",
        )


def _restore_root_mode(folder: Path, members: list[tarfile.TarInfo]) -> None:
    """The unpacked folder gets the packed folder's mode (its ``./`` member), not the temp folder's 0700, so
    a tool folder that others (or a sandbox user) read stays readable."""
    root = next((m for m in members if m.isdir() and not _parts(m.name)), None)
    mode = root.mode & 0o755 if root is not None else 0o755
    folder.chmod(mode | stat.S_IRWXU)


# -- checking an archive whole ---------------------------------------------------------------------------
def check_archive(archive: Path) -> list[tarfile.TarInfo]:
    """The members of ``archive``, all checked by :func:`check_members`; a BundleError if it is unreadable."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, EOFError) as exc:
        raise BundleError(f"{Path(archive).name}: not a readable archive ({exc})") from None
    check_members(members, Path(archive).name)
    return members


def check_members(members: list[tarfile.TarInfo], label: str) -> None:
    """Refuse an archive that would write, or point, anywhere but inside the folder it is unpacked into.

    Checked against the tree the whole archive makes, not member by member: every name is relative and
    free of ``..``; every member is a file, a folder, a symlink or a hard link (no device, no fifo); each
    name comes once (folders aside) and none lies beneath a symlink or a file; a hard link names a file
    listed before it; a symlink, resolved through the final tree (the links it passes through included),
    stays inside. The marker an unpacking writes is not a name an archive may hold.
    """
    tree: dict[tuple[str, ...], tarfile.TarInfo] = {}
    for member in members:
        parts = _member_parts(member.name, label)
        if parts and parts[0] == _MARKER:
            raise _refused(label, member.name, f"{_MARKER} is the name of the unpacking's own marker")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise _refused(label, member.name, "it is a device, a fifo or another special file")
        if not parts and not member.isdir():
            raise _refused(label, member.name, "it stands for the folder itself")
        earlier = tree.get(parts)
        if earlier is not None and not (earlier.isdir() and member.isdir()):
            raise _refused(label, member.name, "it is listed twice")
        if member.islnk():
            target = _member_parts(member.linkname, label, link_of=member.name)
            linked = tree.get(target)
            if linked is None or not linked.isreg():
                raise _refused(label, member.name, f"its hard link {member.linkname!r} names no file listed before")
        tree[parts] = member
    for parts, member in tree.items():
        for depth in range(1, len(parts)):
            above = tree.get(parts[:depth])
            if above is not None and not above.isdir():
                kind = "symlink" if above.issym() else "file"
                raise _refused(label, member.name, f"it lies beneath the {kind} {above.name!r}")
        if member.issym():
            if os.path.isabs(member.linkname) or member.linkname.startswith("\\"):
                raise _outside(label, member.name)
            if _resolve(tree, parts[:-1], member.linkname, label, member.name) is None:
                raise _outside(label, member.name)


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.split("/") if p not in ("", "."))


def _member_parts(name: str, label: str, *, link_of: str | None = None) -> tuple[str, ...]:
    shown = link_of if link_of is not None else name
    if os.path.isabs(name) or name.startswith("\\") or ".." in name.split("/") or "\x00" in name:
        raise _outside(label, shown)
    return _parts(name)


def _resolve(
    tree: dict[tuple[str, ...], tarfile.TarInfo], base: tuple[str, ...], target: str, label: str, name: str,
    depth: int = 0,
) -> tuple[str, ...] | None:
    """Where ``target`` (a link's text, read from the folder ``base``) leads in the unpacked tree, through
    the links on the way; None when it climbs above the root. A name missing from the tree is taken as
    written (the system would stop there, so this errs on the side of refusing)."""
    if depth > MAX_LINK_DEPTH:
        raise _refused(label, name, "its symlinks loop")
    here = list(base)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not here:
                return None
            here.pop()
            continue
        here.append(part)
        node = tree.get(tuple(here))
        if node is not None and node.issym():
            if os.path.isabs(node.linkname):
                return None
            resolved = _resolve(tree, tuple(here[:-1]), node.linkname, label, name, depth + 1)
            if resolved is None:
                return None
            here = list(resolved)
    return tuple(here)


def _refused(label: str, name: str, why: str) -> BundleError:
    return BundleError(f"{label}: member {name!r} is refused: {why}", hint=_ARCHIVE_HINT)


def _outside(label: str | Path, name: str) -> BundleError:
    return BundleError(
        f"{Path(label).name}: member {name!r} would land outside the folder", hint=_ARCHIVE_HINT
    )


_ARCHIVE_HINT = "the archive is corrupt or hostile: nothing was unpacked; re-create it with --dir"
