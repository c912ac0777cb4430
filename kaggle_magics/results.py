"""Result objects: what every workflow returns.

Each reads well in a terminal (``__repr__``/``__str__``) and in a notebook (``_repr_html_``), so magics and the
CLI display them instead of printing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def listing(files: list[str], shown: int = 10) -> str:
    """``"12: a, b, ... (+2 more)"``: how many files, and the first ``shown`` of them by name."""
    first = files[:shown]
    more = len(files) - len(first)
    return f"{len(files)}: " + ", ".join(first) + (f" ... (+{more} more)" if more else "")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "-"
    return "-" if value is None or value == "" else str(value)


class Result:
    """Mixin: a titled key/value table built from the dataclass fields (those in ``_hidden`` are skipped)."""

    _title = "result"
    _hidden: tuple[str, ...] = ()

    def rows(self) -> list[tuple[str, Any]]:
        return [
            (f.name.replace("_", " "), getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if f.name not in self._hidden
        ]

    def __str__(self) -> str:
        rows = [(k, v) for k, v in self.rows() if v not in (None, "", [], ())]
        width = max((len(k) for k, _ in rows), default=0)
        lines = [self._title]
        for key, value in rows:
            if key == "notes" and isinstance(value, list):  # sentences: one per line
                text = ("\n" + " " * (width + 4)).join(str(v) for v in value)
            else:
                text = _show(value)
            lines.append(f"  {key.ljust(width)}  {text}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = []
        for key, value in self.rows():
            if value in (None, "", [], ()):
                continue
            text = html.escape(_show(value))
            if key == "notes" and isinstance(value, list):  # sentences: one per line, as in the terminal
                text = "<br>".join(html.escape(str(v)) for v in value)
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                text = f'<a href="{html.escape(value)}" target="_blank">{text}</a>'
            body.append(f"<tr><th style='text-align:left'>{html.escape(key)}</th><td>{text}</td></tr>")
        caption = f"<caption style='text-align:left'><b>{html.escape(self._title)}</b></caption>"
        return f"<table>{caption}{''.join(body)}</table>"


class Completes:
    """Mixin for results with a Kaggle run status: ``ok`` when it is COMPLETE, and the CLI's exit code."""

    status: str | None

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETE"

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _wait_exit_code(interrupted: bool, timed_out: bool, failed: bool) -> int:
    if interrupted:
        return 130
    return 1 if timed_out or failed else 0


@dataclass
class PushResult(Result):
    """A kernel pushed (or, with ``dry_run``, only written)."""

    ref: str
    version: int | None = None
    url: str | None = None
    folder: Path | None = None
    backend: str | None = None
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    _title = "kernel pushed"
    _hidden = ("dry_run",)

    def __post_init__(self) -> None:
        if self.dry_run:
            self._title = "kernel folder written (dry run: nothing pushed)"

    def __repr__(self) -> str:
        return str(self)


@dataclass
class KernelStatus(Result):
    """A kernel run's state, as Kaggle reports it (QUEUED, RUNNING, COMPLETE, ERROR, CANCEL_*)."""

    ref: str
    status: str
    failure_message: str | None = None
    version: int | None = None
    runtime_seconds: float | None = None
    runtime_precision: str | None = None
    peak_memory: str | None = None  # measured by the local runner ("1.6 GB")
    output_size: str | None = None  # of /kaggle/working at the end (local runner)
    submission: str | None = None  # the local scorer's verdict on submission.csv (competition kernels)
    log_tail: list[str] = field(default_factory=list)
    output_files: list[str] = field(default_factory=list)
    waited_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C stopped the waiting (not the run)
    timed_out: bool = False  # --timeout stopped the waiting (not the run)
    whole_log: bool = False  # log_tail holds the whole log (--logs), not its last lines
    cells: list[str] = field(default_factory=list)  # one line per cell: time and peak memory (local runner)

    _title = "kernel status"
    _hidden = ("interrupted", "timed_out", "log_tail", "output_files", "whole_log", "cells")
    _shown_files = 10

    def rows(self) -> list[tuple[str, Any]]:
        rows = super().rows()
        if self.output_files:
            rows.append(("output files", listing(self.output_files, self._shown_files)))
        return rows

    def __str__(self) -> str:
        text = super().__str__()
        if self.cells:
            text += "\n  cells\n" + "\n".join(f"    {line}" for line in self.cells)
        if self.log_tail:
            heading = "log" if self.whole_log else "log (last lines)"
            text += f"\n  {heading}\n" + "\n".join(f"    {line}" for line in self.log_tail)
        return text

    def _repr_html_(self) -> str:
        text = super()._repr_html_()
        for lines in (self.cells, self.log_tail):
            if lines:
                text += "<pre>" + html.escape("\n".join(lines)) + "</pre>"
        return text

    @property
    def done(self) -> bool:
        return self.status in ("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED")

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETE"

    @property
    def exit_code(self) -> int:
        """For the CLI: 1 for a run that failed, and for a wait that stopped before the end, so that
        ``status --wait && submit`` never goes on with an unfinished run (130 after Ctrl-C, as a shell expects)."""
        return _wait_exit_code(self.interrupted, self.timed_out, self.done and not self.ok)

    def __repr__(self) -> str:
        return str(self)


@dataclass
class LogEntry:
    """One line group of a kernel's log, as Kaggle records it: stream, seconds since the start, text."""

    stream: str
    time: float
    data: str


@dataclass
class OutputFile:
    """One file of a kernel's output."""

    name: str
    url: str | None = None
    size: int | None = None


@dataclass
class Submission(Result):
    """A competition submission."""

    competition: str
    ref: str | None = None
    status: str | None = None
    public_score: str | None = None
    message: str | None = None
    error: str | None = None
    submissions_left: int | None = None
    kernel: str | None = None
    url: str | None = None
    runtime_seconds: float | None = None
    runtime_precision: str | None = None
    waited_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    timed_out: bool = False

    _title = "submission"
    _hidden = ("interrupted", "timed_out")

    @property
    def exit_code(self) -> int:
        """For the CLI: 1 for a submission Kaggle failed (or a wait for the score cut short), 130 after Ctrl-C."""
        return _wait_exit_code(self.interrupted, self.timed_out, self.status == "ERROR")

    def __repr__(self) -> str:
        return str(self)


@dataclass
class DatasetResult(Result):
    """A dataset created or versioned (or left alone because nothing changed)."""

    ref: str
    url: str | None = None
    version: int | None = None
    status: str | None = None
    input_path: str | None = None  # where a kernel that attaches it finds its files
    changed: bool = True
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    content_hash: str | None = None

    _title = "dataset"
    _hidden = ("changed", "content_hash")
    _shown_files = 10

    def rows(self) -> list[tuple[str, Any]]:
        return [(key, listing(value, self._shown_files) if key == "files" and value else value)
                for key, value in super().rows()]  # fmt: skip

    def __repr__(self) -> str:
        return str(self)


@dataclass
class ModelResult(Result):
    """A model instance version uploaded; ``model_source`` is what kernel-metadata.json's model_sources takes."""

    handle: str
    version: int | None = None
    model_source: str | None = None
    input_path: str | None = None
    url: str | None = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    _title = "model uploaded"
    _shown_files = 10

    def rows(self) -> list[tuple[str, Any]]:
        return [(key, listing(value, self._shown_files) if key == "files" and value else value)
                for key, value in super().rows()]  # fmt: skip

    def __repr__(self) -> str:
        return str(self)


@dataclass
class OutputResult(Result):
    """A kernel's output files downloaded into ``dest`` (names relative to it)."""

    ref: str
    dest: Path
    files: list[str] = field(default_factory=list)
    total_bytes: int = 0
    skipped: int = 0  # listed but not matching the pattern
    notes: list[str] = field(default_factory=list)

    _title = "outputs downloaded"
    _shown_files = 10

    def rows(self) -> list[tuple[str, Any]]:
        return [
            ("ref", self.ref),
            ("dest", self.dest),
            ("files", listing(self.files, self._shown_files) if self.files else "none"),
            ("size", f"{self.total_bytes / 1e6:.1f} MB" if self.total_bytes >= 100_000 else f"{self.total_bytes} bytes"),  # noqa: E501
            ("skipped", f"{self.skipped} not matching the pattern" if self.skipped else None),
            ("notes", self.notes),
        ]

    def __repr__(self) -> str:
        return str(self)
