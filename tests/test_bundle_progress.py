"""The bundle's progress bars in a terminal: a stage with nothing to do shows nothing, a stage of unknown
length shows its name rather than tqdm's empty ``0it [00:00, ?it/s]``, and a log file gets no bars at all."""

from __future__ import annotations

import io

import pytest

from kaggle_magics.bundle.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stages(progress: Progress) -> None:
    with progress.stage("pack", 0, desc="pack dirs"):
        pass
    with progress.stage("resolve", None, desc="resolve for CPython 3.12"):
        pass
    with progress.stage("tools", None, unit="B", desc="installer wheels") as stage:
        stage.advance(2048)
    with progress.stage("build", 2, desc="build from source") as stage:
        stage.advance()
        stage.advance()


def test_terminal_bars_leave_out_empty_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    _stages(Progress(None))
    shown = terminal.getvalue()
    assert "build from source:   0%" in shown and "0/2" in shown
    assert "resolve for CPython 3.12 ..." in shown and "installer wheels ..." in shown
    assert "pack dirs" not in shown, "a stage with nothing to do has no bar"
    assert "0it [" not in shown and "0.00B" not in shown


def test_no_bars_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    _stages(Progress(None))
    assert log.getvalue() == ""


def test_callback_still_hears_every_stage() -> None:
    events: list[tuple[str, int, int | None]] = []
    _stages(Progress(lambda *e: events.append(e)))
    assert ("pack", 0, 0) in events and ("build", 2, 2) in events and ("tools", 2048, None) in events


def test_no_bars_in_a_kaggle_batch_run(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    _stages(Progress(None))
    assert terminal.getvalue() == "", "a committed notebook would keep the bars' first frames in its log"
