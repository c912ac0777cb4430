"""Cells this Python cannot parse: is it a syntax error, or syntax newer than this Python (Kaggle runs 3.12)?

When the target's interpreter (``python3.12`` for the shipped image) is on PATH, the cells are parsed with it,
all at once in one process, and the answer is sure: a SyntaxError there is an error (Kaggle stops at the cell),
a cell it reads is only "not read" here. Without it, the same interpreter as the target's decides; else the
cell is "not read", a warning.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from ..scan import Cell, escaped_to_python
from .context import Context

_PARSE = (
    "import ast, json, sys\n"
    "out = []\n"
    "for source in json.load(sys.stdin):\n"
    "    try:\n"
    "        ast.parse(source)\n"
    "        out.append(None)\n"
    "    except SyntaxError as exc:\n"
    "        out.append(f'line {exc.lineno}: {exc.msg}')\n"
    "print(json.dumps(out))\n"
)


def _here() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def parse_with(python: str, sources: list[str]) -> list[str | None] | None:
    """Each source's SyntaxError as Python ``python`` (X.Y) reports it, None where it parses; None when no
    such interpreter is at hand."""
    exe = shutil.which(f"python{python}")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-I", "-c", _PARSE], input=json.dumps(sources), capture_output=True, text=True, timeout=60
        )
        answers = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return answers if isinstance(answers, list) and len(answers) == len(sources) else None


def check_syntax(ctx: Context) -> None:
    broken = [cell for cell in ctx.scan.cells if cell.error is not None and cell.magic is None]
    if not broken:
        return
    target = ctx.target.settings.python
    if _here() == target:
        answers: list[str | None] | None = [cell.error for cell in broken]
    else:
        answers = parse_with(target, [_python(cell) for cell in broken])
    for index, cell in enumerate(broken):
        if answers is None:
            ctx.warning(
                "notebook",
                f"not read: the cell is not Python {_here()} ({cell.error}); unless it is Python {target} syntax, "
                "Kaggle stops there with a SyntaxError",
                f"fix the syntax (with python{target} on PATH the check tells which)",
                cell.index,
                None,
            )
        elif answers[index] is None:
            ctx.warning(
                "notebook",
                f"not read: the cell is Python {target} syntax, which Kaggle runs but Python {_here()} here cannot "
                "parse: its imports, paths and downloads are not checked",
                f"check it with Python {target} (pip install kaggle-magics there)",
                cell.index,
                None,
            )
        else:
            ctx.error(
                "notebook",
                f"SyntaxError ({answers[index]}): Kaggle stops at this cell",
                "fix the syntax",
                cell.index,
                None,
            )


def _python(cell: Cell) -> str:
    """The cell as the Python IPython would hand its interpreter (escaped lines turned into calls)."""
    return escaped_to_python(cell.source) or cell.source
