"""Reading a notebook's code without running it: imports, shell and magic lines, and which distribution
provides a module."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat.v4 as v4
import pytest

from kaggle_magics import modules
from kaggle_magics.bundle import shipped_base
from kaggle_magics.scan import modules_in, scan_notebook, scan_python_files


def _notebook(*cells: str) -> str:
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell("# title"), *(v4.new_code_cell(c) for c in cells)]
    return json.dumps(nb)


def test_imports_and_commands_keep_their_cell_and_line() -> None:
    scan = scan_notebook(
        _notebook(
            "!pip install polars==1.2 --no-index\nimport numpy as np\nfrom sklearn.model_selection import KFold\n",
            "%pip install -q lightgbm\nfiles = !ls /kaggle/input\nimport importlib\n"
            "m = importlib.import_module('cv2')\n",
            "from . import local_thing\nfrom __future__ import annotations\nnp.sum?\n",
        )
    )
    assert [(i.module, i.cell, i.line) for i in scan.imports] == [
        ("numpy", 1, 2),
        ("sklearn.model_selection", 1, 3),
        ("importlib", 2, 3),
        ("cv2", 2, 4),
    ]
    assert [(c.kind, c.text, c.cell, c.line) for c in scan.commands if c.magic != "pinfo"] == [
        ("shell", "pip install polars==1.2 --no-index", 1, 1),
        ("magic", "pip install -q lightgbm", 2, 1),
        ("shell", "ls /kaggle/input", 2, 2),
    ]
    assert scan.top_modules() == {"numpy", "sklearn", "importlib", "cv2"}


def test_cell_magics_are_read_for_what_their_body_is() -> None:
    scan = scan_notebook(
        _notebook(
            "%%time\nimport pandas as pd\n",
            "%%bash\n# a comment\npip download foo\nwget https://example.com/x\n",
            "%%writefile utils.py\nimport secret_lib\n",
            "%%kaggle_sub --id me/sub-kernel\nimport not_here\n",
        )
    )
    assert [(i.module, i.cell, i.line) for i in scan.imports] == [("pandas", 1, 2)]
    assert [(c.text, c.line) for c in scan.commands] == [("pip download foo", 3), ("wget https://example.com/x", 4)]
    assert scan.provided_modules() == {"utils"}


def test_guarded_imports_are_told_apart() -> None:
    scan = scan_notebook(
        _notebook(
            "try:\n    import cupy as xp\nexcept ImportError:\n    import numpy as xp\n",
            "try:\n    import orjson\nexcept (ModuleNotFoundError, ValueError):\n    orjson = None\n",
            "try:\n    import ujson\nfinally:\n    pass\n",
        )
    )
    assert [(i.module, i.guarded) for i in scan.imports] == [
        ("cupy", True),
        ("numpy", False),
        ("orjson", True),
        ("ujson", False),
    ]


def test_a_cell_that_is_not_python_is_kept_with_its_error() -> None:
    scan = scan_notebook(_notebook("def broken(:\n    pass\n", "import os\n"))
    assert scan.cells[0].tree is None and "line 1" in (scan.cells[0].error or "")
    assert [i.module for i in scan.imports] == ["os"]


def test_the_import_lines_of_a_broken_cell_still_count() -> None:
    scan = scan_notebook(_notebook("import polars as pl\ndef broken(:\n    pass\n    from sklearn import svm\n"))
    assert scan.cells[0].tree is None
    assert [(i.module, i.cell, i.line) for i in scan.imports] == [("polars", 1, 1), ("sklearn", 1, 4)]


def test_assignments_from_the_shell_and_magics_under_every_ipython() -> None:
    # IPython 7 under Python 3.12 (Kaggle's image) does not transform `x = !cmd` itself.
    scan = scan_notebook(_notebook("files = !ls /kaggle/input\nt = %timeit -o sum([])\nimport numpy\n"))
    assert scan.cells[0].tree is not None and [i.module for i in scan.imports] == ["numpy"]
    assert [(c.kind, c.text, c.line) for c in scan.commands] == [
        ("shell", "ls /kaggle/input", 1),
        ("magic", "timeit -o sum([])", 2),
    ]


def test_python_files_and_the_modules_a_folder_provides(tmp_path: Path) -> None:
    src = tmp_path / "codes"
    (src / "mypkg").mkdir(parents=True)
    (src / "mypkg" / "__init__.py").write_text("import torch\nfrom .inner import x\n")
    (src / "train.py").write_text("import lightgbm\n")
    (src / "notes.py").write_text("this is not python(\n")
    (src / "deeper" / "pkg2").mkdir(parents=True)
    (src / "deeper" / "pkg2" / "mod.py").write_text("")
    found = scan_python_files(src)
    assert sorted(i.module for i in found) == ["lightgbm", "torch"]
    assert all(i.path and i.cell is None for i in found)
    assert modules_in(src) == {"mypkg", "train", "notes", "pkg2"}


def test_modules_map_to_the_distributions_kaggles_image_holds() -> None:
    image = set(shipped_base().packages)
    assert modules.provider("sklearn.model_selection", image) == "scikit-learn"
    assert modules.provider("cv2", image) == "opencv-python"
    assert modules.provider("PIL.Image", image) == "pillow"
    assert modules.provider("yaml", image) == "pyyaml"
    assert modules.provider("google.cloud.storage", image) == "google-cloud-storage"
    assert modules.provider("google.protobuf", image) == "protobuf"
    assert modules.provider("sentence_transformers", image) == "sentence-transformers"
    assert modules.provider("lightgbm", image) == "lightgbm"
    assert modules.provider("not_a_real_module_anywhere", image) is None
    # an environment's own metadata knows better than the table
    assert modules.candidates("cv2", {"cv2": ["opencv-contrib-python"]})[0] == "opencv-contrib-python"


def test_the_standard_library_of_the_target_python() -> None:
    assert modules.is_stdlib("os.path") and modules.is_stdlib("json", "3.12")
    assert not modules.is_stdlib("numpy")
    assert modules.removed_from_stdlib("imp", "3.12") == "3.12"
    assert modules.removed_from_stdlib("imp", "3.11") is None
    assert not modules.is_stdlib("asyncore", "3.12")
    assert modules.runtime_only("kaggle_secrets") and not modules.runtime_only("numpy")


QUICK = [
    "!pip install -q polars==1.2   \nimport numpy as np\n",
    "x = !ls /kaggle/input\nfiles, more = !ls\n!!echo hi",
    "%matplotlib inline\n%time y = 1\n%pip install 'a>=1' b\n%env HF_HOME=/x",
    "if True:\n    !echo {x} $y\nelse:\n    %cd /tmp\n",
    "a = b != c\nd = e % f\n!ls",
]


@pytest.mark.parametrize("source", QUICK)
def test_escaped_lines_become_what_ipythons_transformer_makes_of_them(source: str) -> None:
    """The line-by-line path (IPython's transformer costs about a millisecond a cell) gives the same tree."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    from kaggle_magics.scan import _parse

    tree, error = _parse(source)
    assert error is None and tree is not None
    assert ast.dump(tree) == ast.dump(ast.parse(TransformerManager().transform_cell(source)))


def test_cells_the_line_path_cannot_read_go_to_ipython() -> None:
    scan = scan_notebook(_notebook('"""doc\n!not a command\n"""\n!ls\n', "np.sum?\n", "  !indented first\n"))
    assert [(c.text, c.cell) for c in scan.commands if c.magic != "pinfo"] == [("ls", 1), ("indented first", 3)]
    assert all(cell.tree is not None for cell in scan.cells)


def test_what_may_never_run_is_told_apart() -> None:
    scan = scan_notebook(
        _notebook(
            "import os\nif not os.path.exists('/kaggle/input/w'):\n    !pip install x\n    import fallback\n",
            "try:\n    import a\nexcept ImportError:\n    !pip install a\n",
            "def f():\n    !pip install inside_def\nif __name__ == '__main__':\n    import main_mod\n",
        )
    )
    assert [(c.text, c.conditional) for c in scan.commands] == [
        ("pip install x", True), ("pip install a", True), ("pip install inside_def", False),
    ]  # fmt: skip
    conditional = {i.module: i.conditional for i in scan.imports}
    assert conditional == {"os": False, "fallback": True, "a": False, "main_mod": False}
