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
    assert not dest.exists(), "nothing may be written"
    assert not list(tmp_path.rglob("escaped.txt"))
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == [], "no temp folder left behind"


def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / f"bogus{ARCHIVE_SUFFIX}"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(BundleError, match="not a readable archive"):
        unpack_archive(bogus, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
