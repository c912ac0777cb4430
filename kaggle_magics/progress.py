"""Live progress while we wait on Kaggle or download from it.

In a notebook ``tqdm.auto`` picks its widget; in a terminal it is one line on stderr that updates in place
(and nothing at all when stderr is not a terminal, so logs stay clean). Workflows take a ``display`` argument
so callers and tests can swap in their own: ``None`` means this automatic choice, ``False`` means silence, and
any object with ``update``/``close`` (the :class:`Display` protocol) is used as given.
"""

from __future__ import annotations

import sys
from typing import IO, Any, Protocol, runtime_checkable


@runtime_checkable
class Display(Protocol):
    """Where a wait reports its state: called after every poll and about once a second in between."""

    def update(self, state: str, elapsed: float) -> None: ...

    def close(self, final: str | None = None) -> None: ...


class NullDisplay:
    """Shows nothing."""

    def update(self, state: str, elapsed: float) -> None:
        pass

    def close(self, final: str | None = None) -> None:
        pass


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: short enough for a progress line, exact enough to read."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _in_kernel() -> bool:
    """Whether this runs in a notebook's kernel (asked without importing IPython ourselves)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _has_widgets() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):
        return False


def _in_notebook() -> bool:
    """Whether tqdm.auto would pick its notebook widget: in a kernel, with ipywidgets (without it tqdm.auto
    warns "IProgress not found. Please update jupyter and ipywidgets" and falls back to text)."""
    return _in_kernel() and _has_widgets()


def text_in_notebook() -> bool:
    """In a kernel without ipywidgets: bars are tqdm's text on stderr, which the notebook shows (it is no
    terminal, so tqdm's own rule would hide them)."""
    return _in_kernel() and not _has_widgets()


class TqdmDisplay:
    """A tqdm bar with no total: the description, the state and our own elapsed time."""

    def __init__(self, desc: str, *, file: IO[str] | None = None, force: bool = False):
        notebook = file is None and _in_notebook()
        if notebook:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        else:
            from tqdm import tqdm  # type: ignore[import-untyped]
        self._desc = desc
        options: dict[str, Any] = {"desc": desc, "total": None, "bar_format": "{desc}", "leave": True}
        if not notebook:
            options["file"] = file if file is not None else sys.stderr
            # tqdm's own rule (disable=None) hides the bar when the stream is not a terminal.
            options["disable"] = False if force or (file is None and text_in_notebook()) else None
        self._bar = tqdm(**options)

    def update(self, state: str, elapsed: float) -> None:
        self._bar.set_description_str(
            f"{self._desc}: {state}, {format_seconds(elapsed)} elapsed", refresh=True
        )

    def close(self, final: str | None = None) -> None:
        if final:
            self._bar.set_description_str(f"{self._desc}: {final}", refresh=True)
        self._bar.close()


def make_display(display: Any, desc: str) -> Any:
    """The display a workflow should use: ``None`` automatic, ``False`` silent, else the object given."""
    if display is None or display is True:
        return TqdmDisplay(desc)
    if display is False:
        return NullDisplay()
    if not isinstance(display, Display):
        raise TypeError(
            f"display must be None, False or an object with update() and close(), not {display!r}"
        )
    return display


def counter(total: int, desc: str, display: Any = None) -> Any:
    """A counting bar for downloads and uploads (a no-op object when ``display`` is False)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    if display is False:
        return tqdm(total=total, disable=True)
    if _in_notebook():
        from tqdm.auto import tqdm as auto_tqdm  # type: ignore[import-untyped]

        return auto_tqdm(total=total, desc=desc, unit="file", leave=False)
    disable = False if text_in_notebook() else None
    return tqdm(total=total, desc=desc, unit="file", leave=False, file=sys.stderr, disable=disable)
