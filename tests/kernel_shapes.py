"""Kernel folders and notebooks shaped as Kaggle's tools and users leave them (written here, not copied from
anyone's repository), for the tests of what kaggle-magics accepts and how it says what it changed.

- :func:`pulled_folder`: what ``kaggle kernels pull OWNER/SLUG -p DIR -m`` writes, key for key and in the
  client's order (``kaggle/api/kaggle_api_extended.py``, ``kernels_pull``): ``id`` and ``id_no``, the server's
  booleans, ``keywords``, every ``*_sources`` list, ``docker_image`` and ``machine_shape`` as ``""``, written
  with ``json.dump(data, f, indent=2)``; the notebook named ``<slug>.ipynb``. The competition source is
  ``c/<slug>``, as the issue reports pulled files to hold it. ``PULLED_KEYS`` is checked against the real
  client in ``test_real_kernels.py``.
- :func:`repository_folder`: a kernel folder as repositories keep one: ``"competitions/<slug>"`` (the mount
  path's form), string booleans as in Kaggle's own docs example, no ``enable_internet``.
- :func:`notebook_beside_metadata`: a notebook among others, with the kernel-metadata.json that names it:
  two dataset sources and a kernel source.
- :func:`notebook_without_ids`: an nbformat 4.5 notebook whose cells have no ``id`` (older tools and hand
  edits write them so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PULLED_KEYS = (
    "id", "id_no", "title", "code_file", "language", "kernel_type", "is_private", "enable_gpu", "enable_tpu",
    "enable_internet", "keywords", "dataset_sources", "kernel_sources", "competition_sources", "model_sources",
    "docker_image", "machine_shape",
)  # fmt: skip


def _cell(kind: str, source: list[str], *, with_id: bool = False, number: int = 0) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if with_id:
        cell["id"] = f"c{number:07x}"
    if kind == "code":
        cell.update(execution_count=number or None, outputs=[])
    return cell


def notebook_json(cells: list[dict[str, Any]], *, minor: int = 4, kaggle: bool = True) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.12.12", "mimetype": "text/x-python"},
    }
    if kaggle:  # what Kaggle's editor keeps in a notebook it serves
        metadata["kaggle"] = {"accelerator": "none", "isInternetEnabled": False, "isGpuEnabled": False}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": minor}


def _code(source: str, number: int, *, with_id: bool = False) -> dict[str, Any]:
    return _cell("code", source.splitlines(keepends=True), with_id=with_id, number=number)


def pulled_folder(root: Path, owner: str = "me", slug: str = "titanic-baseline", **changes: Any) -> Path:
    """``kaggle kernels pull OWNER/SLUG -p ROOT/SLUG -m``: kernel-metadata.json and ``<slug>.ipynb``."""
    folder = root / slug
    folder.mkdir(parents=True)
    nb = notebook_json(
        [
            _cell("markdown", ["# Titanic baseline"], number=1),
            _code("import pandas as pd\nprint('rows', 3)\n", 1),
        ]
    )
    nb["cells"][1]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["rows 3\n"]}]
    (folder / f"{slug}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    data: dict[str, Any] = {
        "id": f"{owner}/{slug}",
        "id_no": 51234567,
        "title": slug.replace("-", " ").title(),
        "code_file": f"{slug}.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": False,
        "enable_tpu": False,
        "enable_internet": False,
        "keywords": [],
        "dataset_sources": [],
        "kernel_sources": [],
        "competition_sources": ["c/titanic"],
        "model_sources": [],
        "docker_image": "",
        "machine_shape": "",
    }
    data.update(changes)
    with open(folder / "kernel-metadata.json", "w") as f:  # as the client writes it
        json.dump(data, f, indent=2)
    return folder


def repository_folder(root: Path, owner: str = "me", slug: str = "house-prices-sub") -> Path:
    """A kernel folder in a repository: competition sources in the mount path's form, string booleans."""
    folder = root / "kernels" / slug
    folder.mkdir(parents=True)
    cells = [_code("import os\nprint(sorted(os.listdir('/kaggle/input')))\n", 1, with_id=True)]
    nb = notebook_json(cells, minor=5, kaggle=False)
    (folder / "main.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    meta = {
        "id": f"{owner}/{slug}",
        "title": slug.replace("-", " ").title(),
        "code_file": "main.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "is_private": "true",
        "enable_gpu": "false",
        "dataset_sources": [],
        "competition_sources": ["competitions/house-prices-advanced-regression-techniques"],
        "kernel_sources": [],
    }
    (folder / "kernel-metadata.json").write_text(json.dumps(meta, indent=4), encoding="utf-8")
    return folder


def notebook_beside_metadata(root: Path, owner: str = "me", slug: str = "cmi-inference") -> Path:
    """``notebooks/inference.ipynb`` with the kernel-metadata.json that names it (two datasets, one kernel
    output), beside another notebook it does not name. Returns the notebook's path."""
    folder = root / "notebooks"
    folder.mkdir(parents=True)
    cells = [_code("import pandas as pd\n", 1), _code("print(pd.__version__)\n", 2)]
    (folder / "inference.ipynb").write_text(json.dumps(notebook_json(cells), indent=1), encoding="utf-8")
    (folder / "eda.ipynb").write_text(json.dumps(notebook_json([_code("1 + 1\n", 1)])), encoding="utf-8")
    meta = {
        "id": f"{owner}/{slug}",
        "title": "CMI Inference",
        "code_file": "inference.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": True,
        "enable_internet": False,
        "dataset_sources": [f"{owner}/cmi-weights", "other/cmi-features"],
        "competition_sources": ["child-mind-institute-detect-sleep-states"],
        "kernel_sources": [f"{owner}/cmi-deps"],
        "model_sources": [],
    }
    (folder / "kernel-metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return folder / "inference.ipynb"


def notebook_without_ids(path: Path) -> Path:
    """An nbformat 4.5 notebook whose cells carry no ``id``."""
    cells = [_code("x = 21\n", 1), _code("print(x * 2)\n", 2)]
    path.write_text(json.dumps(notebook_json(cells, minor=5, kaggle=False), indent=1), encoding="utf-8")
    return path
