"""The CLI in process: ``main([...])`` returns the exit code; errors are one line plus a hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kaggle_magics.cli import main


def test_push_dry_run_of_a_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    Path("solve.py").write_text("# %%\nprint(1)\n")
    assert main(["push", "solve.py", "--id", "me/solver", "--competition", "comp", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "me/solver" in out
    meta = json.loads(Path("kaggle/solver/kernel-metadata.json").read_text())
    assert meta["enable_internet"] is False and meta["competition_sources"] == ["comp"]


def test_errors_are_one_line_with_a_hint_and_an_exit_code(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kernel-metadata.json").write_text('{"id": "me/cmi-sub", "code_file": "x.ipynb", "titel": "x"}')
    assert main(["push", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"error: {folder}/kernel-metadata.json: unknown key 'titel'"
    assert err.splitlines()[1] == "hint: did you mean 'title'?"
    assert "Traceback" not in err


def test_missing_path(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["push", "nope.ipynb", "--id", "me/solver"]) == 2
    assert "nope.ipynb: no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["dataset", "no-such-dir", "--id", "me/codes", "--backend", "local"], "dataset folder 'no-such-dir'"),
        (["dataset", "empty", "--id", "me/codes", "--backend", "local"], "dataset folder 'empty' holds no files"),
        (["model", "no-such-dir", "--handle", "me/m/pyTorch/v1", "--backend", "local"], "model folder 'no-such-dir"),
        (["model", "empty", "--handle", "me/m/pyTorch/v1", "--backend", "local"], "model folder 'empty' is empty"),
        (["submit", "--competition", "comp", "--file", "nope.csv", "--backend", "local"], "submission file 'nope.csv'"),
        (["local", "competition", "add", "comp", "no-such-dir"], "competition data folder 'no-such-dir' not found"),
    ],
)
def test_a_missing_or_empty_input_is_bad_input(tmp_path: Path, monkeypatch, capsys, argv, culprit) -> None:
    """Exit 2, as for a missing notebook: the command was given something that is not there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert culprit in err.splitlines()[0] and err.splitlines()[1].startswith("hint: ")


def test_bad_flag_is_an_argparse_error(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["push", "--accelerator"])
    assert info.value.code == 2


def test_console_script_and_module_entry_points() -> None:
    for argv in (["kaggle-magics", "--version"], [sys.executable, "-m", "kaggle_magics", "--version"]):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        assert out.startswith("kaggle-magics ")


def test_every_verb_has_help(capsys) -> None:
    from kaggle_magics.cli import VERBS

    for verb in VERBS:
        with pytest.raises(SystemExit) as info:
            main([verb, "--help"])
        assert info.value.code == 0
        assert f"usage: kaggle-magics {verb}" in capsys.readouterr().out


def test_convert_batch_reports_each_file_and_keeps_going(tmp_path: Path, monkeypatch, capsys) -> None:
    import nbformat

    monkeypatch.chdir(tmp_path)
    Path("feature-eng.py").write_text("# %%\nprint(1)\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), "train-model.ipynb")
    Path("broken.ipynb").write_text("{bad")
    argv = ["convert", "feature-eng.py", "train-model.ipynb", "broken.ipynb", "--owner", "me", "--competition", "comp"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAILED broken.ipynb" in out and "converted  2" in out
    for slug in ("feature-eng", "train-model"):
        meta = json.loads(Path(f"kaggle/{slug}/kernel-metadata.json").read_text())
        assert meta["id"] == f"me/{slug}" and meta["enable_internet"] is False
        nb = json.loads(Path(f"kaggle/{slug}/{slug}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert main([*argv, "--warn-only"]) == 0
