"""A notebook that drives kaggle-magics from your machine (it pushes submissions with ``%%kaggle_sub``,
rehearses, uploads, follows runs) is not a submission itself: Kaggle never runs it. What it pushes is, so
each ``%%kaggle_sub`` cell is checked as the kernel it pushes, with its magic line's options and the
``%config KaggleMagics...`` settings run before it, as push's own check of that cell does.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..config import ProjectDefaults
from ..errors import KaggleMagicsError
from .findings import DRIVER, ERROR, FileReport, Finding, Places
from .target import Settings

# Verbs that act on Kaggle (or the local one) from outside a run: a notebook using them drives kaggle-magics.
# %kaggle_freeze and %kaggle_install are left out: a deps notebook on Kaggle runs them itself.
DRIVING = ("%%kaggle_sub", "%kaggle_push", "%kaggle_rehearse", "%kaggle_panel", "%kaggle_dataset",
           "%kaggle_model", "%kaggle_submit", "%kaggle_status", "%kaggle_output")  # fmt: skip
_WORD = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?(%%?kaggle_\w+)\b")  # panel = %kaggle_panel ... too
_CONFIG = re.compile(r"^\s*%config\s+KaggleMagics\.(\w+)\s*=\s*(.+?)\s*$")
_SETTINGS = ("owner", "competition", "accelerator", "backend", "store", "kernel_dir", "internet", "env", "base",
             "input_layout", "attach", "datasets", "models")  # fmt: skip


def driving_magics(cells: Sequence[tuple[int | None, str]]) -> list[str]:
    """The driving magics ``cells`` use, in order of first use (empty: not a driver notebook)."""
    found: list[str] = []
    for _, source in cells:
        for line in source.splitlines():
            match = _WORD.match(line)
            if match and match.group(1) in DRIVING and match.group(1) not in found:
                found.append(match.group(1))
    return found


def check_driver(
    path: Path, cells: Sequence[tuple[int | None, str]], magics: list[str], defaults: ProjectDefaults,
    settings: Settings,
) -> list[FileReport]:  # fmt: skip
    """The driver notebook's own report (a note: not a submission), then one per ``%%kaggle_sub`` cell."""
    own = FileReport(path=str(path), kind=DRIVER, base=settings.base.source)
    pushed: list[FileReport] = []
    current = copy.deepcopy(defaults)
    for index, source in cells:
        if source.lstrip().startswith("%%kaggle_sub"):  # its body is the submission's code, not the driver's
            pushed.append(_check_sub_cell(path, index, source.lstrip(), settings, current))
        else:
            _apply_config(source, current)
    own.notes.append(
        f"it uses {', '.join(magics)}: not checked as a submission; "
        + (f"its {len(pushed)} %%kaggle_sub cell(s) are, each as the kernel it pushes" if pushed
           else "check what it pushes or rehearses (kaggle-magics check FILE)")
    )  # fmt: skip
    return [own, *pushed]


def _apply_config(source: str, defaults: ProjectDefaults) -> None:
    """``%config KaggleMagics.NAME = VALUE`` lines, as the magics read them: they set the defaults below."""
    for line in source.splitlines():
        match = _CONFIG.match(line)
        if not match or match.group(1) not in _SETTINGS:
            continue
        try:
            value = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            continue  # not a literal: set at run time, not readable here
        if value not in ("", None):
            setattr(defaults, match.group(1), list(value) if isinstance(value, (list, tuple)) else value)


def _check_sub_cell(
    path: Path, index: int | None, source: str, settings: Settings, defaults: ProjectDefaults
) -> FileReport:
    """The kernel a ``%%kaggle_sub`` cell pushes, checked as push checks it: the check's settings (its base,
    input root, bundles), with the layout and the local store the cell's own options and ``%config`` give."""
    from IPython.core.error import UsageError

    from ..magics import KaggleMagics, parse_argstring
    from ..options import kernel_options
    from ..submission import build_metadata, kernel_ref
    from .runner import check_cells, make_settings
    from .target import build_target

    name = f"cell {index + 1}" if index is not None else "a cell"
    line, _, body = source.partition("\n")
    report = FileReport(path=f"{path}, {name} (%%kaggle_sub)", kind="the kernel this cell pushes")
    try:
        ns = parse_argstring(KaggleMagics.kaggle_sub, line.removeprefix("%%kaggle_sub"))  # the magic's own parser
        cell = kernel_options(ns).with_defaults(defaults)
        ref = kernel_ref(cell, defaults)
        meta, _notes = build_metadata(cell, ref, f"{ref.slug}.ipynb")
        own = make_settings(defaults, layout=cell.input_layout, backend=cell.backend)
        settings = replace(settings, layout=own.layout, store=settings.store or own.store)
    except (KaggleMagicsError, UsageError) as exc:  # what the magic would refuse before any push
        what = getattr(exc, "message", None) or str(exc)
        fix = getattr(exc, "hint", None) or "fix the magic's line"
        refused = f"the %%kaggle_sub line is refused: {what}"
        report.findings.append(Finding("metadata", ERROR, refused, fix, label=name, line=1))
        return report
    report.path = f"{path}, {name} (%%kaggle_sub --id {ref.id})"
    target = build_target(meta, settings, folder=path.parent, code_file=None, installs_bundles=bool(cell.bundles))
    return check_cells([(None, body)], target, report, Places(single=name, line_shift=1))
