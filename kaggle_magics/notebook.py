"""Notebook work with nbformat: kernelspec, cleared outputs, notebooks built from cells.

Kaggle runs pushed notebooks through papermill, which fails with "No kernel name found in notebook" when
``metadata.kernelspec`` is missing, and the official push does not add it: every notebook we write has one.
"""

from __future__ import annotations

import json
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode

PYTHON_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PYTHON_LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python"}
NOTEBOOK_SUFFIXES = (".ipynb",)
SCRIPT_SUFFIXES = (".py",)


def ensure_kernelspec(nb: NotebookNode) -> list[str]:
    """Give ``nb`` a Python kernelspec and language_info if it lacks them; return what was fixed."""
    notes = []
    spec = nb.metadata.get("kernelspec") or {}
    if not spec.get("name"):
        nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
        notes.append("added metadata.kernelspec (python3): Kaggle's papermill run fails without it")
    elif spec.get("language", "python") == "python" and spec["name"] != PYTHON_KERNELSPEC["name"]:
        # A local environment's kernel ("myenv", "conda-env-x-py"): Kaggle's image has only python3, and
        # papermill fails with "No such kernel named ..." before the first cell runs.
        nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
        notes.append(
            f"kernelspec {spec['name']!r} (a local kernel) replaced by python3, the only Python kernel on Kaggle"
        )
    else:
        for key, value in PYTHON_KERNELSPEC.items():
            spec.setdefault(key, value)
    info = nb.metadata.get("language_info") or {}
    if not info.get("name"):
        nb.metadata["language_info"] = dict(PYTHON_LANGUAGE_INFO)
    return notes


def clear_outputs(nb: NotebookNode) -> None:
    """Drop outputs and execution counts (Kaggle clears them on push anyway; this keeps uploads small)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def build_notebook(cells: list[str] | tuple[str, ...]) -> NotebookNode:
    """A new Python notebook whose code cells are ``cells``, with kernelspec and language_info."""
    import nbformat.v4 as v4

    nb = v4.new_notebook()
    nb.cells = [v4.new_code_cell(source.lstrip("\n").rstrip()) for source in cells if source.strip()]
    ensure_kernelspec(nb)
    return nb


def read_notebook(path: Path) -> NotebookNode:
    """Read a ``.ipynb`` or a percent-format ``.py`` (``# %%`` cells, read with jupytext) as a notebook."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such file", hint="give the path of a .ipynb or a percent-format .py")
    if path.suffix in NOTEBOOK_SUFFIXES:
        return _read_ipynb(path)
    if path.suffix in SCRIPT_SUFFIXES:
        try:
            import jupytext
        except ImportError:  # pragma: no cover - jupytext is a dependency
            raise NotebookError("reading .py notebooks needs jupytext", hint="pip install jupytext") from None
        text = path.read_text(encoding="utf-8")
        nb = jupytext.reads(text, fmt="py:percent")
        validate(nb, str(path))
        return nb
    raise NotebookError(f"{path}: unsupported file type {path.suffix!r}", hint="use a .ipynb or a .py file")


def shape_problem(data: Any) -> str | None:
    """What makes ``data`` (a parsed .ipynb) no notebook at all, in a few words; None when it has the shape
    of one (nbformat's own validation then names finer problems)."""
    if not isinstance(data, dict):
        return f"the file holds a JSON {type(data).__name__}, not a notebook object"
    major = data.get("nbformat")
    if not isinstance(major, int) or isinstance(major, bool):
        return '"nbformat" (the format version, 4) is missing'
    if major != 4:
        return None  # older formats are converted by nbformat, which names their problems
    cells = data.get("cells")
    if not isinstance(cells, list):
        return f'"cells" must be a list of cells, not {_kind(cells)}'
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            return f"cell {index + 1} is {_kind(cell)}, not a cell object"
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f'cell {index + 1} has "cell_type" {cell.get("cell_type")!r} (code, markdown or raw)'
        source = cell.get("source", "")
        if not isinstance(source, str) and not (isinstance(source, list) and all(isinstance(x, str) for x in source)):
            return f'cell {index + 1}: "source" must be a string or a list of strings, not {_kind(source)}'
    return None


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__} ({json.dumps(value)[:40]})"


def _read_ipynb(path: Path) -> NotebookNode:
    """A .ipynb as a version-4 notebook, each problem one line; cells without an id get one (nbformat 4.5
    needs them, and would warn on every read)."""
    import nbformat

    hint = "open it in Jupyter and save it again, or fix the JSON by hand"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{path}: cannot read it ({_first_line(exc)})") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path}: not a notebook (JSON line {exc.lineno}: {exc.msg})", hint=hint) from None
    problem = shape_problem(data)
    if problem:
        raise NotebookError(f"{path}: not a valid notebook: {problem}", hint=hint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
        try:
            nb = nbformat.convert(nbformat.from_dict(data), 4)
        except (ValueError, KeyError, TypeError, nbformat.ValidationError) as exc:
            raise NotebookError(f"{path}: not a valid notebook ({_first_line(exc)})", hint=hint) from None
    cell_ids_format(nb)
    add_cell_ids(nb)
    validate(nb, str(path))
    return nb


def insert_code_cell(nb: NotebookNode, index: int, source: str) -> None:
    """Insert a code cell, with an ``id`` only where the notebook's format has ids (4.5 and later: a 4.4
    notebook with one is invalid)."""
    import nbformat.v4 as v4

    cell = v4.new_code_cell(source)
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        cell.pop("id", None)
    nb.cells.insert(index, cell)


def add_cell_ids(nb: NotebookNode) -> int:
    """Give every cell without an ``id`` one, where the format has ids (4.5 and later); return how many."""
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        return 0
    added = 0
    for cell in nb.cells:
        if not cell.get("id"):
            cell["id"] = secrets.token_hex(4)
            added += 1
    return added


def validate(nb: NotebookNode, where: str) -> None:
    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            place = _json_place(list(getattr(exc, "absolute_path", None) or exc.path))
            text = " ".join(str(exc.message).split())
            text = text if len(text) <= 160 else text[:157] + "..."
            raise NotebookError(
                f"{where}: invalid notebook: {place + ': ' if place else ''}{text}",
                hint="open it in Jupyter and save it again, or fix the JSON by hand",
            ) from None


def cell_ids_format(nb: NotebookNode) -> None:
    """A 4.0-4.4 notebook whose cells carry ids (Kaggle's own editor writes them) becomes 4.5, where ids are
    valid; a cell without one gets one. Without this, nbformat rejects the notebook Kaggle gave."""
    if nb.get("nbformat") != 4 or nb.get("nbformat_minor", 0) >= 5:
        return
    if any("id" in cell for cell in nb.cells):
        nb.nbformat_minor = 5
        add_cell_ids(nb)


def prepare(nb: NotebookNode, where: str) -> list[str]:
    """Make ``nb`` (valid, as :func:`read_notebook` returns it) ready to push: kernelspec, no outputs, cell ids
    where its format has them; none of which can make it invalid. Returns what was fixed."""
    notes = ensure_kernelspec(nb)
    clear_outputs(nb)
    cell_ids_format(nb)
    return notes


def dumps(nb: NotebookNode) -> str:
    """The notebook's JSON, in its own format version. Not validated here: it was when it was read, and is
    again where a kernel folder is written (validation is most of the time of a batch conversion)."""
    from nbformat import reader, versions

    version, _ = reader.get_version(nb)
    return str(versions[version].writes_json(nb))


def code_cells(nb: NotebookNode) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _json_place(path: list[Any]) -> str:
    """``['cells', 0, 'source']`` as ``cell 1: source``."""
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        rest = ".".join(str(p) for p in path[2:])
        return f"cell {path[1] + 1}" + (f": {rest}" if rest else "")
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
