from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from kaggle_magics import notebook
from kaggle_magics.errors import NotebookError


def test_build_notebook_has_kernelspec_and_validates() -> None:
    nb = notebook.build_notebook(["import os", "   ", "print(1)"])
    assert [c.source for c in nb.cells] == ["import os", "print(1)"]
    assert nb.metadata.kernelspec == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert nb.metadata.language_info["name"] == "python"
    nbformat.validate(nb)


def test_prepare_fixes_kernelspec_clears_outputs_and_says_so() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1+1", execution_count=3)])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    notes = notebook.prepare(nb, "x.ipynb")
    assert any("kernelspec" in n for n in notes)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert notebook.prepare(nb, "x.ipynb") == [], "a second pass has nothing to fix"


def test_read_percent_script(tmp_path: Path) -> None:
    script = tmp_path / "sub.py"
    script.write_text("# %%\nimport os\n\n# %% [markdown]\n# hello\n\n# %%\nprint(os.sep)\n")
    nb = notebook.read_notebook(script)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "code"]
    assert nb.cells[2].source == "print(os.sep)"


@pytest.mark.parametrize(("name", "text", "culprit"), [
    ("bad.ipynb", "{not json", r"not a notebook \(JSON line 1: "),
    ("x.txt", "", "unsupported file type"),
])
def test_unreadable_inputs(tmp_path: Path, name: str, text: str, culprit: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(NotebookError, match=culprit):
        notebook.read_notebook(path)
    with pytest.raises(NotebookError, match="no such file"):
        notebook.read_notebook(tmp_path / "missing.ipynb")
