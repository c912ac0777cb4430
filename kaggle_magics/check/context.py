"""What every check of one file reads (the scan, the facts, the target) and where it writes (its findings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..scan import Command, Scan
from .facts import Facts
from .findings import ERROR, WARNING, Finding, Places
from .target import Target


@dataclass
class Context:
    scan: Scan
    facts: Facts
    target: Target
    places: Places = field(default_factory=Places)
    findings: list[Finding] = field(default_factory=list)
    imports: list[dict[str, Any]] = field(default_factory=list)

    conditional: bool = False  # what is being checked runs only under a condition (see :meth:`maybe`)

    @contextmanager
    def maybe(self, conditional: bool) -> Iterator[None]:
        """Findings added inside are about code that may never run (a fallback under an if, an except
        handler, a def): an error becomes a warning that says so."""
        saved, self.conditional = self.conditional, conditional
        try:
            yield
        finally:
            self.conditional = saved

    def add(
        self, kind: str, severity: str, what: str, fix: str | None, cell: int | None, line: int | None
    ) -> Finding:
        if self.conditional and severity == ERROR:
            severity, what = WARNING, f"{what} (where it runs: it is under a condition)"
        finding = Finding(kind, severity, what, fix, **self.places.at(cell, line))
        self.findings.append(finding)
        return finding

    def error(self, kind: str, what: str, fix: str | None, cell: int | None, line: int | None) -> Finding:
        return self.add(kind, ERROR, what, fix, cell, line)

    def warning(self, kind: str, what: str, fix: str | None, cell: int | None, line: int | None) -> Finding:
        return self.add(kind, WARNING, what, fix, cell, line)

    def commands(self) -> list[Command]:
        """Shell and magic lines, and the shell commands ``os.system``/``subprocess`` run, in cell order."""
        found = [*self.scan.commands, *self.facts.shell]
        return sorted(found, key=lambda c: (-1 if c.cell is None else c.cell, c.line))

    def magics(self, name: str) -> list[Command]:
        return [c for c in self.scan.commands if c.kind == "magic" and c.magic == name]

    @property
    def installs_from_files(self) -> bool:
        """The notebook installs packages from attached files (a bundle, ``pip install --no-index``, wheels
        under /kaggle/input): what it imports may come from there."""
        if self.target.installs_bundles:
            return True
        markers = ("--no-index", "--find-links", "-f ", "/kaggle/input", "../input")
        return any("install" in c.text and any(m in c.text for m in markers) for c in self.commands())

    @property
    def offline(self) -> bool:
        """Whether what needs the internet fails: the kernel has it off, or it is a competition's submission
        (which Kaggle reruns offline)."""
        return not self.target.internet or self.target.competition

    def internet_severity(self) -> str | None:
        """error with the internet off; a warning for a competition kernel that has it on (its submission
        reruns offline), or when the notebook's own Kaggle metadata says it runs with it on; None when it is on
        and nothing reruns the notebook offline."""
        if not self.target.internet:
            return WARNING if self.target.internet_hint else ERROR
        return WARNING if self.target.competition else None

    def why(self) -> str:
        """Why what needs the internet fails, in a few words."""
        if self.target.internet:
            return "the submission reruns with the internet off"
        if self.target.internet_hint:
            return "the internet is off as push sends it (its Kaggle metadata says on: --internet)"
        return "the internet is off"
