"""%kaggle_dataset: the content hash that decides whether a version is needed, and (further down) uploads
through the official client against the loopback server and into the local backend."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from kaggle_magics.bundle.archive import unpack_archive
from kaggle_magics.datasets import DatasetFolderError, content_hash, upload_dataset
from kaggle_magics.errors import InvalidRef, KaggleMagicsError, PermissionDenied
from kaggle_magics.handles import DatasetRef


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "pkg" / "model.py").write_text("LAYERS = 3\n")
    (folder / "train.py").write_text("import pkg\n")
    return folder


def test_hash_is_stable_and_ignores_timestamps_caches_and_metadata(code: Path) -> None:
    first = content_hash(code)
    assert first == content_hash(code)
    os.utime(code / "train.py", (0, 0))
    (code / "pkg" / "__pycache__").mkdir()
    (code / "pkg" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\x00")
    (code / ".git").mkdir()
    (code / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (code / "dataset-metadata.json").write_text('{"title": "my code"}')
    assert content_hash(code) == first


@pytest.mark.parametrize(
    "change",
    [
        lambda f: (f / "pkg" / "model.py").write_text("LAYERS = 4\n"),  # same size, other bytes
        lambda f: (f / "pkg" / "model.py").write_text("LAYERS = 30\n"),
        lambda f: (f / "train.py").rename(f / "main.py"),
        lambda f: (f / "train.py").chmod(0o755),
        lambda f: (f / "notes.txt").write_text(""),
        lambda f: (f / "empty").mkdir(),
        lambda f: (f / "pkg" / "model.py").unlink(),
        lambda f: (f / "link.py").symlink_to("train.py"),
    ],
    ids=["bytes", "size", "name", "mode", "new-file", "new-folder", "removed", "symlink"],
)
def test_hash_changes_with_any_change_an_upload_would_carry(code: Path, change) -> None:
    before = content_hash(code)
    change(code)
    assert content_hash(code) != before


def test_hash_follows_a_symlink_to_its_content_and_survives_loops(code: Path, tmp_path: Path) -> None:
    outside = tmp_path / "weights.txt"
    outside.write_text("v1")
    (code / "weights.txt").symlink_to(outside)
    (code / "pkg" / "again").symlink_to(code)  # a loop back to the top
    before = content_hash(code)
    outside.write_text("v2")
    assert content_hash(code) != before


# -- through the official client against the loopback Kaggle -------------------------------------------------


DS = "kmtester/my-code"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | str]]:
    return {
        p.relative_to(folder).as_posix(): (
            p.lstat().st_mode,
            os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else b"",
        )
        for p in sorted(folder.rglob("*"))
    }


def test_created_then_unchanged_then_versioned(
    kaggle_server, kaggle_backend, code: Path, state: Path
) -> None:
    first = upload_dataset(kaggle_backend, code, DS, title="My code dataset", state_dir=state)
    assert first.changed and first.version == 1
    dataset = kaggle_server.dataset(DS)
    assert dataset.title == "My code dataset" and dataset.private
    assert set(dataset.latest.files) == {"train.py", "pkg.zip"}  # the subfolder zipped, as -r zip does
    with zipfile.ZipFile(io.BytesIO(dataset.latest.files["pkg.zip"])) as z:
        assert sorted(z.namelist()) == ["__init__.py", "model.py"]

    sent = len(kaggle_server.calls())
    again = upload_dataset(kaggle_backend, code, DS, state_dir=state)
    assert not again.changed and again.status == "unchanged, no new version" and again.version == 1
    assert len(kaggle_server.calls()) == sent  # not a single request: re-running costs nothing
    assert len(dataset.versions) == 1

    (code / "pkg" / "model.py").write_text("LAYERS = 4\n")
    third = upload_dataset(kaggle_backend, code, DS, message="4 layers", state_dir=state)
    assert third.changed and third.version == 2
    assert [v.number for v in dataset.versions] == [1, 2] and dataset.latest.notes == "4 layers"
    assert (
        len(kaggle_server.calls("CreateDatasetVersion")) == 1
        and len(kaggle_server.calls("CreateDataset")) == 1
    )
    forced = upload_dataset(kaggle_backend, code, DS, state_dir=state, force=True)
    assert forced.changed and forced.version == 3


def test_state_is_kept_per_backend_and_dataset(
    kaggle_server, kaggle_backend, code: Path, state: Path
) -> None:
    upload_dataset(kaggle_backend, code, DS, state_dir=state)
    other = upload_dataset(kaggle_backend, code, "kmtester/my-code-copy", state_dir=state)
    assert other.changed and other.version == 1  # same content, other dataset: uploaded
    assert len(list(state.glob("*.json"))) == 2


def test_archives_and_executables_survive_the_trip(kaggle_server, kaggle_backend, tmp_path, state) -> None:
    folder = tmp_path / "tools-ds"
    (folder / "solver" / "bin").mkdir(parents=True)
    exe = folder / "solver" / "bin" / "solve"
    exe.write_text("#!/bin/sh\necho solved\n")
    exe.chmod(0o755)
    (folder / "solver" / "current").symlink_to("bin")
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    (folder / "helper.py").write_text("print(1)\n")
    (folder / "helper.py").chmod(0o755)  # a Python file needs no exec bit: uploaded as it is
    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as tar:
        info = tarfile.TarInfo("inside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (folder / "data.tar.gz").write_bytes(tarball.getvalue())
    (folder / "plain").mkdir()
    (folder / "plain" / "weights.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    before = snapshot(folder)

    result = upload_dataset(kaggle_backend, folder, DS, state_dir=state)
    files = kaggle_server.dataset(DS).latest.files
    assert set(files) == {
        "data.tar.gz.kmx",
        "helper.py",
        "plain.zip",
        "run.sh.tar.gz.kmx",
        "solver.tar.gz.kmx",
    }
    assert files["data.tar.gz.kmx"] == tarball.getvalue()  # the same bytes, under a name Kaggle leaves alone
    with zipfile.ZipFile(io.BytesIO(files["plain.zip"])) as z:
        assert z.namelist() == ["weights.zip.kmx"]
    assert any("solver/ holds executables or symlinks" in n and "tar -xzf" in n for n in result.notes)
    assert any("data.tar.gz uploaded as data.tar.gz.kmx" in n for n in result.notes)
    assert snapshot(folder) == before  # the user's folder was only read

    # what a notebook gets back after unpacking: the exec bits and the symlink
    for name in ("solver", "run.sh"):
        (tmp_path / f"{name}.kmx").write_bytes(files[f"{name}.tar.gz.kmx"])
        unpack_archive(tmp_path / f"{name}.kmx", tmp_path / "back" / name)
    back = tmp_path / "back"
    assert stat.S_IMODE((back / "solver" / "bin" / "solve").stat().st_mode) == 0o755
    assert os.readlink(back / "solver" / "current") == "bin"
    assert (back / "run.sh" / "run.sh").stat().st_mode & 0o111


def test_bad_input(kaggle_server, kaggle_backend, tmp_path: Path, code: Path, state: Path) -> None:
    with pytest.raises(DatasetFolderError, match="not found"):
        upload_dataset(kaggle_backend, tmp_path / "missing", DS, state_dir=state)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DatasetFolderError, match="holds no files"):
        upload_dataset(kaggle_backend, tmp_path / "empty", DS, state_dir=state)
    with pytest.raises(InvalidRef, match="takes none"):
        upload_dataset(kaggle_backend, code, f"{DS}/3", state_dir=state)
    with pytest.raises(PermissionDenied) as info:
        upload_dataset(kaggle_backend, code, "someone-else/their-code", state_dir=state)
    assert "someone-else/their-code" in info.value.message
    assert kaggle_server.calls("CreateDataset") == [] or all(
        r.status == 403 for r in kaggle_server.calls("CreateDataset")
    )
    assert not state.exists() or list(state.iterdir()) == []  # nothing recorded for a failed upload


# -- on the local backend ------------------------------------------------------------------------------------
def test_local_dataset_unchanged_and_archives_kept(tmp_path: Path, code: Path, state: Path) -> None:
    from kaggle_magics.local.backend import LocalBackend

    backend = LocalBackend(tmp_path / "store")
    (code / "bundle.tar.gz").write_bytes(b"not unpacked")
    first = upload_dataset(backend, code, "me/my-code", state_dir=state)
    assert first.version == 1
    files = tmp_path / "store" / "datasets" / "me" / "my-code" / "versions" / "1" / "files"
    assert (files / "bundle.tar.gz.kmx").read_bytes() == b"not unpacked"  # the local Kaggle unpacks .tar.gz
    assert (files / "pkg" / "model.py").read_text() == "LAYERS = 3\n"
    again = upload_dataset(backend, code, "me/my-code", state_dir=state)
    assert not again.changed and again.version == 1
    assert not (files.parent.parent / "2").exists()
    (code / "train.py").write_text("import pkg  # v2\n")
    assert upload_dataset(backend, code, "me/my-code", state_dir=state).version == 2


def test_the_result_says_where_a_kernel_finds_the_files(tmp_path: Path, code: Path, state: Path) -> None:
    """As the model's result does: the path in today's layout (or the old flat one), new version or not."""
    from kaggle_magics.local.backend import LocalBackend

    backend = LocalBackend(tmp_path / "store")
    first = upload_dataset(backend, code, "me/my-code", state_dir=state)
    assert first.input_path == "/kaggle/input/datasets/me/my-code"
    assert "  input path  /kaggle/input/datasets/me/my-code" in str(first).splitlines()
    again = upload_dataset(backend, code, "me/my-code", state_dir=state, layout="flat")
    assert not again.changed and again.input_path == "/kaggle/input/my-code"


def test_a_big_upload_shows_how_many_files_and_the_first_ten(tmp_path: Path, state: Path) -> None:
    """A wheelhouse or a code dataset of many files reads as a count and a few names, as outputs do."""
    from kaggle_magics.local.backend import LocalBackend

    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    for n in range(25):
        (folder / f"pkg{n:02d}-1.0-py3-none-any.whl").write_bytes(b"PK")
    result = upload_dataset(LocalBackend(tmp_path / "store"), folder, "me/wheelhouse", state_dir=state)
    assert len(result.files) == 25
    first = ", ".join(f"pkg{n:02d}-1.0-py3-none-any.whl" for n in range(10))
    assert f"  files       25: {first} ... (+15 more)" in str(result).splitlines()
    assert "pkg10" not in str(result) and "pkg10" not in result._repr_html_()
    assert "25: pkg00-1.0-py3-none-any.whl" in result._repr_html_()


def test_default_state_dir_follows_the_environment(
    kaggle_server, kaggle_backend, code: Path, upload_state_dir
):
    upload_dataset(kaggle_backend, code, DS)
    assert len(list((upload_state_dir / "datasets").glob("kmtester__my-code__*.json"))) == 1
    assert not upload_dataset(kaggle_backend, code, DS).changed


# -- symlinks that lead out of the folder --------------------------------------------------------------------
def _outside(tmp_path: Path) -> Path:
    secret = tmp_path / "home" / ".kaggle" / "kaggle.json"
    secret.parent.mkdir(parents=True)
    secret.write_text('{"username": "me", "key": "not-to-be-uploaded"}')
    return secret


@pytest.mark.parametrize(
    "where",
    ["top", "nested", "folder", "through-a-link"],
)
def test_a_symlink_out_of_the_folder_is_refused_at_any_depth(
    kaggle_server, kaggle_backend, tmp_path: Path, code: Path, state: Path, where: str
) -> None:
    secret = _outside(tmp_path)
    if where == "top":
        (code / "pw").symlink_to(secret)
    elif where == "nested":
        (code / "pkg" / "pw").symlink_to(secret)
    elif where == "folder":
        (code / "conf").symlink_to(secret.parent)
    else:  # read as text the link stays inside; resolved, it is the folder's parent
        (code / "pkg" / "up").symlink_to("..")
        (code / "escape").symlink_to("pkg/up/..")
    with pytest.raises(KaggleMagicsError, match=r"is a symlink to .*, outside the dataset folder") as info:
        upload_dataset(kaggle_backend, code, DS, state_dir=state)
    assert info.value.exit_code == 2 and "\n" not in info.value.message
    assert kaggle_server.calls() == [], "refused before anything was sent"


def test_a_symlink_out_of_the_folder_is_refused_by_the_local_kaggle_too(tmp_path: Path, code: Path) -> None:
    from kaggle_magics.local.backend import LocalBackend

    (code / "pw").symlink_to(_outside(tmp_path))
    backend = LocalBackend(tmp_path / "store")
    with pytest.raises(KaggleMagicsError, match="outside the dataset folder"):
        upload_dataset(backend, code, "me/my-code", state_dir=tmp_path / "state")
    with pytest.raises(KaggleMagicsError, match="outside the dataset folder"):
        backend.dataset_upload(code, DatasetRef.parse("me/my-code"))  # the backend itself, called directly
    assert not (tmp_path / "store" / "datasets").exists() or not list((tmp_path / "store" / "datasets").rglob("*.json"))


def test_a_symlink_that_stays_inside_is_uploaded_as_what_it_points_at(
    kaggle_server, kaggle_backend, code: Path, state: Path
) -> None:
    (code / "latest.py").symlink_to("pkg/model.py")
    upload_dataset(kaggle_backend, code, DS, state_dir=state)
    assert kaggle_server.dataset(DS).latest.files["latest.py"] == b"LAYERS = 3\n"
