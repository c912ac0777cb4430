"""Notebook work with nbformat: kernelspec, cleared outputs, notebooks built from cells.

Kaggle runs pushed notebooks through papermill, which fails with "No kernel name found in notebook" when
``metadata.kernelspec`` is missing, and the official push does not add it: every notebook we write has one.
"""

from __future__ import annotations

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
        import nbformat

        try:
            return nbformat.read(path, as_version=4)
        except (ValueError, UnicodeDecodeError, OSError) as exc:  # NotJSONError is a ValueError
            raise NotebookError(f"{path}: not a readable notebook ({_first_line(exc)})") from None
    if path.suffix in SCRIPT_SUFFIXES:
        try:
            import jupytext
        except ImportError:  # pragma: no cover - jupytext is a dependency
            raise NotebookError("reading .py notebooks needs jupytext", hint="pip install jupytext") from None
        text = path.read_text(encoding="utf-8")
        return jupytext.reads(text, fmt="py:percent")
    raise NotebookError(f"{path}: unsupported file type {path.suffix!r}", hint="use a .ipynb or a .py file")


def validate(nb: NotebookNode, where: str) -> None:
    import nbformat

    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"{where}: invalid notebook ({_first_line(exc)})") from None


def cell_ids_format(nb: NotebookNode) -> None:
    """A 4.0-4.4 notebook whose cells carry ids (Kaggle's own editor writes them) becomes 4.5, where ids are
    valid; a cell without one gets one. Without this, nbformat rejects the notebook Kaggle gave."""
    if nb.get("nbformat") != 4 or nb.get("nbformat_minor", 0) >= 5:
        return
    if not any("id" in cell for cell in nb.cells):
        return
    from nbformat.corpus.words import generate_corpus_id

    nb.nbformat_minor = 5
    for cell in nb.cells:
        cell.setdefault("id", generate_corpus_id())


def prepare(nb: NotebookNode, where: str) -> list[str]:
    """Make ``nb`` ready to push: kernelspec, no outputs, valid. Returns what was fixed."""
    notes = ensure_kernelspec(nb)
    clear_outputs(nb)
    cell_ids_format(nb)
    validate(nb, where)
    return notes


def dumps(nb: NotebookNode) -> str:
    import nbformat

    return nbformat.writes(nb)


def code_cells(nb: NotebookNode) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
