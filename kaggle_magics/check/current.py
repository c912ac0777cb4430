"""The notebook ``%kaggle_check`` runs in: its file when the front end says where it is (JupyterLab and
Notebook set ``__session__`` / ``$JPY_SESSION_NAME``, VS Code ``__vsc_ipynb_file__``), read as last saved;
otherwise (a console, Kaggle itself, a file not found) the cells this shell has run, in the order they ran,
each once (a cell run again counts at its last run), the ``%kaggle_check`` cell itself left out.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from .. import config
from ..config import ProjectDefaults
from .files import Unit
from .findings import CheckReport, FileReport, Places
from .metadata import bare_metadata
from .runner import check_cells, check_unit, no_gc, with_mounted_sources
from .target import Settings, build_target


def notebook_file(shell: Any) -> Path | None:
    """The notebook file this kernel runs, if the front end told it and it exists."""
    ns = getattr(shell, "user_ns", {}) or {}
    for value in (ns.get("__vsc_ipynb_file__"), ns.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(value, str) and value.endswith(".ipynb"):
            path = Path(value).expanduser()
            if path.is_file():
                return path
            if (Path.cwd() / path.name).is_file():  # a path relative to the server's root
                return Path.cwd() / path.name
    return None


_TOOL_LINE = re.compile(r"^\s*(%load_ext\s+kaggle_magics\b|%kaggle_\w+|#)|^\s*$")


def _tooling(source: str) -> bool:
    """A cell of kaggle-magics' own lines (``%load_ext kaggle_magics``, ``%kaggle_check``...): the tool at
    work in this session, not the notebook's code."""
    return all(_TOOL_LINE.match(line) for line in source.splitlines()) or source.lstrip().startswith("%%kaggle_")


def history_cells(shell: Any) -> list[tuple[int, str]]:
    """The cells this shell ran (``In [n]`` -> index n - 1), each at its last run, without the running one and
    without kaggle-magics' own cells."""
    raw = list(getattr(getattr(shell, "history_manager", None), "input_hist_raw", []) or [])
    count = getattr(shell, "execution_count", len(raw))
    latest: dict[str, int] = {}
    for number, source in enumerate(raw):
        if not source.strip() or number >= count or _tooling(source):
            continue
        latest[source] = number
    return sorted(((n - 1, source) for source, n in latest.items()), key=lambda c: c[0])


def check_current(
    shell: Any,
    options: object,
    *,
    defaults: ProjectDefaults,
    settings: Settings,
    warn_only: bool = False,
    format: str = "text",
) -> CheckReport:
    with no_gc():
        return _check_current(shell, options, defaults, settings, CheckReport(warn_only=warn_only, format=format))


def _check_current(
    shell: Any, options: object, defaults: ProjectDefaults, settings: Settings, report: CheckReport
) -> CheckReport:
    started = time.perf_counter()
    path = None if config.in_kaggle() else notebook_file(shell)
    if path is not None:
        reports = check_unit(Unit(path, "notebook", path), options, defaults, settings)
        reports[0].notes.append(f"read from {path} as last saved: save the notebook to check unsaved changes")
        report.files += reports
    else:
        cells = history_cells(shell)
        meta, known, notes = bare_metadata(options, defaults)
        if not known and settings.input_root is not None and config.in_kaggle():
            meta, known = with_mounted_sources(meta, settings.input_root), True
        target = build_target(
            meta, settings, sources_known=known, folder=Path.cwd(),
            installs_bundles=bool(getattr(options, "bundles", [])),
        )
        file_report = FileReport(path="this session", kind="history", findings=list(notes))
        labels = {index: f"In [{index + 1}]" for index, _ in cells}
        check_cells(cells, target, file_report, Places(labels=labels))
        file_report.notes.append(
            f"read from this shell's history: the {len(cells)} cells run so far, in the order they ran, without "
            "kaggle-magics' own"
            + (" (no notebook file found)" if not config.in_kaggle() else "")
        )
        report.files.append(file_report)
    report.seconds = time.perf_counter() - started
    return report
