"""Hostile or corrupt bundles are refused whole: every name in the manifest and every member of every packed
folder is checked before anything is installed or unpacked, and a refusal leaves no package installed and
nothing outside the bundle's folder touched."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from kaggle_magics.bundle import MANIFEST_NAME, install, pack_dir
from kaggle_magics.errors import BundleError

from .fixtures_bundle import copy_bundle, installed_in
from .test_bundle_archive import DEEP, make_tool_folder

pytestmark = pytest.mark.usefixtures("bundle_env")


def add_packed(bundle: Path, filename: str, data: bytes) -> None:
    """Put ``data`` in the bundle as the packed folder ``filename``, listed with its true sha256 and size (so
    only the name or the members can give it away)."""
    (bundle / filename).write_bytes(data)
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    manifest["files"].append(
        {"filename": filename, "kind": "dir", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    )
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))


def tarball(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def smuggler() -> bytes:
    """The crafted archive: ``l -> d1/.../d12/s/../..`` listed before the folders, ``s -> ../..`` x12 after."""
    link = tarfile.TarInfo("l")
    link.type, link.linkname = tarfile.SYMTYPE, f"{DEEP}/s/../.."
    folders = []
    for depth in range(1, 13):
        folder = tarfile.TarInfo("/".join(DEEP.split("/")[:depth]))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        folders.append((folder, None))
    inner = tarfile.TarInfo(f"{DEEP}/s")
    inner.type, inner.linkname = tarfile.SYMTYPE, "/".join([".."] * 12)
    return tarball([(link, None), *folders, (inner, None)])


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    """Where the install may write (``dirs``, deep in a folder of the user's) and what must survive it."""
    home = tmp_path / "home" / "work"
    dirs = home / "kaggle-dirs"
    (dirs / "other").mkdir(parents=True)
    (dirs / "other" / ".kaggle-magics-archive").write_text("an earlier unpacking\n")
    (dirs / "other" / "data.txt").write_text("unpacked before")
    (home / "precious.txt").write_text("the user's file")
    return {"home": home, "dirs": dirs}


def untouched(site: dict[str, Path]) -> bool:
    home, dirs = site["home"], site["dirs"]
    return (
        (home / "precious.txt").read_text() == "the user's file"
        and (dirs / "other" / "data.txt").read_text() == "unpacked before"
        and sorted(p.name for p in home.iterdir()) == ["kaggle-dirs", "precious.txt"]
        and sorted(p.name for p in dirs.iterdir()) == ["other"]
    )


@pytest.mark.parametrize("filename", ["...tar.gz.kmx", "..tar.gz.kmx", ".tar.gz.kmx"])
def test_a_packed_folder_named_with_dots_only_is_refused_before_anything(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path], filename: str
) -> None:
    """``...tar.gz.kmx`` would unpack to ``..`` (the folder above every unpacked folder), ``..tar.gz.kmx``
    and ``.tar.gz.kmx`` to the folder of unpacked folders itself: each replaced what was there."""
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    add_packed(bundle, filename, pack_dir(make_tool_folder(tmp_path), tmp_path).read_bytes())
    python = make_venv()
    with pytest.raises(BundleError, match="is not a plain file name") as info:
        install([bundle], python=python, dirs_dest=site["dirs"], progress=False)
    assert filename in info.value.message and "\n" not in info.value.message
    assert untouched(site)
    assert installed_in(python, "kmt-alpha") is None and installed_in(python, "kmt-beta") is None


@pytest.mark.parametrize(
    "filename",
    ["a/b.tar.gz.kmx", "tab\there.tar.gz.kmx", "x..y.tar.gz.kmx", "..", "kmt-1.0-py3-none-any.whl\x00.whl"],
)
def test_names_that_are_not_one_plain_file_name_are_refused(
    alpha_bundle: Path, tmp_path: Path, filename: str
) -> None:
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    manifest["files"][0]["filename"] = filename
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="is not a plain file name"):
        install([bundle], python=tmp_path / "no-such-python", progress=False)


def test_the_smuggled_link_is_refused_with_no_package_installed(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path]
) -> None:
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    add_packed(bundle, "tool.tar.gz.kmx", smuggler())
    python = make_venv()
    with pytest.raises(BundleError, match=r"tool\.tar\.gz\.kmx: member 'l' would land outside the folder"):
        install([bundle], python=python, dirs_dest=site["dirs"], progress=False)
    assert untouched(site)
    assert installed_in(python, "kmt-alpha") is None, "refused before the wheels were installed"


def test_a_member_that_climbs_out_is_refused_before_the_wheels_are_installed(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path]
) -> None:
    good = tarfile.TarInfo("fine.txt")
    bad = tarfile.TarInfo("../../escaped.txt")
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    add_packed(bundle, "tool.tar.gz.kmx", tarball([(good, b"ok"), (bad, b"pwned")]))
    python = make_venv()
    with pytest.raises(BundleError, match="would land outside the folder"):
        install([bundle], python=python, dirs_dest=site["dirs"], progress=False)
    assert installed_in(python, "kmt-alpha") is None and installed_in(python, "kmt-beta") is None
    assert untouched(site) and not list(tmp_path.rglob("escaped.txt"))


def test_a_folder_of_the_users_in_the_way_is_left_alone_and_nothing_installed(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path]
) -> None:
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    add_packed(bundle, "solver.tar.gz.kmx", pack_dir(make_tool_folder(tmp_path), tmp_path).read_bytes())
    mine = site["dirs"] / "solver"
    mine.mkdir()
    (mine / "results.csv").write_text("a week of work")
    python = make_venv()
    with pytest.raises(BundleError, match="was not unpacked from a bundle: it is left alone"):
        install([bundle], python=python, dirs_dest=site["dirs"], progress=False)
    assert (mine / "results.csv").read_text() == "a week of work"
    assert installed_in(python, "kmt-alpha") is None


def test_a_good_packed_folder_is_unpacked_whole_with_the_packages(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path]
) -> None:
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    add_packed(bundle, "solver.tar.gz.kmx", pack_dir(make_tool_folder(tmp_path), tmp_path).read_bytes())
    python = make_venv()
    result = install([bundle], python=python, dirs_dest=site["dirs"], progress=False)
    assert result.unpacked == 1 and installed_in(python, "kmt-alpha") == "1.0"
    assert (site["dirs"] / "solver" / "lib" / "data-link.txt").read_text() == "payload\n"
    assert sorted(p.name for p in site["dirs"].iterdir()) == ["other", "solver"], "no temp folder left"


@pytest.mark.parametrize(
    "requirement", ["--index-url=http://127.0.0.1:9/simple", "kmt-alpha @ file:///etc", "-r/etc/passwd"]
)
def test_install_requirements_that_are_not_project_names_are_refused(
    alpha_bundle: Path, tmp_path: Path, requirement: str
) -> None:
    """They go to the installer's command line: an option or a URL there would read or fetch what the bundle
    does not hold."""
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    manifest["install_requirements"].append(requirement)
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="in install_requirements is not a project name"):
        install([bundle], python=tmp_path / "no-such-python", progress=False)


def test_two_bundles_whose_packed_folders_would_replace_each_other_are_refused(
    alpha_bundle: Path, tmp_path: Path, make_venv, site: dict[str, Path]
) -> None:
    first = copy_bundle(alpha_bundle, tmp_path / "one")
    second = copy_bundle(alpha_bundle, tmp_path / "two")
    tool = make_tool_folder(tmp_path)
    add_packed(first, "solver.tar.gz.kmx", pack_dir(tool, tmp_path / "one").read_bytes())
    (tool / "extra.txt").write_text("another build")
    add_packed(second, "solver.tar.gz.kmx", pack_dir(tool, tmp_path / "two").read_bytes())
    with pytest.raises(BundleError, match="differ, and both unpack to"):
        install([first, second], python=make_venv(), dirs_dest=site["dirs"], progress=False)
    assert untouched(site)


def test_freeze_refuses_a_folder_without_a_name_to_pack_under(alpha_bundle: Path, tmp_path: Path) -> None:
    from kaggle_magics.bundle import freeze

    with pytest.raises(BundleError, match=r"--dir /: its name '' cannot name a packed folder"):
        freeze(["kmt-delta"], dirs=["/"], dest=tmp_path / "deps", no_index=True, progress=False)
    assert not (tmp_path / "deps").exists()
