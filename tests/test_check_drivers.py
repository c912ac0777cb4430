"""A notebook that drives kaggle-magics from a laptop (it pushes with %%kaggle_sub, rehearses, uploads) is not a
submission: the check reads each %%kaggle_sub cell as the kernel it pushes, with its magic line and the
%config settings before it, and finds there what Kaggle would find."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.test_check import run_check, verdict, write_notebook

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"


def test_no_example_notebook_gets_a_false_error(capsys: pytest.CaptureFixture[str]) -> None:
    notebooks = sorted(EXAMPLES.glob("*.ipynb"))
    code, report = run_check(capsys, *map(str, notebooks))
    assert code == 0, [(f["path"], f["findings"]) for f in report["files"] if f["errors"]]
    subs = sum(
        cell.source.lstrip().startswith("%%kaggle_sub")
        for path in notebooks
        for cell in nbformat.read(path, as_version=4).cells
    )
    drivers = [f for f in report["files"] if f["kind"] == "driver notebook"]
    pushed = [f for f in report["files"] if f["kind"] == "the kernel this cell pushes"]
    assert len(drivers) == len(notebooks) and len(pushed) == subs >= 3
    assert any("%%kaggle_sub --id me/example-sub" in f["path"] and not f["internet"] for f in pushed)
    assert any("%%kaggle_sub --id me/example-deps" in f["path"] and f["internet"] for f in pushed)


def test_each_pushed_cell_is_checked_with_its_line_and_the_config_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "driver.ipynb", [
        '%load_ext kaggle_magics\n%config KaggleMagics.owner = "me"\n%config KaggleMagics.competition = "comp"',
        "%%kaggle_sub --id me/online --internet\n!pip install your-feature-lib\nimport your_feature_lib",
        "%%kaggle_sub --id me/offline  # the submission\nimport pandas\n!pip install your-feature-lib",
        "%kaggle_status me/offline --wait",
    ])  # fmt: skip
    code, report = run_check(capsys, str(path))
    assert code == 1
    driver, online, offline = report["files"]
    assert driver["kind"] == "driver notebook" and driver["findings"] == []
    assert "%%kaggle_sub, %kaggle_status" in driver["notes"][0]
    # The internet is on in the first: its pip install is fine; the competition came from %config.
    assert online["path"].endswith("cell 3 (%%kaggle_sub --id me/online)") and online["competition"]
    assert online["errors"] == 0, online["findings"]
    # The second pushes with the internet off: its !pip install is what Kaggle would fail, named where it is.
    assert ("internet", "error", None, 3) in verdict(offline)
    found = next(f for f in offline["findings"] if f["kind"] == "internet")
    assert found["label"] == "cell 4" and "%kaggle_freeze your-feature-lib" in found["fix"]


def test_a_magic_line_the_magic_would_refuse_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_notebook(tmp_path / "driver.ipynb", ["%%kaggle_sub --id me/sub --compettion comp\nx = 1"])
    code, report = run_check(capsys, str(path))
    assert code == 1
    (finding,) = report["files"][1]["findings"]
    assert finding["what"].startswith("the %%kaggle_sub line is refused:") and "--competition" in finding["what"]


def test_a_deps_notebook_that_runs_on_kaggle_is_still_checked_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """%kaggle_freeze and %kaggle_install run on Kaggle itself: such a notebook is what Kaggle runs."""
    path = write_notebook(tmp_path / "deps.ipynb", ["%load_ext kaggle_magics", "%kaggle_freeze polars"])
    code, report = run_check(capsys, str(path))
    (only,) = report["files"]
    assert only["kind"] == "notebook" and code == 1  # no internet given, no kaggle-magics installed first


def test_the_pushed_cells_are_checked_against_the_checks_own_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--base (and the input root, the bundles) hold for the kernels a driver pushes, as for any file."""
    base = tmp_path / "kaggle-base.txt"
    base.write_text("pandas==2.2.3\nipykernel==6.17.1\n")
    path = write_notebook(tmp_path / "driver.ipynb", ["%%kaggle_sub --id me/offline\nimport pandas\nimport polars"])
    code, report = run_check(capsys, str(path), "--base", str(base))
    driver, pushed = report["files"]
    assert pushed["base"] == driver["base"] and str(base) in pushed["base"]
    assert code == 1 and ("import", "error", None, 3) in verdict(pushed)  # polars: in the shipped list, not here
