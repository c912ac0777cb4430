"""The kernels this machine pushed, newest last: one JSON line per push in ``<state dir>/pushes.jsonl``.

Kaggle's API lists no versions of a kernel, so what was pushed from here is remembered here: the panel's table
of recent kernels reads it, and asks the backend for each one's status. Losing the file loses only the table.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import config

FILE_NAME = "pushes.jsonl"


@dataclass(frozen=True)
class Pushed:
    """One push: the kernel, its version, where it went, when."""

    ref: str
    version: int | None
    backend: str | None
    url: str | None
    pushed_at: float

    @property
    def versioned(self) -> str:
        return self.ref if self.version is None else f"{self.ref}/{self.version}"


def _path() -> Path:
    return config.state_dir() / FILE_NAME


def record(result: Any) -> None:
    """Remember a :class:`~kaggle_magics.results.PushResult` (a dry run is not a push). Never fails a push:
    a state folder that cannot be written only loses the table's row."""
    if getattr(result, "dry_run", False) or not getattr(result, "ref", None):
        return
    entry = Pushed(result.ref, result.version, result.backend, result.url, time.time())
    path = _path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.write(json.dumps(asdict(entry)) + "\n")


def recent(limit: int = 10) -> list[Pushed]:
    """The last ``limit`` pushes, newest first (lines that are not a push record are skipped)."""
    try:
        lines = _path().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found: list[Pushed] = []
    for line in reversed(lines):
        try:
            data = json.loads(line)
            found.append(
                Pushed(
                    str(data["ref"]),
                    int(data["version"]) if data.get("version") is not None else None,
                    data.get("backend"),
                    data.get("url"),
                    float(data["pushed_at"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
        if len(found) >= limit:
            break
    return found
