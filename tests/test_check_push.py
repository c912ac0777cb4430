"""The check where it runs for the user: before every push (errors stop it unless ``--no-check``), before
``%%kaggle_sub``, and as ``%kaggle_check`` on the notebook it runs in (its file, or the shell's history)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaggle_magics.cli import main
from kaggle_magics.errors import CheckFailed
from tests.fixtures_local import make_kernel
from tests.test_check import write_notebook

GOOD = "import pandas as pd\npd.DataFrame({'id': [1]}).to_csv('submission.csv', index=False)\n"


def _fresh_history(ip) -> None:
    """The test shell is shared: start this test's history at In [1], as a new session does."""
    ip.history_manager.reset(new_session=True)
    ip.execution_count = 1


@pytest.fixture
def competition(tmp_path: Path, monkeypatch) -> Path:
    """A local store holding the competition comp-x, the store every push of these tests goes to."""
    from kaggle_magics.local.admin import add_competition

    store = tmp_path / "store"
    data = tmp_path / "comp-data"
    data.mkdir()
    (data / "train.csv").write_text("id,x\n1,2\n")
    add_competition("comp-x", data, store)
    monkeypatch.setenv("KAGGLE_MAGICS_STORE", str(store))
    return store


def _versions(store: Path, slug: str) -> list[str]:
    folder = store / "kernels" / "me" / slug / "versions"
    return sorted(p.name for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


def test_an_error_stops_the_push_and_says_why(tmp_path: Path, competition: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    store = competition
    write_notebook(Path("sub.ipynb"), ["import polarsx\n", GOOD])
    args = ["push", "sub.ipynb", "--id", "me/sub-kernel", "--competition", "comp-x", "--backend", "local",
            "--no-run"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the check found 1 error(s) in sub.ipynb, nothing pushed:\n")
    assert "  check: cell 2, line 1: error [import] ModuleNotFoundError: no module named 'polarsx'" in err
    assert "hint: fix them (kaggle-magics check shows them all), or push anyway with --no-check" in err
    assert _versions(store, "sub-kernel") == []
    assert main([*args, "--no-check"]) == 0
    assert _versions(store, "sub-kernel") == ["1"]


def test_warnings_are_shown_and_the_push_goes_on(tmp_path: Path, competition: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write_notebook(Path("sub.ipynb"), ["import pandas as pd\npreds = pd.DataFrame()\n"])
    assert main(["push", "sub.ipynb", "--id", "me/sub-kernel", "--competition", "comp-x", "--backend", "local",
                 "--no-run"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "check: notebook: warning [submission] not seen: no write of submission.csv" in out
    assert _versions(competition, "sub-kernel") == ["1"]


def test_a_dry_run_shows_the_errors_and_keeps_the_users_cell_numbers(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write_notebook(Path("sub.ipynb"), ["import polarsx\n", GOOD])
    assert main(["push", "sub.ipynb", "--id", "me/sub-kernel", "--competition", "comp-x", "--deps",
                 "me/deps-kernel", "--backend", "kaggle", "--dry-run"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    # the install cell that --deps puts first does not shift the cells the user knows
    assert "check: cell 2, line 1: warning [import] not seen: `polarsx`" in out
    nb = json.loads(Path("kaggle/sub-kernel/sub-kernel.ipynb").read_text())
    assert "install_main" in "".join(nb["cells"][0]["source"])
    write_notebook(Path("bad.ipynb"), ["import polarsx\n", GOOD])
    assert main(["push", "bad.ipynb", "--id", "me/bad-kernel", "--competition", "comp-x", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "check: cell 2, line 1: error [import]" in out
    assert "check: 1 error(s): a push would stop here (--no-check pushes anyway)" in out


def test_a_kernel_folders_push_is_checked_too(tmp_path: Path, competition: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    folder = make_kernel(tmp_path / "k", "me/sub-kernel", ["!pip install polarsx\n", GOOD],
                         competition_sources=["comp-x"])  # fmt: skip
    assert main(["push", str(folder), "--dry-run", "--dir", "out"]) == 0
    assert "check: cell 1, line 1: error [internet]" in capsys.readouterr().out
    assert main(["push", str(folder), "--backend", "local", "--no-run"]) == 1
    assert "`%kaggle_freeze polarsx`" in capsys.readouterr().err
    assert _versions(competition, "sub-kernel") == []


def test_kaggle_sub_checks_its_cell_first(shell) -> None:
    with pytest.raises(CheckFailed) as info:
        shell.run("%%kaggle_sub --id me/sub-kernel --competition comp-x --backend local\nimport polarsx\n" + GOOD)
    assert "this cell, line 2: error [import]" in info.value.message  # line 1 is the %%kaggle_sub line
    assert not Path("kaggle/sub-kernel").exists()
    shown = shell.render_error("%%kaggle_sub --id me/sub-kernel --competition comp-x\nimport polarsx\n" + GOOD)
    assert "CheckFailed: the check found 1 error(s) in this cell" in shown and "Traceback" not in shown
    result = shell.run("%%kaggle_sub --id me/sub-kernel --competition comp-x --no-check --dry-run\nimport polarsx\n")
    assert result.dry_run and Path("kaggle/sub-kernel/sub-kernel.ipynb").is_file()


def test_kaggle_check_reads_the_shells_history(shell) -> None:
    ip = shell.ip
    _fresh_history(ip)
    for cell in ("%load_ext kaggle_magics", "import numpy as np", "!pip install polarsx", "x = 1\nimport polarsx",
                 "x = 1\nimport polarsx", "%kaggle_check --competition comp-x"):  # fmt: skip
        ip.run_cell(cell, store_history=True)
    result = ip.run_cell("%kaggle_check --competition comp-x --backend kaggle", store_history=True).result
    [report] = result.files
    assert report.kind == "history" and "read from this shell's history: the 3 cells" in report.notes[-1]
    # kaggle-magics' own cells (In [1], In [6]) are the tool at work, not the notebook's code
    assert {(f.label, f.line, f.kind, f.severity) for f in report.findings} == {
        ("In [3]", 1, "internet", "error"),  # the pip line
        ("In [5]", 2, "import", "error"),  # polarsx: once, at the cell's last run
        (None, None, "submission", "warning"),
    }
    assert result.exit_code == 1 and "<table>" in result._repr_html_()


def test_kaggle_check_reads_the_notebook_file_when_the_front_end_names_it(shell, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "open.ipynb", ["import polarsx\n", GOOD])
    shell.ip.user_ns["__session__"] = str(nb)
    try:
        result = shell.run("%kaggle_check --competition comp-x --backend kaggle")
    finally:
        del shell.ip.user_ns["__session__"]
    [report] = result.files
    assert report.path == str(nb) and report.notes[-1].startswith(f"read from {nb} as last saved")
    assert [(f.cell, f.line, f.kind) for f in report.findings] == [(2, 1, "import")]
    path_result = shell.run(f"%kaggle_check {nb} --competition comp-x --format json")
    assert json.loads(str(path_result))["files"][0]["errors"] == 1


def test_kaggle_check_inside_kaggle_reads_what_is_mounted(shell, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "input"
    (root / "competitions" / "comp-x").mkdir(parents=True)
    (root / "datasets" / "me" / "codes").mkdir(parents=True)
    (root / "datasets" / "me" / "codes" / "mycode.py").write_text("X = 1\n")
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    monkeypatch.setenv("KAGGLE_MAGICS_INPUT_ROOT", str(root))
    ip = shell.ip
    _fresh_history(ip)
    ip.run_cell("import sys\nsys.path.append('/kaggle/input/datasets/me/codes')", store_history=True)
    ip.run_cell("open('/kaggle/input/competitions/comp-x/train.csv')\nopen('/kaggle/input/other/x.csv')",
                store_history=True)  # fmt: skip
    ip.run_cell("import mycode\n" + GOOD, store_history=True)
    result = ip.run_cell("%kaggle_check", store_history=True).result
    [report] = result.files
    assert {s.source for s in report.sources} == {"comp-x", "me/codes"} and all(s.seen for s in report.sources)
    assert [(f.label, f.kind, f.severity, f.line) for f in report.findings] == [("In [2]", "path", "error", 2)]
    assert "no notebook file found" not in report.notes[-1]


def test_push_takes_the_notebooks_kaggle_writes(tmp_path: Path, monkeypatch, capsys) -> None:
    """Kaggle's editor writes nbformat 4.4 notebooks whose cells carry ids; nbformat alone rejects them."""
    monkeypatch.chdir(tmp_path)
    nb = json.loads(write_notebook(Path("dl.ipynb"), [GOOD]).read_text())
    nb["nbformat_minor"] = 4
    del nb["cells"][0]["id"]  # some cells with ids, some without
    Path("dl.ipynb").write_text(json.dumps(nb))
    assert main(["push", "dl.ipynb", "--id", "me/dl-kernel", "--dry-run"]) == 0, capsys.readouterr().err
    pushed = json.loads(Path("kaggle/dl-kernel/dl-kernel.ipynb").read_text())
    assert pushed["nbformat_minor"] == 5 and all(cell.get("id") for cell in pushed["cells"])
