"""A notebook's code read without running it: each code cell parsed as Python (IPython syntax turned into
the plain calls IPython itself makes of it), its imports, and its shell and magic lines.

Used by the local Kaggle (which packages of the image a run needs) and by ``kaggle-magics check``.

- ``!cmd``, ``x = !cmd``, ``%magic args`` become ``get_ipython().system(...)``, ``.getoutput(...)``,
  ``.run_line_magic(...)`` (IPython's own transformer, only for cells that are not plain Python), so every
  line keeps its number and each such line is reported as a :class:`Command`.
- A cell magic's body is read according to the magic: Python for ``%%time``, ``%%capture`` and friends,
  shell for ``%%bash``/``%%sh``/``%%script``, a file for ``%%writefile`` (whose name, if it is a ``.py``, is a
  module the notebook provides itself); any other cell magic's body is not read.
- An import inside ``try: ... except ImportError`` (or ``ModuleNotFoundError``, or a bare ``except``) is
  *guarded*: the code runs without it.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "ipython"})
SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class Import:
    """One imported module: as written (``sklearn.model_selection``) and where."""

    module: str
    cell: int | None  # notebook cell index (from 0, markdown cells counted); None for a plain file
    line: int  # from 1, within the cell or file
    guarded: bool = False  # inside try/except ImportError: the code copes without it
    path: str | None = None  # the .py file it was read from (code of an attached dataset, say)

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]


@dataclass(frozen=True)
class Command:
    """A shell or magic line: ``!pip install x``, ``%pip install x``, a line of a ``%%bash`` cell."""

    kind: str  # "shell" (!cmd, %%bash lines, %system) or "magic" (%name)
    text: str  # the shell command, or "name args" for a magic
    cell: int | None
    line: int

    @property
    def magic(self) -> str | None:
        return self.text.split(None, 1)[0] if self.kind == "magic" and self.text else None


@dataclass
class Cell:
    """One code cell (or a whole file) as Python."""

    index: int | None
    source: str  # as written
    tree: ast.Module | None  # None when it is not Python even after IPython's transformation
    line_offset: int = 0  # added to the tree's line numbers (the body of a cell magic starts on line 2)
    error: str | None = None  # why it did not parse
    magic: str | None = None  # the cell magic (``%%name``) it starts with


@dataclass
class Scan:
    """Everything read from a notebook or a set of files."""

    cells: list[Cell] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    written_files: list[str] = field(default_factory=list)  # %%writefile targets

    def top_modules(self) -> set[str]:
        """Top-level modules imported anywhere (relative imports left out)."""
        return {imp.top for imp in self.imports}

    def provided_modules(self) -> set[str]:
        """Modules the notebook writes itself (``%%writefile utils.py`` makes ``import utils`` work)."""
        return {Path(name).stem for name in self.written_files if name.endswith(".py")}


@functools.lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


# ``x = !cmd`` and ``x = %magic``: IPython 7 (Kaggle's image) leaves them as they are under Python 3.12, whose
# tokenizer reads ``!`` differently; turned into the calls IPython makes of them, line numbers kept.
_ASSIGN_SYSTEM = re.compile(r"^(?P<lhs>\s*[\w.\[\], ]+?)\s*=\s*!(?P<cmd>.*)$", re.MULTILINE)
_ASSIGN_MAGIC = re.compile(r"^(?P<lhs>\s*[\w.\[\], ]+?)\s*=\s*%(?P<name>\w+)\s*(?P<args>.*)$", re.MULTILINE)


def _assignments(source: str) -> str:
    source = _ASSIGN_SYSTEM.sub(lambda m: f"{m['lhs']} = get_ipython().getoutput({m['cmd']!r})", source)
    return _ASSIGN_MAGIC.sub(
        lambda m: f"{m['lhs']} = get_ipython().run_line_magic({m['name']!r}, {m['args']!r})", source
    )


def _parse(source: str) -> tuple[ast.Module | None, str | None]:
    try:
        return ast.parse(source), None
    except SyntaxError:
        pass
    error = None
    for text in (source, _assignments(source)):
        try:
            transformed = _transformer().transform_cell(text)
            return ast.parse(transformed), None
        except SyntaxError as exc:  # not Python, even for IPython
            error = error or f"line {exc.lineno}: {exc.msg}"
        except Exception as exc:  # IPython's transformer gave up on it
            error = error or f"{type(exc).__name__}: {exc}"
    return None, error


def _line_imports(cell: Cell) -> list[Import]:
    """The imports of a cell that does not parse, read line by line (an ``import`` line parses alone)."""
    found: list[Import] = []
    for number, line in enumerate(cell.source.splitlines(), 1):
        text = line.strip()
        if not text.startswith(("import ", "from ")):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        found += imports_of(tree, cell.index, number - 1)
    return found


def read_cell(source: str, index: int | None = None) -> tuple[Cell, list[Command], list[str]]:
    """Parse one cell; its commands and the files a ``%%writefile`` cell writes."""
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        head, _, body = stripped.partition("\n")
        offset = source[: len(source) - len(stripped)].count("\n") + 1
        words = head[2:].split()
        magic = words[0] if words else ""
        if magic in PYTHON_CELL_MAGICS:
            tree, error = _parse(body)
            cell = Cell(index, source, tree, offset, error, magic)
            return cell, _commands(cell), []
        commands = []
        if magic in SHELL_CELL_MAGICS:
            commands = [
                Command("shell", line.strip(), index, offset + n + 1)
                for n, line in enumerate(body.splitlines())
                if line.strip() and not line.strip().startswith("#")
            ]
        written = [w for w in words[1:] if not w.startswith("-")][:1] if magic == "writefile" else []
        return Cell(index, source, None, offset, None, magic), commands, written
    tree, error = _parse(source)
    cell = Cell(index, source, tree, 0, error)
    return cell, _commands(cell), []


def _ipython_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """``get_ipython().NAME('a', 'b')`` -> (NAME, ['a', 'b'])."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return node.func.attr, args


def _commands(cell: Cell) -> list[Command]:
    if cell.tree is None:
        return []
    found = []
    for node in ast.walk(cell.tree):
        call = _ipython_call(node)
        if call is None:
            continue
        name, args = call
        line = getattr(node, "lineno", 1) + cell.line_offset
        if name in ("system", "getoutput") and args:
            found.append(Command("shell", args[0], cell.index, line))
        elif name == "run_line_magic" and args:
            text = " ".join(args).strip()
            kind = "shell" if args[0] in ("system", "sx") else "magic"
            found.append(Command(kind, text if kind == "magic" else " ".join(args[1:]), cell.index, line))
    return sorted(found, key=lambda c: c.line)


def _guarded_lines(tree: ast.Module) -> set[int]:
    """Line numbers of statements inside ``try`` blocks whose handlers catch an import failure."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches = False
        for handler in node.handlers:
            names: list[ast.expr] = []
            if handler.type is None:
                catches = True
            elif isinstance(handler.type, ast.Tuple):
                names = list(handler.type.elts)
            else:
                names = [handler.type]
            catches = catches or any(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS for n in names)
        if catches:
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if hasattr(inner, "lineno"):
                        lines.add(inner.lineno)
    return lines


def imports_of(tree: ast.Module, cell: int | None = None, offset: int = 0, path: str | None = None) -> list[Import]:
    """The absolute imports in ``tree``: ``import a.b``, ``from a.b import c``, ``importlib.import_module("a")``
    and ``__import__("a")`` with a literal name."""
    guarded = _guarded_lines(tree)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module != "__future__":
                names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            value = node.args[0].value
            if called in ("import_module", "__import__") and isinstance(value, str) and not value.startswith("."):
                names = [value]
        line = getattr(node, "lineno", 1)
        for name in names:
            found.append(Import(name, cell, line + offset, line in guarded, path))
    return sorted(found, key=lambda i: (i.line, i.module))


def scan_cells(sources: Iterable[tuple[int | None, str]]) -> Scan:
    """Scan ``(index, source)`` pairs of code cells."""
    scan = Scan()
    for index, source in sources:
        cell, commands, written = read_cell(source, index)
        scan.cells.append(cell)
        scan.commands += commands
        scan.written_files += written
        if cell.tree is not None:
            scan.imports += imports_of(cell.tree, index, cell.line_offset)
        elif cell.error is not None:
            scan.imports += _line_imports(cell)
    return scan


def code_cells(nb: Any) -> Iterator[tuple[int, str]]:
    """``(index, source)`` of each code cell of a notebook (an nbformat node or its JSON as a dict)."""
    for index, cell in enumerate(nb.get("cells", []) if isinstance(nb, dict) else nb.cells):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            yield index, "".join(source) if isinstance(source, list) else str(source)


def scan_notebook(nb: Any) -> Scan:
    """Scan a notebook: an nbformat node, its JSON text, or a dict."""
    if isinstance(nb, str):
        nb = json.loads(nb)
    return scan_cells(code_cells(nb))


def files_under(folder: Path, suffix: str, *, visit: int = 50_000) -> Iterator[Path]:
    """Files named ``*suffix`` under ``folder``, in a stable order, looking at no more than ``visit`` entries
    (an attached dataset of a million images is not walked to its end)."""
    seen = 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        seen += len(dirs) + len(files)
        for name in sorted(files):
            if name.endswith(suffix):
                yield Path(root) / name
        if seen >= visit:
            return


def scan_python_files(folder: Path, limit: int = 2000) -> list[Import]:
    """The imports of the ``.py`` files under ``folder`` (the code of an attached dataset), at most ``limit``
    files (and :func:`files_under`'s bound on the walk); files that are not Python are skipped."""
    found: list[Import] = []
    for count, path in enumerate(files_under(Path(folder), ".py")):
        if count >= limit:
            break
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError, ValueError):
            continue
        found += imports_of(tree, None, 0, str(path))
    return found


def modules_in(folder: Path, depth: int = 2) -> set[str]:
    """Top-level modules a folder makes importable when it is on ``sys.path``: ``x.py``, ``x/`` packages (with
    or without ``__init__.py``), extension modules; also those of its subfolders up to ``depth`` levels down
    (code datasets are often one folder deeper than the path a notebook appends)."""
    found: set[str] = set()
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for entry in folder.iterdir():
        name = entry.name
        if entry.is_file() and (name.endswith(".py") or ".cpython-" in name or name.endswith((".so", ".pyd"))):
            found.add(name.split(".", 1)[0])
        elif entry.is_dir() and name.isidentifier():
            if any(child.suffix == ".py" for child in entry.iterdir() if child.is_file()):
                found.add(name)  # a package: what is inside it is not top-level
            elif depth > 1:
                found |= modules_in(entry, depth - 1)
    return found
