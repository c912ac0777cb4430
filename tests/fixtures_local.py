"""Fixtures for the local Kaggle: kernel folders, a tiny wheel, a TCP server on the host's loopback, and a
module-scoped environment that matches the per-test isolation (no credentials, no machine pip config)."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from kaggle_magics.notebook import build_notebook
from tests import wheelhouse
from tests.requires import require

SECRET = "test-secret-must-never-reach-a-run"


def make_notebook(cells: list[str | tuple[str, str]]) -> str:
    """Notebook JSON with a kernelspec: strings are code cells, ``("markdown", text)`` markdown cells."""
    import nbformat.v4 as v4

    nb = build_notebook([])
    nb.cells = [v4.new_markdown_cell(c[1]) if isinstance(c, tuple) else v4.new_code_cell(c) for c in cells]
    return json.dumps(nb)


def make_kernel(folder: Path, kernel_id: str, cells: list[str | tuple[str, str]], **meta: object) -> Path:
    """A kernel folder: kernel-metadata.json + notebook.ipynb from ``cells`` (internet off unless said)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notebook.ipynb").write_text(make_notebook(cells), encoding="utf-8")
    slug = kernel_id.split("/")[1]
    data = {
        "id": kernel_id,
        "title": slug.replace("-", " ").title(),
        "code_file": "notebook.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "enable_internet": False,
        **meta,
    }
    (folder / "kernel-metadata.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    return folder


def make_wheel(
    folder: Path, name: str = "tinypkg", version: str = "0.1", requires: tuple[str, ...] = ()
) -> Path:
    """A minimal valid pure-Python wheel (pip installs it offline); ``name.VALUE == 42``."""
    dist = f"{name}-{version}"
    needs = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{needs}",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


class LoopbackServer:
    """A TCP server on the host's 127.0.0.1 that records what each connection sent, and answers ``hello``."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    self.received.append(conn.recv(100).decode(errors="replace"))
                    conn.sendall(b"hello\n")
                except OSError:
                    self.received.append("<no data>")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def image_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's image twins and uv cache, shared by its tests (a twin is built once per package set)."""
    return tmp_path_factory.mktemp("image-caches")


def use_test_wheelhouse(mp: pytest.MonkeyPatch, caches: Path) -> None:
    """Local runs build their image twins from the test wheelhouse, uv offline, into the session's caches."""
    mp.setenv("KAGGLE_MAGICS_IMAGE_CACHE", str(caches / "image-envs"))
    mp.setenv("UV_CACHE_DIR", str(caches / "uv"))
    mp.setenv("UV_FIND_LINKS", str(wheelhouse.folder()))
    mp.setenv("UV_OFFLINE", "1")
    if not _wheelhouse_complete():  # a twin cannot be built: the tests that need one skip (fail in CI)
        from kaggle_magics.local import image_build

        def build(*args: object, **kwargs: object) -> NoReturn:
            require("image-wheelhouse")
            raise AssertionError("unreachable")

        mp.setattr(image_build, "build", build)


@functools.cache
def _wheelhouse_complete() -> bool:
    return wheelhouse.complete()


@contextlib.contextmanager
def isolated_environ(store: Path, tmp: Path, caches: Path) -> Iterator[None]:
    """What tests/conftest.py does per test, for module-scoped fixtures that start runs (``caches``: the
    session's image caches); plus a fake secret that runs must not see."""

    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("KAGGLE_", "KAGGLEHUB_", "PIP_", "UV_")) or name.lower() in (
                "http_proxy",
                "https_proxy",
                "no_proxy",
            ):
                mp.delenv(name, raising=False)
        tmp.mkdir(parents=True, exist_ok=True)
        mp.setenv("KAGGLE_MAGICS_STORE", str(store))
        mp.setenv("KAGGLE_CONFIG_DIR", str(tmp / "kaggle-config"))
        mp.setenv("KAGGLE_MAGICS_STATE_DIR", str(tmp / "state"))
        mp.setenv("TMPDIR", str(tmp))
        mp.setenv("PIP_CONFIG_FILE", os.devnull)
        mp.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        mp.setenv("KAGGLE_KEY", SECRET)
        use_test_wheelhouse(mp, caches)
        yield


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (to prove a stopped run left nothing running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
