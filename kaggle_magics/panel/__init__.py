"""``%kaggle_panel``: an ipywidgets panel that drives the whole workflow (settings, freeze, dry run, push,
rehearse, status, wait, output, submit, recent kernels) over the same verbs as the magics and the CLI.

ipywidgets is imported only when a panel is built (``pip install 'kaggle-magics[panel]'``): loading the
extension stays cheap. Modules: :mod:`.app` (the panel and its actions), :mod:`.form` (the settings and the
arguments they make), :mod:`.display` (outputs, progress, log), :mod:`.recent` (the recent kernels' table).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import KaggleMagicsError
from .display import LabelDisplay, error_output, result_output
from .form import BACKEND_CHOICES

__all__ = [
    "BACKEND_CHOICES",
    "LabelDisplay",
    "default_context",
    "error_output",
    "kernel_panel",
    "result_output",
]  # and KagglePanel, made on first use


def _widgets() -> Any:
    try:
        import ipywidgets  # type: ignore[import-untyped]
    except ImportError:
        raise KaggleMagicsError(
            "the panel needs ipywidgets, which is not installed",
            hint="pip install 'kaggle-magics[panel]' (or pip install ipywidgets), then restart the kernel",
        ) from None
    return ipywidgets


def default_context() -> Any:
    """The project defaults of the current folder (what the CLI uses; the magic passes its %config on top)."""
    from ..config import load_project_defaults
    from ..verbs import Context

    return Context(defaults=load_project_defaults(Path.cwd()))


@functools.cache
def _panel_class() -> type:
    """The panel class, made on first use so that importing this package does not import ipywidgets."""
    from .app import make_panel_class

    return make_panel_class(_widgets())


def kernel_panel(
    ref: str = "",
    *,
    backend: str | None = None,
    path: str = "",
    dest: str = "",
    competition: str | None = None,
    context: Callable[[], Any] = default_context,
    poll: Any = None,
) -> Any:
    """Build the panel (a ``VBox``); ``poll`` is the waits' schedule (a :class:`~kaggle_magics.waiting.Poll`)."""
    cls = _panel_class()
    return cls(ref, backend=backend, path=path, dest=dest, competition=competition, context=context, poll=poll)


def __getattr__(name: str) -> Any:
    """``KagglePanel`` is made on first access (it subclasses an ipywidgets class)."""
    if name == "KagglePanel":
        return _panel_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
