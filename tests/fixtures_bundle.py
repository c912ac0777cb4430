"""Fixtures for the bundle tests: small real packages built once per session and served from a find-links
folder (no PyPI), fresh venvs, and the network cut with ``unshare -rn``.

The index folder holds what a real index would for these packages:

- ``kmt-alpha`` 1.0: pure wheel with a console script, depends on ``kmt-beta``
- ``kmt-beta`` 1.0: an sdist only (as antlr4-python3-runtime on PyPI)
- ``kmt-cext`` 1.0: an sdist only, with a C extension
- ``kmt-gamma`` 1.0 and 2.0: pure wheels, depend on ``kmt-delta`` 1.0 (pure wheel)
- ``kmt-mac`` 1.0: one wheel, tagged ``cp312-cp312-macosx_11_0_arm64`` only
- ``kmt-old`` 0.1: a wheel for CPython 3.6 only and an sdist whose metadata does not parse (``pytz
  (>=2011k)``, as pandas 0.23.3's for Python 3.12); 1.0: a pure wheel
- ``kmt-big`` 1.0: pure wheel holding 600 kB of random data
- setuptools and packaging wheels (repacked from this interpreter), for isolated builds and resolutions

plus ``kmt-local`` (a folder required by path) outside the index, and ``kmt-vcs`` (a git repository, the
``vcs_repo`` fixture: it needs git).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kaggle_magics.bundle.resolve import find_uv
from kaggle_magics.bundle.wheels import repack_installed
from tests.requires import missing, require

PACKAGES = Path(__file__).parent / "packages"


@dataclass
class PackageIndex:
    """The session's package sources."""

    links: Path  # find-links folder
    local: Path  # kmt-local's folder (required by path)
    uv_cache: Path
    xdg_cache: Path  # the user cache folder (repacked tool wheels), shared by the session's tests

    def freeze_kwargs(self) -> dict:
        return {"find_links": [self.links], "no_index": True, "progress": False}


def _uv() -> str:
    uv = find_uv()
    if uv is None:  # pragma: no cover - uv is a dependency
        pytest.skip("uv is not installed")
    return uv


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", **extra)
    return env


def _build(uv: str, source: Path, out: Path, cache: Path, *, sdist: bool, wheel: bool) -> None:
    """Publish a test package: with this interpreter's setuptools (no build env: fast), from a copy."""
    kinds = (["--sdist"] if sdist else []) + (["--wheel"] if wheel else [])
    subprocess.run(
        [uv, "build", "-q", *kinds, "--no-build-isolation", "--python", sys.executable,
         "--out-dir", str(out), "--cache-dir", str(cache), str(source)],
        check=True, env=_clean_env(),
    )  # fmt: skip


def _requires(wheel: Path, out: Path, requirement: str) -> None:
    """A copy of ``wheel`` whose METADATA also says ``Requires-Dist: requirement`` (RECORD updated)."""
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = re.sub(r"^(Version: .*)$", rf"\1\nRequires-Dist: {requirement}", src.read(metadata).decode(),
                      count=1, flags=re.MULTILINE)  # fmt: skip
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        for name in names:
            data = src.read(name)
            if name == metadata:
                data = text.encode()
            elif name.endswith(".dist-info/RECORD"):
                lines = [f"{metadata},sha256={digest},{len(text.encode())}" if line.startswith(metadata + ",")
                         else line for line in data.decode().splitlines()]  # fmt: skip
                data = ("\n".join(lines) + "\n").encode()
            dst.writestr(name, data)
    wheel.unlink()


def _old_package(uv: str, source: Path, root: Path, links: Path, cache: Path) -> None:
    """kmt-old 1.0 (a pure wheel) and 0.1 (a cp36 wheel and an sdist with metadata uv cannot parse)."""
    for version in ("0.1", "1.0"):
        tree = root / f"old-{version}"
        shutil.copytree(source, tree)
        for path in (tree / "pyproject.toml", tree / "kmt_old" / "__init__.py"):
            path.write_text(path.read_text().replace("@VERSION@", version))
        out = links if version == "1.0" else root / "old-wheel"
        _build(uv, tree, out, cache, sdist=False, wheel=True)
    subprocess.run(
        [sys.executable, "-m", "wheel", "tags", "--remove", "--python-tag", "cp36", "--abi-tag", "cp36m",
         "--platform-tag", "manylinux1_x86_64", str(next((root / "old-wheel").glob("*.whl")))],
        check=True, capture_output=True,
    )  # fmt: skip
    for wheel in (root / "old-wheel").glob("*.whl"):
        _requires(wheel, links / wheel.name, "pytz (>=2011k)")  # a requirement old tools wrote, not PEP 508
    pkg_info = "Metadata-Version: 2.1\nName: kmt-old\nVersion: 0.1\nRequires-Dist: pytz (>=2011k)\n"
    with tarfile.open(links / "kmt_old-0.1.tar.gz", "w:gz") as sdist:
        for name, text in (("PKG-INFO", pkg_info), ("setup.py", "raise SystemExit('no build here')\n")):
            data = text.encode()
            info = tarfile.TarInfo(f"kmt_old-0.1/{name}")
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="session")
def bundle_index(tmp_path_factory: pytest.TempPathFactory) -> PackageIndex:
    """Build the test packages once and lay out the find-links folder."""
    uv = _uv()
    root = tmp_path_factory.mktemp("bundle-index")
    links = root / "links"
    links.mkdir()
    cache = root / "uv-cache"
    repack_installed("setuptools", links)
    repack_installed("packaging", links)
    work = root / "src"
    shutil.copytree(PACKAGES, work)
    _build(uv, work / "kmt_alpha", links, cache, sdist=False, wheel=True)
    _build(uv, work / "kmt_beta", links, cache, sdist=True, wheel=False)
    _build(uv, work / "kmt_cext", links, cache, sdist=True, wheel=False)
    _build(uv, work / "kmt_delta", links, cache, sdist=False, wheel=True)
    (work / "kmt_big" / "kmt_big" / "blob.bin").write_bytes(os.urandom(600_000))
    _build(uv, work / "kmt_big", links, cache, sdist=False, wheel=True)
    for version in ("1.0", "2.0"):
        gamma = root / f"gamma-{version}"
        shutil.copytree(work / "kmt_gamma", gamma)
        for path in (gamma / "pyproject.toml", gamma / "kmt_gamma" / "__init__.py"):
            path.write_text(path.read_text().replace("@VERSION@", version))
        _build(uv, gamma, links, cache, sdist=False, wheel=True)
    mac = root / "mac"
    _build(uv, work / "kmt_mac", mac, cache, sdist=False, wheel=True)
    subprocess.run(
        [sys.executable, "-m", "wheel", "tags", "--remove", "--python-tag", "cp312", "--abi-tag", "cp312",
         "--platform-tag", "macosx_11_0_arm64", str(next(mac.glob("*.whl")))],
        check=True, capture_output=True,
    )  # fmt: skip
    for wheel in mac.glob("*.whl"):
        shutil.move(wheel, links / wheel.name)
    _old_package(uv, work / "kmt_old", root, links, cache)
    return PackageIndex(
        links=links, local=work / "kmt_local", uv_cache=cache, xdg_cache=root / "xdg-cache"
    )


@pytest.fixture(scope="session")
def vcs_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kmt-vcs 0.7 committed in a git repository (for ``name @ git+file://...`` requirements)."""
    require("git")
    vcs = tmp_path_factory.mktemp("vcs") / "kmt-vcs-repo"
    shutil.copytree(PACKAGES / "kmt_vcs", vcs, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    git = ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "kmt-vcs 0.7"]):
        subprocess.run([*git, *args], cwd=vcs, check=True, capture_output=True)
    return vcs


@pytest.fixture
def bundle_env(bundle_index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> PackageIndex:
    """Per test: uv's and the user cache shared across the session (builds and repacked wheels are reused)."""
    monkeypatch.setenv("UV_CACHE_DIR", str(bundle_index.uv_cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(bundle_index.xdg_cache))
    return bundle_index


@pytest.fixture(scope="session")
def alpha_bundle(bundle_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kmt-alpha frozen for Kaggle's target (CPython 3.12 manylinux) from this 3.11 machine, no network.

    Tests that alter a bundle must copy it first (:func:`copy_bundle`).
    """
    from kaggle_magics.bundle import freeze

    dest = tmp_path_factory.mktemp("alpha-bundle") / "kaggle_deps"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("PIP_", "UV_", "KAGGLE_")):
                mp.delenv(name)
        mp.setenv("UV_CACHE_DIR", str(bundle_index.uv_cache))
        mp.setenv("XDG_CACHE_HOME", str(bundle_index.xdg_cache))
        freeze(["kmt-alpha"], dest=dest, **bundle_index.freeze_kwargs())
    return dest


def copy_bundle(bundle: Path, dest: Path) -> Path:
    shutil.copytree(bundle, dest)
    return dest


@pytest.fixture
def make_venv(tmp_path: Path) -> Iterator:
    """``make_venv(name, python=None)`` -> the venv's python: a fresh venv made by uv (no pip inside)."""
    uv = _uv()

    def make(name: str = "venv", python: str | None = None) -> Path:
        folder = tmp_path / name
        subprocess.run(
            [uv, "venv", "-q", "--python", python or sys.executable, str(folder)],
            check=True, env=_clean_env(), capture_output=True,
        )  # fmt: skip
        return folder / "bin" / "python"

    yield make


def unshare_available() -> bool:
    return missing("unshare") is None


def offline(cmd: list[str]) -> list[str]:
    """``cmd`` run with no network (a new network namespace); the test skips where that is not possible."""
    require("unshare")
    return ["unshare", "-rn", *cmd]


def installed_in(python: Path, project: str) -> str | None:
    """The version of ``project`` installed for ``python``, or None."""
    code = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: print('')\n"
    )
    out = subprocess.run(
        [str(python), "-I", "-c", code, project], capture_output=True, text=True, check=True
    ).stdout.strip()
    return out or None
