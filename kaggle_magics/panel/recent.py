"""The panel's table of recent kernels: what this machine pushed (:mod:`kaggle_magics.history`), each
version with its status and runtime asked of the backend it went to."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import KaggleMagicsError
from ..history import Pushed, recent
from ..progress import format_seconds


@dataclass
class Row:
    kernel: str
    version: int | None
    backend: str
    status: str
    runtime: str
    pushed: str


def _ago(when: float, now: float) -> str:
    return f"{format_seconds(now - when)} ago"


def rows(open_backend: Callable[[str | None], Any], limit: int = 8) -> list[Row]:
    """The last ``limit`` pushes with their state now; a backend that cannot answer says why in the row."""
    from ..handles import KernelRef

    now = time.time()
    found: list[Row] = []
    backends: dict[str, Any] = {}
    for item in recent(limit):
        name = item.backend or "kaggle"
        status, runtime = "?", ""
        try:
            backend = backends.get(name) or backends.setdefault(name, open_backend(name))
            state = backend.kernel_status(KernelRef.parse(item.versioned))
            status = state.status
            if state.runtime_seconds is not None:
                runtime = format_seconds(state.runtime_seconds)
        except KaggleMagicsError as exc:
            status = f"? ({exc.message})"
        found.append(Row(item.ref, item.version, name, status, runtime, _ago(item.pushed_at, now)))
    return found


def table_html(found: list[Row]) -> str:
    if not found:
        return "<i>no kernels pushed from this machine yet</i>"
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("kernel", "version", "backend", "status",
                                                                     "runtime", "pushed"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (r.kernel, r.version or "", r.backend,
                                                                     r.status, r.runtime, r.pushed)) + "</tr>"
        for r in found
    )
    return f"<table class='kaggle-magics-recent'><tr>{head}</tr>{body}</table>"


__all__ = ["Pushed", "Row", "rows", "table_html"]
