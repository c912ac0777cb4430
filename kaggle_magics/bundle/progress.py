"""Progress for long steps (downloads, builds, installs), without printing from the workflow functions.

``progress`` arguments take: None (a tqdm.auto bar when tqdm is importable: a widget in notebooks, a line in
terminals), False (nothing), or a callable ``progress(stage, done, total)`` called as work advances (``total``
is None when unknown; sizes are in bytes for the ``download`` stage and counts elsewhere).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

ProgressCallback = Callable[[str, int, int | None], None]
ProgressArg = ProgressCallback | bool | None


class Stage:
    """One step's progress; thread-safe ``advance``."""

    def __init__(self, owner: Progress, name: str, total: int | None, unit: str, desc: str):
        self._owner = owner
        self.name = name
        self.total = total
        self.done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        if owner.callback is not None:
            owner.callback(name, 0, total)
        elif owner.use_tqdm:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                owner.use_tqdm = False
            else:
                scale = unit == "B"
                self._bar = tqdm(
                    total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                    leave=False, dynamic_ncols=True,
                )  # fmt: skip

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
        self, name: str, total: int | None = None, *, unit: str = "it", desc: str | None = None
    ) -> Stage:
        return Stage(self, name, total, unit, desc or name)
