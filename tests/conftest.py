"""Shared fixtures. Every test runs with no Kaggle credentials, its own TMPDIR and local store, and none of
this machine's pip configuration (find-links, extra indexes, constraints); local runs build their image twins
from the test wheelhouse (tests/wheelhouse), offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.requires",
    "tests.fixtures_shell",
    "tests.fixtures_kaggle",
    "tests.fixtures_local",
    "tests.fixtures_workflow",
    "tests.fixtures_bundle",
]

_LEAKY_PREFIXES = ("KAGGLE_", "KAGGLEHUB_", "PIP_", "UV_")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own working folder, the current one while it runs (default destinations are relative to it)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_reaches_the_runs() -> None:
    """A suite started in the background by a script (``cmd &`` without job control) inherits SIGINT ignored,
    and so would every process it starts: the Ctrl-C tests (exit 130) need it delivered as in a terminal."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # its children start with SIG_DFL again

@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, image_caches: Path
) -> Path:
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) or name.lower() in ("http_proxy", "https_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("env")
    (home / "kaggle-config").mkdir(parents=True)
    (home / "tmp").mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / "kaggle-config"))
    monkeypatch.setenv("KAGGLE_MAGICS_STORE", str(home / "store"))
    monkeypatch.setenv("KAGGLE_MAGICS_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("TMPDIR", str(home / "tmp"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(home / "kagglehub"))
    from tests.fixtures_local import use_test_wheelhouse

    use_test_wheelhouse(monkeypatch, image_caches)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return home
