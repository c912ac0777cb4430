"""What a test needs from the machine, by name: ``@pytest.mark.requires("bwrap")`` or, inside a fixture,
``require("bwrap")``.

Outside CI a test whose need is missing is skipped with the reason (a fresh machine set up as the README
says runs the rest). In CI (``CI`` set to ``true`` or ``1``) nothing may be skipped: the same test fails and
says what the machine lacks, so a CI run without bubblewrap or chromium cannot pass by skipping.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@functools.cache
def _unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


def _sandbox(mode: str) -> Callable[[], bool]:
    def check() -> bool:
        from kaggle_magics.local import sandbox

        return sandbox.probe(mode)

    return check


def _unshare_view() -> bool:
    from kaggle_magics.local import sandbox

    return sandbox.probe("unshare") and sandbox.unshare_view_problem() is None


@functools.cache
def python312() -> str | None:
    """A CPython 3.12 on this machine, if any (Kaggle's Python, for the real thing)."""
    candidates = [shutil.which("python3.12")]
    candidates += sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob("3.12*/bin/python3.12"))
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
            )
            if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
                return candidate
    return None


def _wheelhouse() -> bool:
    from tests import wheelhouse

    return wheelhouse.complete()


# name -> (check, what is missing and how to get it)
NEEDS: dict[str, tuple[Callable[[], bool], str]] = {
    "bwrap": (
        _sandbox("bwrap"),
        "bubblewrap with unprivileged user namespaces (Debian/Ubuntu: apt-get install bubblewrap)",
    ),
    "unshare": (_unshare, "util-linux unshare with unprivileged user namespaces (unshare -rn true must work)"),
    "unshare-view": (
        _unshare_view,
        "util-linux unshare able to lay out /kaggle (user, mount and pid namespaces; mounts and pivot_root in them)",
    ),
    "chromium": (CHROMIUM.exists, f"{CHROMIUM} (Debian: apt-get install chromium)"),
    "python3.12": (lambda: python312() is not None, "a CPython 3.12 interpreter (python3.12 on PATH or in pyenv)"),
    "writable-run": (lambda: os.access("/run", os.W_OK), "a writable /run to put a host socket in"),
    "git": (lambda: shutil.which("git") is not None, "git, for git requirements (Debian: apt-get install git)"),
    "gcc": (
        lambda: shutil.which("gcc") is not None,
        "gcc, which the toolchain example compiles its solver with (Debian: apt-get install gcc)",
    ),
    "image-wheelhouse": (
        _wheelhouse,
        "the test wheelhouse of Kaggle's image versions (run `python -m tests.wheelhouse` once, online)",
    ),
}


def missing(name: str) -> str | None:
    """Why the machine cannot give ``name``, or None when it can."""
    check, reason = NEEDS[name]
    return None if check() else reason


def require(*names: str) -> None:
    """Skip (outside CI) or fail (in CI) the running test when the machine lacks one of ``names``."""
    for name in names:
        reason = missing(name)
        if reason is not None:
            if in_ci():
                pytest.fail(f"CI must provide {reason}; this test may not be skipped in CI", pytrace=False)
            pytest.skip(f"needs {reason}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*names): the machine must provide these (" + ", ".join(NEEDS) + "); skipped "
        "outside CI when missing, a failure in CI"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("requires"):
        unknown = [n for n in mark.args if n not in NEEDS]
        if unknown:
            pytest.fail(f"unknown requirement {unknown[0]!r}: known are {', '.join(NEEDS)}", pytrace=False)
        require(*mark.args)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a skip from anywhere (a fixture, an importorskip) is a failure: CI must run every test."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"
