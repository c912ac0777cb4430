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
from ast import AST
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    conditional: bool = False  # under an if or an except handler: it may never run

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
    conditional: bool = False  # under an if or an except handler: it may never run

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


# A line IPython escapes: `!cmd`, `!!cmd`, `%magic args`, `x = !cmd`, `x = %magic args` (indented under a block).
_ESCAPED = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<target>[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*)[ \t]*=[ \t]*)?"
    r"(?P<escape>!!|!|%)(?P<rest>.*)$"
)


def escaped_to_python(source: str) -> str | None:
    """What IPython's transformer makes of a cell whose only IPython syntax is escaped lines, done line by line
    (the transformer costs about a millisecond a cell); None when the cell needs the real transformer (help
    syntax, continued lines, triple-quoted strings that may hold such lines, an indented first line)."""
    if "'''" in source or '"""' in source:
        return None
    out = []
    seen_code = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped and not seen_code:
            seen_code = True
            if line[0] in " \t":
                return None
        match = _ESCAPED.match(line) if stripped[:1] in ("!", "%") or "=" in stripped else None
        if match is None:
            out.append(line)
            continue
        indent, target, escape, rest = match.group("indent", "target", "escape", "rest")
        rest = rest.rstrip()
        if rest.startswith("%") or line.rstrip().endswith(("\\", "?")):
            return None
        if escape == "%":
            name, _, args = rest.partition(" ")
            call = f"get_ipython().run_line_magic({name!r}, {args!r})"
        elif escape == "!!" or target:
            call = f"get_ipython().getoutput({rest!r})"
        else:
            call = f"get_ipython().system({rest!r})"
        out.append(f"{indent}{target} = {call}" if target else f"{indent}{call}")
    return "\n".join(out)


def _escaped(source: str) -> bool:
    """Whether a line may be IPython's escaped syntax (a cell without one is plain Python or not Python)."""
    return "= !" in source or "= %" in source or any(line.lstrip()[:1] in ("!", "%") for line in source.split("\n"))


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
    quick = escaped_to_python(source) if _escaped(source) else None
    if quick is not None:
        try:
            return ast.parse(quick), None
        except SyntaxError:
            pass
    try:
        return ast.parse(source), None
    except SyntaxError:
        pass
    error = None
    for text in dict.fromkeys((source, _assignments(source))):  # the second only when it differs
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


def read_cell(source: str, index: int | None = None, walk: bool = True) -> tuple[Cell, list[Command], list[str]]:
    """Parse one cell; its commands (unless ``walk`` is false: :func:`walk_cell` finds those of a tree) and the
    files a ``%%writefile`` cell writes."""
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        head, _, body = stripped.partition("\n")
        offset = source[: len(source) - len(stripped)].count("\n") + 1
        words = head[2:].split()
        magic = words[0] if words else ""
        if magic in PYTHON_CELL_MAGICS:
            tree, error = _parse(body)
            cell = Cell(index, source, tree, offset, error, magic)
            return cell, _commands(cell) if walk else [], []
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
    return cell, _commands(cell) if walk else [], []


def _ipython_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """``get_ipython().NAME('a', 'b')`` -> (NAME, ['a', 'b'])."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return node.func.attr, args


def _command(node: ast.Call, index: int | None, line: int, conditional: bool = False) -> Command | None:
    call = _ipython_call(node)
    if call is None:
        return None
    name, args = call
    if name in ("system", "getoutput") and args:
        return Command("shell", args[0], index, line, conditional)
    if name == "run_line_magic" and args:
        kind = "shell" if args[0] in ("system", "sx") else "magic"
        text = " ".join(args).strip() if kind == "magic" else " ".join(args[1:])
        return Command(kind, text, index, line, conditional)
    return None


def _commands(cell: Cell) -> list[Command]:
    return walk_cell(cell)[1]


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS for n in names):
            return True
    return False


# Fields that never hold a node worth a visit: names, operators, contexts, aliases of an import.
_NOT_CHILDREN = frozenset({
    "ctx", "id", "attr", "name", "arg", "kind", "type_comment", "level", "conversion", "simple", "is_async",
    "module", "names", "op", "ops",
})  # fmt: skip


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes to walk into."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in getattr(kind, "_fields", ()) if f not in _NOT_CHILDREN)
    return fields
_TRIES: tuple[type[ast.AST], ...] = (ast.Try, *([ast.TryStar] if hasattr(ast, "TryStar") else []))

GUARDED = 1  # inside try/except ImportError
CONDITIONAL = 2  # under an if or an except handler: it may never run (a def or a loop is taken to run)
Visitor = Callable[[ast.AST, Cell, int], None]  # visit(node, cell, flags): flags of GUARDED | CONDITIONAL
_BRANCHES = {
    ast.If: ("body", "orelse"), ast.IfExp: ("body", "orelse"), ast.ExceptHandler: ("body",),
    ast.Try: ("orelse",), ast.match_case: ("body",),
}  # fmt: skip


def _is_main(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (a script's body: it runs)."""
    test = getattr(node, "test", None)
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module] if node.level == 0 and node.module and node.module != "__future__" else []
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        value = node.args[0].value
        if called in ("import_module", "__import__") and isinstance(value, str) and value and value[0] != ".":
            return [value]
    return []


def walk_cell(
    cell: Cell, path: str | None = None, visitors: Mapping[type[ast.AST], Visitor] | None = None
) -> tuple[list[Import], list[Command]]:
    """One pass over a cell's tree: its imports (guarded or not) and commands (conditional or not);
    ``visitors`` (node type -> ``visit(node, cell, flags)``, flags of :data:`GUARDED` and :data:`CONDITIONAL`)
    see every node of their type in the same pass, parents before children."""
    imports: list[Import] = []
    commands: list[Command] = []
    if cell.tree is None:
        return imports, commands
    index, offset = cell.index, cell.line_offset
    extra = visitors or {}
    stack: list[tuple[ast.AST, int]] = [(cell.tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, flags = pop()
        kind = type(node)
        if kind is ast.Import or kind is ast.ImportFrom or kind is ast.Call:
            line = node.lineno + offset  # type: ignore[attr-defined]
            for name in _imported_names(node):
                imports.append(Import(name, index, line, bool(flags & GUARDED), path, bool(flags & CONDITIONAL)))
            if kind is ast.Call:
                command = _command(node, index, line, bool(flags & CONDITIONAL))  # type: ignore[arg-type]
                if command is not None:
                    commands.append(command)
        visit = extra.get(kind)
        if visit is not None:
            visit(node, cell, flags)
        if kind is ast.Name or kind is ast.Constant:  # the most frequent nodes hold nothing to look at
            continue
        guarding = not flags & GUARDED and kind in _TRIES and _catches_import_error(node)  # type: ignore[arg-type]
        branches = _BRANCHES.get(kind, ()) if not (kind is ast.If and _is_main(node)) else ()
        for name in _child_fields(kind):
            value = getattr(node, name, None)
            inner = flags
            if guarding and name == "body":
                inner |= GUARDED
            if name in branches:
                inner |= CONDITIONAL
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push((item, inner))
            elif isinstance(value, AST):
                push((value, inner))
    imports.sort(key=lambda i: (i.line, i.module))
    commands.sort(key=lambda c: c.line)
    return imports, commands


def imports_of(tree: ast.Module, cell: int | None = None, offset: int = 0, path: str | None = None) -> list[Import]:
    """The absolute imports in ``tree``: ``import a.b``, ``from a.b import c``, ``importlib.import_module("a")``
    and ``__import__("a")`` with a literal name."""
    return walk_cell(Cell(cell, "", tree, offset), path)[0]


def scan_cells(
    sources: Iterable[tuple[int | None, str]], visitors: Mapping[type[ast.AST], Visitor] | None = None
) -> Scan:
    """Scan ``(index, source)`` pairs of code cells; ``visitors`` see the nodes of each tree in the same pass
    (see :func:`walk_cell`), so every cell is parsed once and walked once."""
    scan = Scan()
    for index, source in sources:
        cell, commands, written = read_cell(source, index, walk=False)
        scan.cells.append(cell)
        scan.written_files += written
        imports, found = walk_cell(cell, None, visitors)
        scan.imports += imports
        scan.commands += commands if cell.tree is None else found
        if cell.tree is None and cell.error is not None:
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
