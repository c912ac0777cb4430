"""What a check is given, read as push reads it: kernel folders (kernel-metadata.json + code file), notebooks
(``.ipynb``), percent-format scripts (``# %%`` cells); folders are walked for them.

A notebook with a kernel-metadata.json beside it that names it is checked as that kernel folder; a bare one
gets its sources from the flags (``--competition``, ``--dataset``...), as ``push`` gives them.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NotebookError
from ..metadata import KERNEL_METADATA

SUFFIXES = (".ipynb", ".py")
_SKIP_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", "node_modules", "site-packages", ".git", ".venv", "venv"})
_MARKER = re.compile(r"^#\s*%%", re.MULTILINE)


@dataclass(frozen=True)
class Unit:
    """One thing to check: a kernel folder, or a notebook or script on its own."""

    path: Path  # as reported
    kind: str  # kernel folder | notebook | script
    code: Path | None = None  # the code file (a kernel folder's is read from its metadata)

    @property
    def folder(self) -> Path | None:
        return self.path if self.kind == "kernel folder" else None


def _named_by_metadata(path: Path) -> bool:
    return (path.parent / KERNEL_METADATA).is_file() and _code_file(path.parent) == path.name


def _percent(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return bool(_MARKER.search(handle.read(65536)))
    except OSError:
        return False


def units(paths: list[str | Path]) -> list[Unit]:
    """The units named by ``paths``; a path that does not exist or cannot be checked is a NotebookError."""
    found: list[Unit] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found += _walk(path)
        elif path.name == KERNEL_METADATA and path.is_file():
            found.append(Unit(path.parent, "kernel folder"))
        elif path.is_file() and path.suffix in SUFFIXES:
            if _named_by_metadata(path):
                found.append(Unit(path.parent, "kernel folder"))
            else:
                found.append(Unit(path, "notebook" if path.suffix == ".ipynb" else "script", path))
        elif not path.exists():
            raise NotebookError(f"{given}: no such file or folder", hint="give kernel folders, .ipynb or .py files")
        else:
            raise NotebookError(
                f"{given}: cannot check a {path.suffix or 'suffix-less'} file",
                hint=f"give a kernel folder ({KERNEL_METADATA} + code), a .ipynb or a percent-format .py",
            )
    unique: dict[Path, Unit] = {}
    for unit in found:
        unique.setdefault(unit.path.resolve(), unit)
    return list(unique.values())


def _walk(root: Path) -> list[Unit]:
    """Every kernel folder (its code file checked with its metadata) and every other notebook and
    percent-format script under ``root``."""
    found: list[Unit] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and d not in _SKIP_DIRS and not (here / d / "pyvenv.cfg").exists()
        )
        code_file = None
        if KERNEL_METADATA in filenames:
            found.append(Unit(here, "kernel folder"))
            code_file = _code_file(here)
        for name in sorted(filenames):
            path = here / name
            if name == code_file:
                continue
            if name.endswith(".ipynb"):
                found.append(Unit(path, "notebook", path))
            elif name.endswith(".py") and _percent(path):
                found.append(Unit(path, "script", path))
    return found


def _code_file(folder: Path) -> str | None:
    try:
        value = json.loads((folder / KERNEL_METADATA).read_text(encoding="utf-8")).get("code_file")
    except (OSError, ValueError, AttributeError):
        return None
    return os.path.normpath(value) if isinstance(value, str) else None


@dataclass
class Code:
    """A unit's code as push would send it: its cells (index, source), and what reading it found."""

    cells: list[tuple[int | None, str]] = field(default_factory=list)
    file_lines: dict[int, int] = field(default_factory=dict)  # cell index -> its first line in a .py file
    notebook: Any = None  # the nbformat node, for a .ipynb
    problem: str | None = None  # why it cannot be run at all
    notes: list[str] = field(default_factory=list)


def read_code(path: Path, script: bool = False) -> Code:
    """Read a notebook, a percent-format ``.py`` (with jupytext, as push does) or, with ``script``, a plain
    script kernel (run as it is: one cell)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Code(problem=f"cannot read it ({exc})")
    if script:
        return Code(cells=[(None, text)])
    if path.suffix == ".ipynb":
        return _read_notebook(text)
    import jupytext

    nb = jupytext.reads(text, fmt="py:percent")
    code = Code(cells=[(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"])
    code.file_lines = _file_lines(text, len(nb.cells))
    return code


def _file_lines(text: str, count: int) -> dict[int, int]:
    """Where each cell of a percent-format file starts (the line after its ``# %%``), when that is clear."""
    lines = text.splitlines()
    markers = [n for n, line in enumerate(lines, 1) if _MARKER.match(line)]
    head = any(line.strip() for line in lines[: (markers[0] - 1) if markers else len(lines)])
    starts = ([1] if head else []) + [m + 1 for m in markers]
    return dict(enumerate(starts)) if len(starts) == count else {}


def _read_notebook(text: str) -> Code:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Code(problem=f"not a notebook (not JSON: {str(exc).splitlines()[0][:120]})")
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        return Code(problem="not a notebook (no cells)")
    if data.get("nbformat") != 4:  # an old format: nbformat converts it, as push reads it
        import nbformat

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = nbformat.convert(nbformat.from_dict(data), 4)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Code(problem=f"not a readable notebook ({type(exc).__name__}: {exc})")
    from ..scan import code_cells

    try:
        cells: list[tuple[int | None, str]] = list(code_cells(data))
    except AttributeError as exc:
        return Code(problem=f"not a readable notebook ({exc})")
    return Code(cells=cells, notebook=data)


def validate_notebook(nb: dict[str, Any]) -> tuple[str | None, list[str]]:
    """As push prepares a notebook (kernelspec, no outputs, cell ids) and validates it: (why it is invalid,
    what push had to add). ``nb`` is not changed, and its outputs are not copied."""
    import nbformat
    from nbformat.notebooknode import NotebookNode

    from .. import notebook

    cells = [
        {**cell, "outputs": [], "execution_count": None} if cell.get("cell_type") == "code" else dict(cell)
        for cell in nb.get("cells", [])
        if isinstance(cell, dict)
    ]
    for cell in cells:
        if isinstance(cell.get("metadata"), dict) and "execution" in cell["metadata"]:
            cell["metadata"] = {k: v for k, v in cell["metadata"].items() if k != "execution"}
    prepared = NotebookNode({**nb, "cells": cells, "metadata": nbformat.from_dict(dict(nb.get("metadata") or {}))})
    added = notebook.ensure_kernelspec(prepared)  # type: ignore[arg-type]
    notebook.cell_ids_format(prepared)  # type: ignore[arg-type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(prepared)
    except nbformat.ValidationError as exc:
        return str(exc).strip().splitlines()[0][:200], added
    return None, added
