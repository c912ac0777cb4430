"""Packed folders: a name Kaggle leaves alone, exec bits and symlinks kept, members that escape refused."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from kaggle_magics.bundle.archive import (
    ARCHIVE_SUFFIX,
    archive_name,
    pack_dir,
    unpack_archive,
    unpacked_by_kaggle,
)
from kaggle_magics.errors import BundleError


def make_tool_folder(root: Path) -> Path:
    """A folder like a compiled solver or a Julia depot: an executable, nested files, relative symlinks."""
    folder = root / "solver"
    (folder / "bin").mkdir(parents=True)
    (folder / "lib" / "deep").mkdir(parents=True)
    exe = folder / "bin" / "solve"
    exe.write_text('#!/bin/sh\necho solved "$@"\n')
    exe.chmod(0o755)
    (folder / "lib" / "deep" / "data.txt").write_text("payload\n")
    (folder / "lib" / "data-link.txt").symlink_to("deep/data.txt")
    (folder / "current").symlink_to("lib")
    (folder / "bin" / "solve-again").symlink_to("solve")
    return folder


def test_names_kaggle_unpacks_are_recognised() -> None:
    for name in ("a.zip", "a.tar", "a.tar.gz", "a.TGZ", "a.tar.bz2", "a.tar.xz", "a.7z"):
        assert unpacked_by_kaggle(name), name
    for name in ("solver" + ARCHIVE_SUFFIX, "x-1.0-py3-none-any.whl", "kaggle-magics-bundle.json"):
        assert not unpacked_by_kaggle(name), name


def test_round_trip_keeps_exec_bits_and_symlinks(tmp_path: Path) -> None:
    folder = make_tool_folder(tmp_path)
    archive = pack_dir(folder, tmp_path)
    assert archive.name == "solver" + ARCHIVE_SUFFIX and not unpacked_by_kaggle(archive.name)
    assert archive_name(archive) == "solver"

    dest = tmp_path / "out" / "solver"
    assert unpack_archive(archive, dest, stamp="abc") is True
    assert stat.S_IMODE(dest.stat().st_mode) == stat.S_IMODE(folder.stat().st_mode), "the folder's own mode"
    exe = dest / "bin" / "solve"
    assert exe.stat().st_mode & stat.S_IXUSR, "the exec bit was lost"
    assert not (dest / "lib" / "deep" / "data.txt").stat().st_mode & stat.S_IXUSR
    assert os.readlink(dest / "lib" / "data-link.txt") == "deep/data.txt"
    assert (dest / "lib" / "data-link.txt").read_text() == "payload\n"
    assert (dest / "current").is_symlink() and (dest / "current" / "deep" / "data.txt").is_file()
    import subprocess

    out = subprocess.run([str(dest / "bin" / "solve-again"), "x"], capture_output=True, text=True, check=True)
    assert out.stdout == "solved x\n"

    assert unpack_archive(archive, dest, stamp="abc") is False, "same stamp: nothing to do"
    (exe).write_text("changed")
    assert unpack_archive(archive, dest, stamp="def") is True, "a new stamp replaces the folder"
    assert "solved" in exe.read_text()


def test_pack_refuses_links_that_point_outside(tmp_path: Path) -> None:
    folder = make_tool_folder(tmp_path)
    (folder / "escape").symlink_to("../../etc/passwd")
    with pytest.raises(BundleError, match=r"escape.*outside"):
        pack_dir(folder, tmp_path)
    (folder / "escape").unlink()
    (folder / "absolute").symlink_to("/etc/passwd")
    with pytest.raises(BundleError, match=r"absolute.*outside"):
        pack_dir(folder, tmp_path)


def _hostile(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("fine.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize(
    "kind",
    ["dotdot", "absolute", "symlink-out", "symlink-absolute", "hardlink-out"],
)
def test_members_escaping_the_folder_are_rejected_before_anything_is_written(
    tmp_path: Path, kind: str
) -> None:
    member = tarfile.TarInfo("x")
    data = b""
    if kind == "dotdot":
        member.name, data = "../../escaped.txt", b"pwned"
    elif kind == "absolute":
        member.name, data = str(tmp_path / "escaped.txt"), b"pwned"
    elif kind == "symlink-out":
        member.type, member.name, member.linkname = tarfile.SYMTYPE, "link", "../../escaped.txt"
    elif kind == "symlink-absolute":
        member.type, member.name, member.linkname = tarfile.SYMTYPE, "link", "/etc/passwd"
    else:
        member.type, member.name, member.linkname = tarfile.LNKTYPE, "hard", "../../etc/passwd"
    archive = _hostile(tmp_path / f"evil{ARCHIVE_SUFFIX}", member, data)
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(BundleError, match="would land outside the folder"):
        unpack_archive(archive, dest, stamp="s")
    assert not (tmp_path / "a").exists(), "nothing may be written, not even the folders above"
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / f"bogus{ARCHIVE_SUFFIX}"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(BundleError, match="not a readable archive"):
        unpack_archive(bogus, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


# -- the whole tree, whatever the member order -------------------------------------------------------------
DEEP = "/".join(f"d{i}" for i in range(1, 13))  # d1/d2/.../d12


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _smuggler(path: Path, *, link_first: bool) -> Path:
    """The link ``l -> d1/.../d12/s/../..`` and ``d1/.../d12/s -> ../..`` (12 times): read as text, ``l``
    stays inside; once ``s`` exists, ``l`` is two levels above the folder."""
    outer = (_link("l", f"{DEEP}/s/../.."), None)
    folders = [(_folder("/".join(DEEP.split("/")[: i + 1])), None) for i in range(12)]
    inner = (_link(f"{DEEP}/s", "/".join([".."] * 12)), None)
    return _archive(path, [outer, *folders, inner] if link_first else [*folders, inner, outer])


@pytest.mark.parametrize("link_first", [True, False], ids=["link-before-folders", "link-last"])
def test_a_link_that_leads_out_through_a_later_link_is_refused(tmp_path: Path, link_first: bool) -> None:
    archive = _smuggler(tmp_path / f"smuggle{ARCHIVE_SUFFIX}", link_first=link_first)
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(BundleError, match=r"member 'l' would land outside the folder") as info:
        unpack_archive(archive, dest, stamp="s")
    assert "nothing was unpacked" in (info.value.hint or "")
    assert not dest.exists() and not (tmp_path / "a" / "b").exists(), "nothing may be written"


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([_link("a", "b/.."), _link("b", "..")], "would land outside"),  # out through another link
        ([_link("a", "b"), _link("b", "c"), _link("c", "../x")], "would land outside"),  # a chain
        ([_link("loop", "loop2"), _link("loop2", "loop"), _link("x", "loop/..")], "loop"),
        ([_link("s", "."), _file("s/inner.txt")], "beneath the symlink 's'"),  # writes through a link
        ([_file("f"), _file("f/inner.txt")], "beneath the file 'f'"),
        ([_file("twice.txt"), _file("twice.txt", b"again")], "listed twice"),
        ([_file(".kaggle-magics-archive", b"stamp")], "marker"),
        ([_link(".", "..")], "stands for the folder itself"),
        ([_file("./a/../../x")], "would land outside"),
    ],
    ids=["via-link", "chain", "loop", "under-link", "under-file", "duplicate", "marker", "root-link", "dotdot"],
)
def test_trees_that_could_escape_or_clobber_are_refused(tmp_path: Path, members: list, why: str) -> None:
    archive = _archive(tmp_path / f"evil{ARCHIVE_SUFFIX}", [m if isinstance(m, tuple) else (m, None) for m in members])
    dest = tmp_path / "out" / "dest"
    with pytest.raises(BundleError, match=why):
        unpack_archive(archive, dest)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_are_refused(tmp_path: Path, kind: bytes) -> None:
    special = tarfile.TarInfo("dev")
    special.type = kind
    archive = _archive(tmp_path / f"dev{ARCHIVE_SUFFIX}", [_file("ok.txt"), (special, None)])
    with pytest.raises(BundleError, match="device, a fifo"):
        unpack_archive(archive, tmp_path / "out" / "dest")
    assert not (tmp_path / "out").exists()


def test_a_hard_link_to_a_file_listed_later_is_refused(tmp_path: Path) -> None:
    hard = tarfile.TarInfo("hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "later.txt"
    archive = _archive(tmp_path / f"hard{ARCHIVE_SUFFIX}", [(hard, None), _file("later.txt")])
    with pytest.raises(BundleError, match=r"hard link .later\.txt. names no file listed before"):
        unpack_archive(archive, tmp_path / "out" / "dest")


def test_links_through_links_that_stay_inside_are_kept(tmp_path: Path) -> None:
    hard = tarfile.TarInfo("lib/hard.txt")
    hard.type, hard.linkname = tarfile.LNKTYPE, "lib/deep/data.txt"
    archive = _archive(
        tmp_path / f"fine{ARCHIVE_SUFFIX}",
        [
            (_link("via", "current/deep/data.txt"), None),  # listed before what it passes through
            (_link("up", "current/deep/../.."), None),  # lib/deep/../.. is the folder itself
            (_folder("lib/deep"), None),
            _file("lib/deep/data.txt", b"payload"),
            (hard, None),
            (_link("current", "lib"), None),
        ],
    )
    dest = tmp_path / "out" / "dest"
    assert unpack_archive(archive, dest, stamp="1")
    assert (dest / "via").read_bytes() == b"payload" and (dest / "lib" / "hard.txt").read_bytes() == b"payload"
    assert (dest / "up").resolve() == dest.resolve()


def test_a_folder_that_was_not_unpacked_by_us_is_never_replaced(tmp_path: Path) -> None:
    archive = pack_dir(make_tool_folder(tmp_path), tmp_path)
    mine = tmp_path / "dirs" / "solver"
    mine.mkdir(parents=True)
    (mine / "my-notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="was not unpacked from a bundle: it is left alone"):
        unpack_archive(archive, mine, stamp="abc")
    assert (mine / "my-notes.txt").read_text() == "keep me"
    assert [p.name for p in mine.parent.iterdir()] == ["solver"], "no temp folder left behind"


@pytest.mark.parametrize("name", ["..", "", "."])
def test_a_destination_that_is_not_a_plain_name_is_refused(tmp_path: Path, name: str) -> None:
    archive = pack_dir(make_tool_folder(tmp_path), tmp_path)
    keep = tmp_path / "dirs" / "other"
    keep.mkdir(parents=True)
    (keep / "data.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not"):
        unpack_archive(archive, Path(f"{tmp_path / 'dirs'}/{name}"), stamp="abc")
    assert (keep / "data.txt").read_text() == "keep me"


def test_pack_refuses_a_link_that_leads_out_through_another_link(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "tool"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "up").symlink_to("..")  # the folder itself: fine alone
    (folder / "out").symlink_to("sub/up/..")  # read as text: the folder; resolved: its parent
    with pytest.raises(BundleError, match=r"out is a symlink to sub/up/\.\., outside"):
        pack_dir(folder, tmp_path)
