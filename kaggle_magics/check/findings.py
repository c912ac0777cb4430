"""What a check reports: findings per file, and the report over all files (a result object: text in a terminal,
HTML in a notebook, JSON for CI).

A finding is one thing Kaggle would do to the notebook: ``what`` says it in one line, ``fix`` says what to
change. ``error`` is a failure Kaggle will hit; ``warning`` is one it may hit, or something a static read
cannot see ("not seen") and so cannot call an error.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..results import Result

ERROR = "error"
WARNING = "warning"
KINDS = ("notebook", "metadata", "import", "internet", "path", "submission")


@dataclass(frozen=True)
class Finding:
    """One thing Kaggle would do to the notebook, where, and the fix."""

    kind: str  # one of KINDS
    severity: str  # error | warning
    what: str  # what Kaggle would do, one line
    fix: str | None = None  # what to change, one line
    cell: int | None = None  # 1-based position among all the notebook's cells (markdown included)
    line: int | None = None  # 1-based, within the cell (or the file)
    label: str | None = None  # how the cell is named when it is not "cell N" ("In [5]", "this cell")

    @property
    def where(self) -> str:
        place = self.label or (f"cell {self.cell}" if self.cell is not None else "")
        if self.line is not None:
            place = f"{place}, line {self.line}" if place else f"line {self.line}"
        if place:
            return place
        return "kernel-metadata.json" if self.kind == "metadata" else "notebook"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        text = f"{self.where}: {self.severity} [{self.kind}] {self.what}"
        return text + (f"\n      fix: {self.fix}" if self.fix else "")


@dataclass
class Places:
    """How the cells of what is checked are named: "cell N" (N from 1, markdown cells counted) by default;
    ``labels`` name them otherwise (``In [5]`` for the shell's history), ``single`` names a lone cell
    (``%%kaggle_sub``'s) whose lines are shifted by ``line_shift`` (its magic line)."""

    labels: dict[int, str] = field(default_factory=dict)
    single: str | None = None
    line_shift: int = 0
    file_lines: dict[int, int] = field(default_factory=dict)  # a .py file's cells: where each starts

    def at(self, cell: int | None, line: int | None) -> dict[str, Any]:
        """The ``cell``/``line``/``label`` of a finding at a scan's cell index and line."""
        shifted = None if line is None else line + self.line_shift
        if cell is not None and cell in self.file_lines:  # a percent-format file: its own line numbers
            return {"cell": None, "line": None if line is None else self.file_lines[cell] + line - 1, "label": None}
        if self.single is not None:
            return {"cell": None, "line": shifted, "label": self.single}
        if cell is None:
            return {"cell": None, "line": shifted, "label": None}
        return {"cell": cell + 1, "line": shifted, "label": self.labels.get(cell)}


@dataclass
class Source:
    """An attached source as the check saw it: where Kaggle mounts it, and whether its files were read."""

    kind: str  # competition | dataset | kernel | model
    source: str
    path: str  # absolute, in the layout checked
    seen: str | None = None  # where its files were read (a folder), or None: not seen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DRIVER = "driver notebook"  # a notebook that pushes, rehearses, uploads: see check/drivers.py


@dataclass
class FileReport:
    """The findings of one notebook, script or kernel folder, and what they were checked against."""

    path: str
    kind: str  # kernel folder | notebook | script | history | cell
    findings: list[Finding] = field(default_factory=list)
    internet: bool = False
    layout: str = "nested"
    base: str = ""
    competition: bool = False
    sources: list[Source] = field(default_factory=list)
    sources_known: bool = True
    imports: list[dict[str, Any]] = field(default_factory=list)  # module, cell, line, resolved (or None)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def verdict(self) -> str:
        if not self.findings:
            return "ok"
        parts = [_count(len(self.errors), "error"), _count(len(self.warnings), "warning")]
        return ", ".join(p for p in parts if p)

    def context(self) -> str:
        """What the file was checked against, in one line."""
        if self.kind == DRIVER:
            return "a notebook that drives kaggle-magics from your machine; Kaggle never runs it"
        internet = "internet on" if self.internet else "internet off"
        unseen = [s for s in self.sources if s.seen is None]
        sources = _count(len(self.sources), "source") or "no sources"
        if not self.sources_known:
            sources = "no sources given"
        elif unseen:
            sources += f" ({len(unseen)} not seen: " + ", ".join(f"{s.kind} {s.source}" for s in unseen) + ")"
        return f"{self.kind}; {internet}; {sources}; {self.layout} layout; base: {self.base}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "verdict": self.verdict(),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
            "internet": self.internet,
            "layout": self.layout,
            "base": self.base,
            "competition": self.competition,
            "sources_known": self.sources_known,
            "sources": [s.to_dict() for s in self.sources],
            "imports": self.imports,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"{self.path}: {self.verdict()}", f"  checked as {self.context()}"]
        lines += [f"  {note}" for note in self.notes]
        lines += ["  " + str(f).replace("\n", "\n  ") for f in self.findings]
        return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}" if n else ""


@dataclass
class CheckReport(Result):
    """Every file checked: ``exit_code`` 0 when no file has an error (or ``warn_only``), else 1."""

    files: list[FileReport] = field(default_factory=list)
    warn_only: bool = False
    format: str = "text"  # text | json
    seconds: float | None = None

    _title = "kaggle-magics check"

    @property
    def errors(self) -> int:
        return sum(len(f.errors) for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(len(f.warnings) for f in self.files)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def exit_code(self) -> int:
        return 0 if self.ok or self.warn_only else 1

    def summary(self) -> str:
        counts = [_count(self.errors, "error") or "no errors", _count(self.warnings, "warning")]
        took = f" in {self.seconds * 1000:.0f} ms" if self.seconds is not None else ""
        return f"{_count(len(self.files), 'file') or 'no files'} checked{took}: " + ", ".join(c for c in counts if c)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "exit_code": self.exit_code,
            "files": [f.to_dict() for f in self.files],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def __str__(self) -> str:
        if self.format == "json":
            return self.to_json()
        return "\n".join([*(str(f) for f in self.files), self.summary()])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = {ERROR: "#c62828", WARNING: "#ef6c00"}
        parts = [f"<div><b>{esc(self.summary())}</b></div>"]
        for report in self.files:
            parts.append(
                f"<div style='margin-top:.5em'><b>{esc(report.path)}</b>: {esc(report.verdict())}"
                f"<br><small>checked as {esc(report.context())}</small></div>"
            )
            for note in report.notes:
                parts.append(f"<div><small>{esc(note)}</small></div>")
            if not report.findings:
                continue
            rows = "".join(
                f"<tr><td style='text-align:left;white-space:nowrap'>{esc(f.where)}</td>"
                f"<td style='text-align:left;color:{colour.get(f.severity, 'inherit')}'>{esc(f.severity)}</td>"
                f"<td style='text-align:left'>{esc(f.kind)}</td>"
                f"<td style='text-align:left'>{esc(f.what)}</td>"
                f"<td style='text-align:left'><code>{esc(f.fix or '')}</code></td></tr>"
                for f in report.findings
            )
            titles = ("where", "", "kind", "what Kaggle does", "fix")
            head = "".join(f"<th style='text-align:left'>{h}</th>" for h in titles)
            parts.append(f"<table><tr>{head}</tr>{rows}</table>")
        return "".join(parts)
