"""%kaggle_dataset: the content hash that decides whether a version is needed, and (further down) uploads
through the official client against the loopback server and into the local backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaggle_magics.datasets import content_hash


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
def test_hash_changes_with_any_change_an_upload_would_carry(code: Path, change) -> None:  # noqa: ANN001
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
