"""What the check reads of the attached sources: an input root laid out like /kaggle/input, the local Kaggle's
store, ``--bundle`` folders; what it cannot read is "not seen" (a warning), never an error. The example
notebooks (the demo's) pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kaggle_magics.bundle import install_cell_source
from kaggle_magics.cli import main
from tests.fixtures_local import make_kernel
from tests.test_check import run_check, verdict, write_notebook

SOURCES = {
    "competition_sources": ["comp-x"],
    "dataset_sources": ["me/codes"],
    "kernel_sources": ["me/deps-kernel"],
    "model_sources": ["me/deb/pyTorch/base/1"],
}
CELLS = [
    install_cell_source(["me/deps-kernel"]),
    "import sys\nsys.path.append('/kaggle/input/datasets/me/codes')\nimport mycode\nimport kmt_alpha\n"
    "import numpy as np\nimport pandas as pd\n",
    "train = pd.read_csv('/kaggle/input/competitions/comp-x/train.csv')\n"
    "weights = '/kaggle/input/models/me/deb/pytorch/base/1/model.pt'\n",
    "pd.DataFrame({'id': [1]}).to_csv('/kaggle/working/submission.csv', index=False)\n",
]


@pytest.fixture
def input_root(tmp_path: Path, alpha_bundle: Path) -> Path:
    """A folder laid out as Kaggle mounts the four sources today."""
    root = tmp_path / "input"
    (root / "competitions" / "comp-x").mkdir(parents=True)
    (root / "competitions" / "comp-x" / "train.csv").write_text("id,x\n1,2\n")
    (root / "datasets" / "me" / "codes").mkdir(parents=True)
    (root / "datasets" / "me" / "codes" / "mycode.py").write_text("X = 1\n")
    shutil.copytree(alpha_bundle, root / "notebooks" / "me" / "deps-kernel" / "kaggle_deps")
    (root / "models" / "me" / "deb" / "pytorch" / "base" / "1").mkdir(parents=True)
    return root


def test_a_clean_kernel_using_every_kind_of_source(tmp_path: Path, input_root: Path, capsys) -> None:
    folder = make_kernel(tmp_path / "sub", "me/sub-kernel", CELLS, **SOURCES)
    code, result = run_check(capsys, str(folder), "--input-root", str(input_root))
    [report] = result["files"]
    assert code == 0 and report["findings"] == [], report["findings"]
    assert all(s["seen"] for s in report["sources"]) and len(report["sources"]) == 4
    assert {s["path"] for s in report["sources"]} == {
        "/kaggle/input/competitions/comp-x", "/kaggle/input/datasets/me/codes",
        "/kaggle/input/notebooks/me/deps-kernel", "/kaggle/input/models/me/deb/pytorch/base/1",
    }  # fmt: skip
    resolved = {i["module"]: i["resolved"] for i in report["imports"]}
    assert resolved["mycode"] == "files of dataset me/codes"
    assert resolved["kmt_alpha"].startswith("bundle of kernel me/deps-kernel: kmt-alpha==1.0")
    assert resolved["numpy"].startswith("image: numpy==") and resolved["sys"] == "standard library"


def test_what_cannot_be_read_is_not_seen_never_an_error(tmp_path: Path, capsys) -> None:
    folder = make_kernel(tmp_path / "sub", "me/sub-kernel", CELLS, **SOURCES)
    code, result = run_check(capsys, str(folder), "--backend", "kaggle")
    [report] = result["files"]
    assert code == 0 and not any(s["seen"] for s in report["sources"])
    assert verdict(report) == {("import", "warning", 2, 3), ("import", "warning", 2, 4)}
    assert all(f["what"].startswith("not seen: ") for f in report["findings"])


def test_the_layout_checked_is_the_configured_one(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = make_kernel(tmp_path / "sub", "me/sub-kernel", ["open('/kaggle/input/comp-x/train.csv')\n" + CELLS[3]],
                         competition_sources=["comp-x"])  # fmt: skip
    code, result = run_check(capsys, str(folder))
    assert code == 1 and verdict(result["files"][0]) == {("path", "error", 1, 1)}
    (tmp_path / "pyproject.toml").write_text('[tool.kaggle_magics]\ninput_layout = "flat"\n')
    monkeypatch.chdir(tmp_path)
    code, result = run_check(capsys, str(folder))
    assert code == 0 and result["files"][0]["layout"] == "flat" and result["files"][0]["findings"] == []
    code, result = run_check(capsys, str(folder), "--input-layout", "nested")  # the flag wins
    assert code == 1 and result["files"][0]["layout"] == "nested"


def test_sources_in_the_local_store_are_read(tmp_path: Path, alpha_bundle: Path, capsys) -> None:
    from kaggle_magics.handles import DatasetRef
    from kaggle_magics.local.admin import add_competition
    from kaggle_magics.local.backend import LocalBackend

    store = tmp_path / "store"
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("id,x\n1,2\n")
    add_competition("comp-x", data, store)
    codes = tmp_path / "codes"
    shutil.copytree(alpha_bundle, codes / "kaggle_deps")
    (codes / "mycode.py").write_text("X = 1\n")
    LocalBackend(store).dataset_upload(codes, DatasetRef("me", "codes"))
    nb = write_notebook(
        tmp_path / "nb" / "sub.ipynb",
        [install_cell_source(["me/codes"]), "import mycode, kmt_alpha\nimport kmt_gamma\n",
         "import pandas as pd\npd.read_csv('/kaggle/input/competitions/comp-x/train.csv').to_csv('submission.csv')\n"],
    )  # fmt: skip
    args = [str(nb), "--competition", "comp-x", "--dataset", "me/codes"]
    code, result = run_check(capsys, *args, "--backend", "local", "--store", str(store))
    [report] = result["files"]
    assert all(s["seen"] for s in report["sources"])
    # read from the store: kmt-gamma is in neither the image nor the dataset's bundle, for sure
    assert code == 1 and verdict(report) == {("import", "error", 3, 2)}
    resolved = {i["module"]: i["resolved"] for i in report["imports"]}
    assert resolved["kmt_alpha"].startswith("bundle of dataset me/codes")
    # on kaggle.com the dataset cannot be read offline: the same import is only "not seen"
    code, result = run_check(capsys, *args, "--backend", "kaggle")
    assert code == 0 and {f["severity"] for f in result["files"][0]["findings"]} == {"warning"}


def test_a_source_missing_from_the_local_store_is_named_with_how_to_add_it(tmp_path: Path, capsys) -> None:
    nb = write_notebook(tmp_path / "sub.ipynb", ["import kmt_alpha\n"])
    args = [str(nb), "--attach", "me/deps-kernel"]
    code, result = run_check(capsys, *args, "--backend", "local", "--store", str(tmp_path / "store"))
    [finding] = result["files"][0]["findings"]
    assert code == 0 and finding["severity"] == "warning"
    assert finding["what"].endswith("it may come from kernel me/deps-kernel, not in the local store")
    assert "check against the local Kaggle" not in finding["fix"]  # it just did
    assert finding["fix"].startswith("pass --bundle DIR (the folder a freeze wrote), or add them to the local Kaggle")
    code, result = run_check(capsys, *args, "--backend", "kaggle")
    assert result["files"][0]["findings"][0]["fix"].endswith("or check against the local Kaggle (--backend local)")


@pytest.mark.slow
def test_an_attached_kernels_output_in_the_store_is_read(local_world, tmp_path: Path, capsys) -> None:
    from kaggle_magics.status import status
    from kaggle_magics.waiting import Poll
    from tests.fixtures_workflow import WORKFLOW_RUN

    done = status(local_world.backend, WORKFLOW_RUN, wait=True, timeout=120, poll=Poll(first=0.2, most=1),
                  display=False)  # fmt: skip
    assert done.status == "COMPLETE", done.log_tail
    nb = write_notebook(tmp_path / "sub.ipynb", ["import kmt_alpha\n"])
    args = [str(nb), "--attach", WORKFLOW_RUN.id]
    code, result = run_check(capsys, *args, "--backend", "local", "--store", str(local_world.store))
    [report] = result["files"]
    assert report["sources"][0]["seen"], report["sources"]
    assert code == 1 and verdict(report) == {("import", "error", 2, 1)}  # its output holds no bundle: sure
    code, result = run_check(capsys, *args, "--backend", "kaggle")
    assert code == 0 and verdict(result["files"][0]) == {("import", "warning", 2, 1)}  # cannot be read: not seen


def test_the_demo_notebooks_pass(tmp_path: Path, capsys) -> None:
    from kaggle_magics import demo
    from kaggle_magics.metadata import KernelMetadata

    deps = demo._deps_kernel(tmp_path / "deps", demo.DEMO_REQUIREMENTS, [], False, [])
    code, result = run_check(capsys, str(deps))
    assert code == 0 and result["files"][0]["findings"] == [], result["files"][0]["findings"]
    sub = tmp_path / "sub"
    sub.mkdir()
    meta = KernelMetadata(
        id=demo.SUBMISSION.id, title=demo.SUBMISSION.slug, code_file="sub.ipynb",
        competition_sources=[demo.COMPETITION.slug], kernel_sources=[demo.DEPS.id],
    )  # fmt: skip
    meta.write(sub)
    write_notebook(sub / "sub.ipynb", [install_cell_source([demo.DEPS.id]), demo._submission_code(["tabulate"])])
    code, result = run_check(capsys, str(sub), "--backend", "kaggle")
    assert code == 0 and result["files"][0]["findings"] == [], result["files"][0]["findings"]


def test_a_bundle_folder_stands_for_the_attached_deps(tmp_path: Path, alpha_bundle: Path, capsys) -> None:
    nb = write_notebook(tmp_path / "sub.ipynb", ["import kmt_alpha\n"])
    assert main(["check", str(nb), "--deps", "me/deps-kernel", "--bundle", str(alpha_bundle)]) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert main(["check", str(nb), "--bundle", str(empty)]) == 2
    assert "no bundle in it" in capsys.readouterr().err
