"""Fixtures for the loopback Kaggle API server (tests/kaggle_server.py).

- ``kaggle_server``: a fresh server state for each test, and the environment that sends the official clients
  to it with fake credentials (``KAGGLE_USERNAME``/``KAGGLE_KEY``).
- ``kaggle_server_anonymous``: the same, without credentials.
- ``kaggle_backend``: a :class:`KaggleBackend` with short retry delays, talking to ``kaggle_server``.
- ``kaggle_cli``: runs the official ``kaggle`` CLI in a subprocess against the server
  (see :func:`run_kaggle_cli`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.kaggle_server import FAKE_KEY, FAKE_TOKEN, FAKE_USER, KaggleServer

if TYPE_CHECKING:
    from kaggle_magics.backends.kaggle import KaggleBackend
    from kaggle_magics.backends.retry import RetryPolicy

__all__ = [
    "FAKE_KEY",
    "FAKE_TOKEN",
    "FAKE_USER",
    "KaggleServer",
    "client_reads_versions",
    "client_resumes_uploads",
    "fast_retry_policy",
    "left",
    "run_kaggle_cli",
]


# What the official client can do depends on its version: Kaggle's image has kaggle 2.0.1 (kagglesdk 0.1.18),
# which cannot read submission limits or ask about one version of a kernel, and sends an interrupted upload
# again whole; kaggle 2.2 can. The tests run under both (tests/test_image_compat.py).
def left(backend: KaggleBackend, count: int) -> int | None:
    """The submissions left that a result reports: ``count``, or None from a client that cannot read them."""
    return count if backend.reads_limits() else None


def client_reads_versions() -> bool:
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusRequest

    return hasattr(ApiGetKernelSessionStatusRequest(), "version_label")


def client_resumes_uploads() -> bool:
    import importlib.metadata

    from packaging.version import Version

    return Version(importlib.metadata.version("kaggle")) >= Version("2.2")


@pytest.fixture(scope="session")
def _kaggle_server_process() -> Iterator[KaggleServer]:
    with KaggleServer() as server:
        yield server


def _route(server: KaggleServer, monkeypatch: pytest.MonkeyPatch, **kwargs: bool) -> KaggleServer:
    server.reset()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in server.client_env(**kwargs).items():
        monkeypatch.setenv(name, value)
    return server


@pytest.fixture
def kaggle_server(_kaggle_server_process: KaggleServer, monkeypatch: pytest.MonkeyPatch) -> KaggleServer:
    """The loopback Kaggle, reset, with the clients pointed at it and fake credentials in the environment."""
    return _route(_kaggle_server_process, monkeypatch, credentials=True)


@pytest.fixture
def kaggle_server_anonymous(
    _kaggle_server_process: KaggleServer, monkeypatch: pytest.MonkeyPatch
) -> KaggleServer:
    """The loopback Kaggle with the clients pointed at it, and no credentials anywhere."""
    return _route(_kaggle_server_process, monkeypatch, credentials=False)


def fast_retry_policy() -> RetryPolicy:
    """Retry delays short enough for tests (the defaults wait seconds)."""
    from kaggle_magics.backends.retry import RetryPolicy

    return RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, max_retry_after=5.0)


@pytest.fixture
def kaggle_backend(kaggle_server: KaggleServer) -> KaggleBackend:
    """A KaggleBackend over the official clients, talking to ``kaggle_server``, with short retry delays."""
    from kaggle_magics.backends.kaggle import KaggleBackend

    return KaggleBackend(retry=fast_retry_policy())


def run_kaggle_cli(
    server: KaggleServer,
    *args: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    credentials: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the official CLI (``kaggle ARGS``) against ``server`` and return the finished process.

    The child gets this process's environment (the tests' isolation included), the variables that route the
    client to the server, the fake credentials unless ``credentials=False``, then ``env`` on top.
    """
    child_env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "https_proxy")}
    if not credentials:
        for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
            child_env.pop(name, None)
    child_env.update(server.client_env(credentials=credentials))
    child_env.update(env or {})
    # the console script: `python -m kaggle` works only from kaggle 2.2 on (2.0.1, Kaggle's image, has no
    # kaggle/__main__.py)
    script = Path(sys.executable).with_name("kaggle")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kaggle"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def kaggle_cli(kaggle_server: KaggleServer) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``kaggle_cli("kernels", "push", "-p", str(folder))`` runs the official CLI against the server."""

    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_kaggle_cli(kaggle_server, *args, **kwargs)  # type: ignore[arg-type]

    return run
