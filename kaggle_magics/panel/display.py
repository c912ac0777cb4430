"""What the panel shows while and after an action runs: entries for its ``Output`` widget (results as in a
notebook, errors as the magics' one line and hint), the live area's progress bar and log, and the label a wait
writes its elapsed time into. Widgets come in as arguments: nothing here imports ipywidgets."""

from __future__ import annotations

import html
import threading
import traceback
from typing import Any

from ..errors import KaggleMagicsError

LOG_LINES = 400  # the live log keeps this many of the last lines


def error_output(exc: BaseException) -> dict[str, Any]:
    """An ``Output`` entry for a failure: one line and a hint for errors the user can fix (as the CLI prints
    them); the traceback only for an unexpected exception, which is a bug worth reporting."""
    from IPython.core.error import UsageError

    if isinstance(exc, KaggleMagicsError):
        text = f"error: {exc.message}\n" + (f"hint: {exc.hint}\n" if exc.hint else "")
    elif isinstance(exc, UsageError):
        text = f"error: {exc}\n"
    else:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"output_type": "stream", "name": "stderr", "text": text}


def result_output(result: Any) -> dict[str, Any]:
    """An ``Output`` entry for a result object: its HTML, with its text for plain frontends."""
    data = {"text/plain": str(result)}
    to_html = getattr(result, "_repr_html_", None)
    if callable(to_html):
        data["text/html"] = to_html()
    return {"output_type": "display_data", "data": data, "metadata": {}}


def notice_output(message: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": message.rstrip("\n") + "\n"}


class LabelDisplay:
    """A wait's progress display (see :class:`kaggle_magics.progress.Display`): a label's text."""

    def __init__(self, label: Any, desc: str):
        self.label = label
        self.desc = desc

    def update(self, state: str, elapsed: float) -> None:
        from ..progress import format_seconds

        self.label.value = f"{self.desc}: {state}, {format_seconds(elapsed)} elapsed"

    def close(self, final: str | None = None) -> None:
        if final:
            self.label.value = f"{self.desc}: {final}"


class LiveLog:
    """The running step's log, as lines in an ``HTML`` widget (a ``<pre>``), the last :data:`LOG_LINES`."""

    def __init__(self, widget: Any):
        self.widget = widget
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.lines = []
            self.widget.value = ""

    def write(self, text: str) -> None:
        with self._lock:
            self.lines += str(text).rstrip("\n").splitlines() or [""]
            del self.lines[:-LOG_LINES]
            shown = html.escape("\n".join(self.lines))
            self.widget.value = f"<pre class='kaggle-magics-log'>{shown}</pre>"

    def text(self) -> str:
        return "\n".join(self.lines)


class BarProgress:
    """A ``progress(stage, done, total)`` callback (what freezing takes) shown on a progress bar and its label:
    the stage's name and how far it is (bytes for downloads). A stage of unknown length (or none) shows in the
    label only, so the bar keeps the last counted stage; ``stages`` lists the stages seen, in order."""

    def __init__(self, bar: Any, label: Any):
        self.bar = bar
        self.label = label
        self.stages: list[str] = []

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)
        if total:
            self.bar.max = total
            self.bar.value = min(done, total)
            self.bar.bar_style = "success" if done >= total else "info"
            amount = f"{_size(done)} of {_size(total)}" if stage == "download" else f"{done} of {total}"
        else:
            amount = _size(done) if stage == "download" and done else (str(done) if done else "")
        self.label.value = f"{stage} {amount}".strip()

    def reset(self, text: str = "") -> None:
        self.bar.max, self.bar.value, self.bar.bar_style = 1, 0, ""
        self.label.value = text
        self.stages = []


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count} bytes"
