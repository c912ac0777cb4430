"""What an image twin is made of, decided without building or running anything: the packages of the base a
notebook and its attached code import (mapped from modules to distributions), what is left out and why, the
kernel machinery at the image's versions, the cache key, and the index it is built from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaggle_magics.bundle import read_base, shipped_base
from kaggle_magics.local import image
from kaggle_magics.local.image_build import Index, _index_args, pip_index
from tests.fixtures_local import make_notebook, make_wheel


@pytest.fixture
def python(monkeypatch: pytest.MonkeyPatch) -> image.Python:
    """A fixed interpreter, so that no discovery runs."""
    found = image.Python("/opt/python3.12/bin/python3.12", "3.12.9")
    monkeypatch.setattr(image, "choose_python", lambda version: (found, []))
    return found


def test_the_base_packages_a_notebook_imports_at_the_bases_versions(python: image.Python) -> None:
    nb = make_notebook([
        "import os, json, sqlite3\nimport numpy as np\nfrom sklearn.model_selection import KFold",
        "import cv2, yaml\nfrom PIL import Image\nimport kaggle_secrets",
        "try:\n    import cupy\nexcept ImportError:\n    cupy = None",
        "%%writefile utils.py\nimport polars\n",
        "import utils\nimport not_a_module_anywhere\nimport imp",
    ])  # fmt: skip
    plan = image.plan(nb, {}, shipped_base())
    base = shipped_base().packages
    imported = {"numpy", "scikit-learn", "opencv-python", "pyyaml", "pillow"}
    assert set(plan.requirements) == imported | {"ipykernel", "pip"}
    assert all(plan.requirements[name] == base[name] for name in plan.requirements)
    assert plan.requirements["ipykernel"] == "6.17.1" and plan.requirements["pip"] == "24.1.2"
    assert plan.imported["scikit-learn"] == "sklearn.model_selection" and plan.imported["pillow"] == "PIL"
    assert plan.constraints == base  # every pin of the image comes with them
    (note,) = plan.notes
    assert "not_a_module_anywhere (cell 5, line 2)" in note
    assert "imp (cell 5: gone from the standard library in Python 3.12)" in note
    assert "cupy" not in note and "utils" not in note and "kaggle_secrets" not in note
    assert plan.python == python and plan.path.name.startswith("py3.12-")


def test_attached_code_and_bundles(python: image.Python, tmp_path: Path) -> None:
    codes = tmp_path / "codes"
    (codes / "mylib").mkdir(parents=True)
    (codes / "mylib" / "__init__.py").write_text("import lightgbm\nfrom . import inner\nimport mylib.inner\n")
    (codes / "train.py").write_text("import catboost\nimport some_private_thing\n")
    bundle = tmp_path / "deps"
    make_wheel(bundle, "polars", "1.0")
    make_wheel(bundle, "tinyfeatures", "0.2")
    nb = make_notebook(
        ["import sys\nsys.path.append('/kaggle/input/codes')\nimport mylib, train\nimport polars, tinyfeatures"]
    )
    plan = image.plan(nb, {"codes": codes, "deps": bundle}, shipped_base())
    assert {"lightgbm", "catboost"} <= set(plan.requirements)
    # as on Kaggle: the image's polars is there, and the notebook's install of the bundle goes over it
    assert plan.requirements["polars"] == shipped_base().packages["polars"]
    assert "tinyfeatures" not in plan.requirements  # in no base: the attached bundle brings it, no warning
    assert plan.notes == [
        "the code of attached inputs imports modules no package of the base provides: some_private_thing"
    ]


def test_a_base_of_ones_own_and_the_image_for_what_it_lacks(python: image.Python, tmp_path: Path) -> None:
    base = tmp_path / "base.txt"
    base.write_text("# python 3.12\nnumpy==1.26.4\nmy-private-lib==0.1\n")
    plan = image.plan(make_notebook(["import numpy, my_private_lib, pandas"]), {}, read_base(base))
    assert plan.requirements["numpy"] == "1.26.4" and plan.requirements["my-private-lib"] == "0.1"
    assert plan.requirements["ipykernel"] == "6.17.1", "the kernel machinery comes from the image list"
    assert "pandas" not in plan.requirements and "pandas (cell 1, line 1)" in plan.notes[0]
    assert plan.constraints["numpy"] == "1.26.4" and plan.constraints["ipython"] == "7.34.0"
    assert plan.base == str(base)


def test_the_cache_key_is_the_python_and_the_package_set(python: image.Python) -> None:
    one = image.plan(make_notebook(["import numpy"]), {}, shipped_base())
    same = image.plan(make_notebook(["x = 1", "import numpy as np  # again"]), {}, shipped_base())
    other = image.plan(make_notebook(["import pandas"]), {}, shipped_base())
    assert one.key == same.key and one.key != other.key
    assert image.Plan.from_json(one.to_json()).key == one.key
    elsewhere = {"executable": "/usr/bin/python3.12", "version": "3.12.9"}
    moved = image.Plan.from_json({**one.to_json(), "python": elsewhere})
    assert moved.key != one.key


def test_a_missing_or_damaged_entry_is_not_used(
    python: image.Python, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_MAGICS_IMAGE_CACHE", str(tmp_path / "images"))
    plan = image.plan(make_notebook([]), {}, shipped_base())
    assert image.cached(plan) is None
    plan.path.mkdir(parents=True)
    (plan.path / image.MARKER).write_text("{}")
    assert image.cached(plan) is None, "a marker of another format"


def test_the_index_is_pips_when_uv_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = https://mirror.example/simple\nextra-index-url = https://extra.example/simple\n"
        f"find-links = {tmp_path / 'wheels'}\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    index = pip_index()
    assert index == Index(
        "https://mirror.example/simple", ("https://extra.example/simple",), (str(tmp_path / "wheels"),), False
    )
    args = _index_args(None)
    assert args[:2] == ["--index-url", "https://mirror.example/simple"]
    assert args[-2:] == ["--index-strategy", "unsafe-best-match"], "pip takes the best version of all indexes"
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")  # the variable wins over the file
    assert pip_index().index_url == "https://env.example/simple"
    monkeypatch.setenv("UV_INDEX_URL", "https://uv.example/simple")  # uv configured: it reads its own
    assert _index_args(None) == []
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert Index(no_index=True, find_links=("/w",)).uv_args() == ["--no-index", "--find-links", "/w"]


def test_after_a_missing_module_the_notes_say_where_it_would_come_from(python: image.Python, tmp_path: Path) -> None:
    from kaggle_magics.local.environment import ENV_FILE, missing_module_hints
    from kaggle_magics.local.store import write_json

    plan = image.plan(make_notebook(["import pandas"]), {}, shipped_base())
    write_json(tmp_path / ENV_FILE, {"env": "twin", "plan": plan.to_json(), "notes": []})
    pyarrow = shipped_base().packages["pyarrow"]
    (note,) = missing_module_hints(tmp_path, "ImportError: Missing optional dependency 'pyarrow'.  Use pip ...")
    assert note.startswith(f"pyarrow: pyarrow {pyarrow} is in the image") and "add `import pyarrow`" in note
    (note,) = missing_module_hints(tmp_path, "ModuleNotFoundError: No module named 'pytest'")
    assert note.startswith("pytest: pytest 8.4.2 is in the image")
    (note,) = missing_module_hints(tmp_path, "ModuleNotFoundError: No module named 'kaggle_magics'")
    assert note.startswith("kaggle_magics is installed in your environment, not in Kaggle's image")
    assert missing_module_hints(tmp_path, "ModuleNotFoundError: No module named 'nowhere_at_all'") == []
    assert missing_module_hints(tmp_path, "ZeroDivisionError: division by zero") == []
    write_json(tmp_path / ENV_FILE, {"env": "user", "notes": []})
    assert missing_module_hints(tmp_path, "ModuleNotFoundError: No module named 'pytest'") == []


@pytest.mark.parametrize("layout", ["nested", "flat"])
def test_a_competitions_data_is_not_code_the_twin_holds_packages_for(
    python: image.Python, tmp_path: Path, layout: str
) -> None:
    """A competition's files (its evaluation package, say) are data: in either layout the twin is the same."""
    from kaggle_magics import inputs

    data = tmp_path / "comp"
    (data / "kaggle_evaluation").mkdir(parents=True)
    (data / "kaggle_evaluation" / "relay.py").write_text("import grpc\nimport catboost\n")
    mount = inputs.competition_path("some-comp", layout)
    nb = make_notebook(["import numpy"])
    plan = image.plan(nb, {mount: data}, shipped_base(), competitions=[mount])
    assert "catboost" not in plan.requirements and "numpy" in plan.requirements
    assert plan.key == image.plan(nb, {}, shipped_base()).key
