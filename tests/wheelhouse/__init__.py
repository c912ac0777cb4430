"""The test wheelhouse: the exact wheels of Kaggle's kernel machinery and of kaggle-magics's requirements at
the versions of Kaggle's image, for the Pythons the tests use, so that the tests can build image twins and
venvs with the image's versions with no index at all.

``image.lock`` (committed) names every file with its size, sha256 and URL; ``python -m tests.wheelhouse``
fetches what is missing into :func:`folder` (``$KAGGLE_MAGICS_TEST_WHEELHOUSE``, default
``~/.cache/kaggle-magics-tests/wheelhouse``) with pip, from PyPI, each file checked against its hash; a
complete wheelhouse makes it a no-op. ``python -m tests.wheelhouse --lock`` writes ``image.lock`` again from
``image.in`` and pyproject's requirements (uv, PyPI; Kaggle's image list as the constraints).

Tests that need it declare the need ``image-wheelhouse`` (tests/requires.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "image.lock"
ENV_FOLDER = "KAGGLE_MAGICS_TEST_WHEELHOUSE"
PYTHONS = ("3.11", "3.12")
PLATFORM = "manylinux_2_28_x86_64"  # the lock's target: any x86_64 Linux with glibc >= 2.28
FETCH_COMMAND = "python -m tests.wheelhouse"

# Read once, at import: the tests' isolation removes KAGGLE_* variables from each test's environment, and
# some tests move XDG_CACHE_HOME.
_FOLDER = Path(
    os.environ.get(ENV_FOLDER)
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kaggle-magics-tests" / "wheelhouse"
).expanduser()


@dataclass(frozen=True)
class Locked:
    """One file of the lock."""

    python: str  # "3.12"
    filename: str
    size: int
    sha256: str
    url: str

    @property
    def project(self) -> str:
        return self.filename.split("-", 1)[0].replace("_", "-").lower()

    @property
    def version(self) -> str:
        return self.filename.split("-")[1]


def folder() -> Path:
    """Where the wheels are (a find-links folder)."""
    return _FOLDER


@functools.cache
def locked() -> tuple[Locked, ...]:
    entries = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        python, filename, size, sha256, url = line.split()
        entries.append(Locked(python, filename, int(size), sha256, url))
    return tuple(entries)


def for_python(python: str) -> list[Locked]:
    """The files a venv of ``python`` ("3.12") installs."""
    return [entry for entry in locked() if entry.python == python]


def pins(python: str) -> dict[str, str]:
    """Project -> version of the lock for ``python``."""
    return {entry.project: entry.version for entry in for_python(python)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def missing(python: str | None = None, *, check_hashes: bool = False) -> list[Locked]:
    """The locked files (of ``python``, or all) not in the folder; by size, or by sha256 when asked."""
    root = folder()
    out = []
    for entry in locked():
        if python is not None and entry.python != python:
            continue
        path = root / entry.filename
        try:
            ok = path.stat().st_size == entry.size and (not check_hashes or sha256_of(path) == entry.sha256)
        except OSError:
            ok = False
        if not ok:
            out.append(entry)
    return out


def complete(python: str | None = None) -> bool:
    return not missing(python)
