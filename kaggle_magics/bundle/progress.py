"""Progress for long steps (downloads, builds, installs), without printing from the workflow functions.

``progress`` arguments take: None (a tqdm bar when tqdm is importable: a widget in notebooks, a line on stderr
in terminals, nothing when stderr is a file or a pipe so logs stay clean), False (nothing), or a callable
``progress(stage, done, total)`` called as work advances (``total`` is None when unknown; sizes are in bytes
for the ``download`` stage and counts elsewhere). A stage with nothing to do (``total`` 0) shows no bar, and a
stage of unknown length shows its name, not tqdm's empty ``0it [00:00, ?it/s]``. A Kaggle batch run (a
committed deps notebook) shows no bars: nobody watches them, and their first frames would stay in the saved
notebook and its log.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from .. import runtime

ProgressCallback = Callable[[str, int, int | None], None]
ProgressArg = ProgressCallback | bool | None


class Stage:
    """One step's progress; thread-safe ``advance``."""

    def __init__(
        self, owner: Progress, name: str, total: int | None, unit: str, desc: str, show: bool = True
    ):
        self._owner = owner
        self.name = name
        self.total = total
        self.done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        if owner.callback is not None:
            owner.callback(name, 0, total)
        elif show and owner.use_tqdm and total != 0 and runtime.run_type() != "Batch":
            self._bar = _bar(total, unit, desc)
            if self._bar is None:
                owner.use_tqdm = False

    def advance(self, amount: int = 1) -> None:
        with self._lock:
            self.done += amount
            done = self.done
        if self._owner.callback is not None:
            self._owner.callback(self.name, done, self.total)
        elif self._bar is not None:
            self._bar.update(amount)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Progress:
    """Hands out :class:`Stage` objects according to the caller's ``progress`` argument."""

    def __init__(self, progress: ProgressArg = None):
        self.callback: ProgressCallback | None = progress if callable(progress) else None
        self.use_tqdm = progress is None or progress is True

    def stage(
        self, name: str, total: int | None = None, *, unit: str = "it", desc: str | None = None, show: bool = True
    ) -> Stage:
        """A step's progress. ``show=False`` keeps it from the terminal (callbacks still hear it): for a step
        that runs beside another one's bar: of two tqdm lines, the lower one closed last leaves the cursor
        mid-line, and the summary printed after it indented."""
        return Stage(self, name, total, unit, desc or name, show)


def _bar(total: int | None, unit: str, desc: str) -> Any:
    """A transient tqdm bar (None without tqdm): the widget in a notebook, else a line on stderr that tqdm
    itself leaves out when stderr is not a terminal."""
    from ..progress import _in_notebook, text_in_notebook

    notebook = _in_notebook()
    try:
        if notebook:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        else:
            from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return None
    scale = unit == "B"
    options: dict[str, Any] = {
        "total": total, "desc": desc, "unit": unit, "unit_scale": scale, "unit_divisor": 1024 if scale else 1000,
        "leave": False, "dynamic_ncols": True,
    }  # fmt: skip
    if total is None:  # nothing to count against: the step's name alone
        options["bar_format"] = "{desc} ..."
    if not notebook:
        options["file"] = sys.stderr
        options["disable"] = False if text_in_notebook() else None
    return tqdm(**options)
