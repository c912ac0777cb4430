"""The interpreter an image twin is built on: the image's Python (3.12) when this machine has one, found by
uv's discovery (no download), then in pyenv's folder, then on PATH; else the running one, said in a note.

What was found is remembered in the twins' cache folder (uv's discovery can take a second), for as long as
that interpreter's file stays the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

KAGGLE_PYTHON = "3.12"


@dataclass(frozen=True)
class Python:
    """An interpreter the twin is built on."""

    executable: str
    version: str  # "3.12.1"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _probe(executable: str) -> Python | None:
    try:
        done = subprocess.run(
            [executable, "-I", "-c", "import sys, platform; print(sys.executable); print(platform.python_version())"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    if done.returncode or len(lines) != 2:
        return None
    return Python(os.path.realpath(lines[0]), lines[1])


def _stamp(executable: str) -> list[float]:
    info = os.stat(executable)
    return [info.st_mtime, float(info.st_size)]


def find_python(version: str = KAGGLE_PYTHON) -> Python | None:
    """A CPython ``version`` on this machine: uv's discovery (no download), then pyenv's folder, then PATH."""
    from .image import cache_root

    memo = cache_root() / "pythons.json"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))[version]
        if _stamp(known["executable"]) == known["stamp"]:
            return Python(known["executable"], known["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = _discover(version)
    if found is not None:
        try:
            data = json.loads(memo.read_text(encoding="utf-8")) if memo.is_file() else {}
        except (OSError, ValueError):
            data = {}
        data[version] = {**asdict(found), "stamp": _stamp(found.executable)}
        try:
            from .store import write_json

            write_json(memo, data)
        except OSError:
            pass
    return found


def _discover(version: str) -> Python | None:
    from ..bundle.resolve import find_uv

    candidates: list[str] = []
    uv = find_uv()
    if uv:
        done = subprocess.run(
            [uv, "python", "find", "--system", "--no-python-downloads", "--no-config", version],
            capture_output=True, text=True, check=False, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )  # fmt: skip
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(done.stdout.strip().splitlines()[-1])
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += sorted((str(p) for p in pyenv.glob(f"versions/{version}*/bin/python{version}")), reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path and "shims" not in Path(on_path).parts:
        candidates.append(on_path)
    for candidate in candidates:
        found = _probe(candidate)
        if found is not None and found.minor == version:
            return found
    return None


def choose_python(version: str) -> tuple[Python, list[str]]:
    """The interpreter for a twin of Python ``version``, and a note when it is not that version."""
    found = find_python(version)
    if found is not None:
        return found, []
    local = _probe(getattr(sys, "_base_executable", sys.executable)) or Python(
        sys.executable, ".".join(map(str, sys.version_info[:3]))
    )
    return local, [
        f"no Python {version} on this machine: the run uses Python {local.version} (Kaggle runs {version}); "
        f"`uv python install {version}` gives the real one"
    ]
