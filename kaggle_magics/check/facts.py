"""What the checks read from a notebook's code, gathered in the scan's single pass over each cell's tree.

:class:`Facts` is a set of visitors for :func:`kaggle_magics.scan.scan_cells`: every cell is parsed once and
walked once, and each check then reads these lists instead of walking again. Only what a check may need is
kept: calls whose name a check knows, strings that name a Kaggle path, a URL or a submission file, version
comparisons, import aliases, and shell commands run through ``os.system``/``subprocess``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..scan import CONDITIONAL, Cell, Command, Scan, Visitor, scan_cells
from .nodes import CALLS, NOT_LITERAL, PATH_CLASSES, PROBES, SHELL_CALLS, Named, copes, dotted, literal


@dataclass
class CallFact:
    name: str  # as written: "AutoTokenizer.from_pretrained", "requests.get"
    qualified: str  # with the import aliases resolved: "transformers.AutoTokenizer.from_pretrained"
    args: list[Any]
    kwargs: dict[str, Any]
    cell: int | None
    line: int
    conditional: bool = False  # may never run (under an if or an except handler)

    @property
    def last(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def arg(self, position: int, keyword: str | None = None) -> Any:
        if keyword and keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[position] if len(self.args) > position else None


@dataclass
class StringFact:
    """A string naming a Kaggle path, a URL or a submission file. ``value`` has ``{}`` where an f-string or a
    join held something not literal."""

    value: str
    cell: int | None
    line: int
    probe: bool = False  # tested for (exists, glob, a list of candidates): the code copes without it
    conditional: bool = False  # under an if or an except handler: it may never be used
    node: int = field(default=0, compare=False, repr=False)  # id() of the expression it was read from


@dataclass
class VersionFact:
    """``x.__version__`` compared with a literal: ``op`` is a comparison (``==``...) or ``startswith``."""

    name: str  # the expression whose __version__ is read ("np", "torch")
    op: str
    value: str
    cell: int | None
    line: int


_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _interesting(value: str) -> bool:
    return (
        "/kaggle/" in value
        or "../input" in value
        or "submission" in value
        or value.startswith(("http://", "https://", "ftp://", "s3://", "gs://"))
    )


@dataclass
class Facts:
    """The visitors, and what they gathered."""

    calls: list[CallFact] = field(default_factory=list)
    strings: list[StringFact] = field(default_factory=list)
    versions: list[VersionFact] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # name bound by an import -> module path
    shell: list[Command] = field(default_factory=list)  # commands run by os.system / subprocess
    counts: dict[str, int] = field(default_factory=dict)  # every string literal -> how often it is written
    constants: dict[str, Any] = field(default_factory=dict)  # NAME = "literal" at the top of a cell or class
    chdir: bool = False
    _skip: set[int] = field(default_factory=set)  # string constants already read as part of a bigger one
    _probes: set[int] = field(default_factory=set)
    _probed_names: set[str] = field(default_factory=set)  # glob(NAME), exists(NAME): NAME's value is tested for
    _assigned: dict[str, int] = field(default_factory=dict)  # NAME = <expression> once: the id() of that expression

    def visitors(self) -> dict[type[ast.AST], Visitor]:
        return {
            ast.Import: self._import,
            ast.ImportFrom: self._import,
            ast.Call: self._call,
            ast.Constant: self._constant,
            ast.JoinedStr: self._joined,
            ast.BinOp: self._binop,
            ast.Compare: self._compare,
            ast.List: self._collection,
            ast.Tuple: self._collection,
            ast.Set: self._collection,
            ast.Module: self._assignments,
            ast.ClassDef: self._assignments,
            ast.Try: self._tried,
        }

    def qualify(self, name: str) -> str:
        head, _, rest = name.partition(".")
        module = self.aliases.get(head)
        return f"{module}.{rest}" if module and rest else module or name

    def value(self, item: Any) -> Any:
        """A literal argument as it is; a name as the literal it was assigned once, else NOT_LITERAL."""
        if isinstance(item, Named):
            return self.constants.get(item.name, NOT_LITERAL)
        if isinstance(item, list):
            values = [self.value(v) for v in item]
            return NOT_LITERAL if any(v is NOT_LITERAL for v in values) else values
        return item

    def resolve(self) -> None:
        """Qualify the calls once every import is known (a name may be imported in a later cell), give names
        their literal values, and read the shell commands that ``os.system`` and ``subprocess`` run."""
        self.constants = {k: v for k, v in self.constants.items() if v is not NOT_LITERAL}
        probed = {self._assigned[n] for n in self._probed_names if self._assigned.get(n)}
        for fact in self.strings:
            if fact.node in probed:
                fact.probe = True
        for call in self.calls:
            call.qualified = self.qualify(call.name)
            call.args = [self.value(a) for a in call.args]
            call.kwargs = {k: self.value(v) for k, v in call.kwargs.items()}
            if call.qualified in SHELL_CALLS:
                command = call.arg(0, "args")
                if isinstance(command, list) and all(isinstance(part, str) for part in command):
                    command = " ".join(command)
                if isinstance(command, str) and command.strip():
                    self.shell.append(Command("shell", command.strip(), call.cell, call.line, call.conditional))

    # -- visitors ------------------------------------------------------------------------------------------
    def _import(self, node: ast.AST, cell: Cell, flags: int) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.aliases.setdefault(top, top)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _call(self, node: ast.AST, cell: Cell, flags: int) -> None:
        assert isinstance(node, ast.Call)
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if last is None:
            return
        if last in PROBES:
            self._mark_probe(node)
        if last == "startswith" and isinstance(func, ast.Attribute):
            self._startswith(node, func, cell)
            return
        if (last == "join" or last in PATH_CLASSES) and self._joined_path(node, cell, last, flags):
            return
        if last not in CALLS and not self._fetches_weights(node, func, last):
            return
        name = dotted(func)
        if name is None:
            return
        line = node.lineno + cell.line_offset
        args = [literal(a) for a in node.args]
        kwargs = {k.arg: literal(k.value) for k in node.keywords if k.arg}
        self.calls.append(CallFact(name, name, args, kwargs, cell.index, line, bool(flags & CONDITIONAL)))
        if last == "chdir":
            self.chdir = True

    def _fetches_weights(self, node: ast.Call, func: ast.AST, last: str) -> bool:
        """Model constructors that may download weights: a ``pretrained=``/``weights=`` argument, or Keras's
        applications (whose ``weights`` default is ``"imagenet"``)."""
        if any(k.arg in ("pretrained", "weights") for k in node.keywords):
            return True
        if not last[:1].isupper():
            return False
        name = dotted(func) or ""
        return ".applications." in f".{self.qualify(name)}."

    def _mark_probe(self, node: ast.Call) -> None:
        targets: list[ast.AST] = list(node.args[:1])
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):  # Path("...").exists()
            targets += func.value.args[:1]
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.BinOp):  # (Path(a) / "b").exists()
            targets.append(func.value)
        for target in targets:
            self._probes.add(id(target))
            if isinstance(target, ast.Name):
                self._probed_names.add(target.id)
            if isinstance(target, ast.Call):  # exists(os.path.join(...))
                self._probes.add(id(target))

    def _tried(self, node: ast.AST, cell: Cell, flags: int) -> None:
        """``try: pd.read_csv(PATH) except OSError: ...``: what the body reads, the code copes without (unless
        every handler that catches it raises again)."""
        assert isinstance(node, ast.Try)
        if not any(copes(handler) for handler in node.handlers):
            return
        for statement in node.body:
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Call):
                    self._mark_probe(inner)

    def _assignments(self, node: ast.AST, cell: Cell, flags: int) -> None:
        """``NAME = "literal"`` at the top of a cell (or ``CFG.name`` in a class): a name assigned twice has no
        single value."""
        prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
        for stmt in node.body:  # type: ignore[attr-defined]
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, value = stmt.target, stmt.value
            else:
                continue
            name = dotted(target)
            if name is None:
                continue
            key = prefix + name
            literal_value = value.value if isinstance(value, ast.Constant) else NOT_LITERAL
            self.constants[key] = literal_value if key not in self.constants else NOT_LITERAL
            self._assigned[key] = id(value) if key not in self._assigned else 0  # 0: assigned more than once

    def _constant(self, node: ast.AST, cell: Cell, flags: int) -> None:
        assert isinstance(node, ast.Constant)
        value = node.value
        if type(value) is not str:
            return
        self.counts[value] = self.counts.get(value, 0) + 1
        if id(node) in self._skip or not _interesting(value):
            return
        line, probe = node.lineno + cell.line_offset, id(node) in self._probes
        self.strings.append(StringFact(value, cell.index, line, probe, bool(flags & CONDITIONAL), id(node)))

    def _joined(self, node: ast.AST, cell: Cell, flags: int) -> None:
        assert isinstance(node, ast.JoinedStr)
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value.replace("{", "{{").replace("}", "}}"))
                self._skip.add(id(value))
            else:
                parts.append("{}")
        text = "".join(parts)
        if _interesting(text):
            probe = id(node) in self._probes
            line = node.lineno + cell.line_offset
            self.strings.append(StringFact(text, cell.index, line, probe, bool(flags & CONDITIONAL), id(node)))

    def _joined_path(self, node: ast.Call, cell: Cell, last: str, flags: int) -> bool:
        """``os.path.join("/kaggle/input", "x", name)`` and ``Path("/kaggle/input/x")`` as one path."""
        if last == "join" and dotted(node.func) not in ("os.path.join", "path.join", "osp.join", "join"):
            return False
        head = node.args[0] if node.args else None
        named = self.constants.get(head.id) if last == "join" and isinstance(head, ast.Name) else None  # (OUT, ...)
        named = named if isinstance(named, str) else None
        if named is None and (not isinstance(head, ast.Constant) or not isinstance(head.value, str)):
            return False
        if id(head) in self._skip:  # the head of a ``Path(...) / ...`` already read
            return False
        parts = []
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                parts.append(arg.value)
                self._skip.add(id(arg))
            elif arg is head and named is not None:
                parts.append(named)
            else:
                parts.append("{}")
        text = "/".join(p.rstrip("/") if i < len(parts) - 1 else p for i, p in enumerate(parts))
        if _interesting(text):
            probe = id(node) in self._probes or id(node.args[0]) in self._probes
            line = node.lineno + cell.line_offset
            self.strings.append(StringFact(text, cell.index, line, probe, bool(flags & CONDITIONAL), id(node)))
        return last == "join"

    def _binop(self, node: ast.AST, cell: Cell, flags: int) -> None:
        """``Path("/kaggle/input") / "x" / name`` as one path."""
        assert isinstance(node, ast.BinOp)
        if not isinstance(node.op, ast.Div) or id(node) in self._skip:
            return
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Div):
            self._skip.add(id(current))
            right = current.right
            if isinstance(right, ast.Constant) and isinstance(right.value, str):
                parts.append(right.value)
                self._skip.add(id(right))
            else:
                parts.append("{}")
            current = current.left
        head: ast.AST | None = current
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Name) and current.func.id in PATH_CLASSES:
            head = current.args[0] if len(current.args) == 1 else None
        if not (isinstance(head, ast.Constant) and isinstance(head.value, str)):
            return
        self._skip.add(id(head))
        text = "/".join([head.value.rstrip("/"), *reversed(parts)])
        if _interesting(text):
            probe = id(node) in self._probes
            line = node.lineno + cell.line_offset
            self.strings.append(StringFact(text, cell.index, line, probe, bool(flags & CONDITIONAL), id(node)))

    def _collection(self, node: ast.AST, cell: Cell, flags: int) -> None:
        """A literal list of candidate paths: each is tried, so none alone is needed."""
        elts = node.elts  # type: ignore[attr-defined]
        paths = [e for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str) and "input" in e.value]
        if len(paths) >= 2:
            self._probes.update(id(e) for e in paths)

    def _compare(self, node: ast.AST, cell: Cell, flags: int) -> None:
        assert isinstance(node, ast.Compare)
        if len(node.ops) != 1 or type(node.ops[0]) not in _OPS:
            return
        op = _OPS[type(node.ops[0])]
        left, right = _version_of(node.left), _version_of(node.comparators[0])
        if left is not None and isinstance(right, str):
            name, value = left, right
        elif right is not None and isinstance(left, str):
            name, value, op = right, left, _FLIP[op]
        else:
            return
        if isinstance(name, _Versioned):
            self.versions.append(VersionFact(name.name, op, value, cell.index, node.lineno + cell.line_offset))

    def _startswith(self, node: ast.Call, func: ast.Attribute, cell: Cell) -> None:
        versioned = _version_of(func.value)
        arg = literal(node.args[0]) if node.args else None
        if isinstance(versioned, _Versioned) and isinstance(arg, str):
            line = node.lineno + cell.line_offset
            self.versions.append(VersionFact(versioned.name, "startswith", arg, cell.index, line))


@dataclass(frozen=True)
class _Versioned:
    name: str


def _version_of(node: ast.AST) -> _Versioned | str | None:
    """``x.__version__`` (also inside ``version.parse(...)``/``Version(...)``) -> _Versioned("x"); a literal
    string (also inside those calls) -> the string; anything else -> None."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        called = dotted(node.func) or ""
        if called.rsplit(".", 1)[-1] in ("parse", "Version", "LooseVersion", "StrictVersion", "parse_version"):
            node = node.args[0]
    if isinstance(node, ast.Attribute) and node.attr == "__version__":
        name = dotted(node.value)
        return _Versioned(name) if name else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def gather(sources: Iterable[tuple[int | None, str]]) -> tuple[Scan, Facts]:
    """Scan the cells and gather the facts, in one parse and one walk of each cell."""
    facts = Facts()
    scan = scan_cells(sources, facts.visitors())
    facts.resolve()
    return scan, facts
