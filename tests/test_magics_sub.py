"""%%kaggle_sub and %kaggle_push in a real IPython shell (dry runs; pushes are in test_push.py)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError

from kaggle_magics.errors import KaggleMagicsError, MetadataError

SUB = (
    "%%kaggle_sub --id me/cmi-sub --competition child-mind-institute-detect-sleep-states --attach me/cmi-deps "
    "--dataset me/cmi-codes --model me/cmi-models/pytorch/exp-001/1 --accelerator NvidiaTeslaT4 --dry-run\n"
    "import pandas as pd\n"
    'path = f"{pd.__name__}"  # $HOME and {braces} stay as written\n'
)


def _folder(path: Path) -> tuple[dict, nbformat.NotebookNode]:
    meta = json.loads((path / "kernel-metadata.json").read_text())
    nb = nbformat.read(path / meta["code_file"], as_version=4)
    return meta, nb


def test_dry_run_writes_a_kaggle_ready_folder(shell) -> None:
    result = shell.run(SUB)
    folder = Path("kaggle/cmi-sub")
    assert result.folder == folder and result.dry_run
    meta, nb = _folder(folder)
    assert meta["id"] == "me/cmi-sub" and meta["code_file"] == "cmi-sub.ipynb"
    assert meta["enable_internet"] is False
    assert meta["competition_sources"] == ["child-mind-institute-detect-sleep-states"]
    assert meta["kernel_sources"] == ["me/cmi-deps"]
    assert meta["dataset_sources"] == ["me/cmi-codes"]
    assert meta["model_sources"] == ["me/cmi-models/pytorch/exp-001/1"]
    assert meta["machine_shape"] == "NvidiaTeslaT4" and meta["enable_gpu"] is True
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].source.endswith('path = f"{pd.__name__}"  # $HOME and {braces} stay as written')
    html = result._repr_html_()
    assert "me/cmi-sub" in html and "kaggle/cmi-sub" in html


def test_the_cell_is_not_run_locally(shell) -> None:
    shell.run("%%kaggle_sub --id me/cmi-sub --dry-run\nraise SystemExit('ran locally')\n")
    assert Path("kaggle/cmi-sub/cmi-sub.ipynb").is_file()


def test_rewrite_replaces_the_folder_atomically(shell) -> None:
    shell.run("%%kaggle_sub --id me/cmi-sub --dry-run\nx = 1\n")
    shell.run("%%kaggle_sub --id me/cmi-sub --dry-run --internet\nx = 2\n")
    meta, nb = _folder(Path("kaggle/cmi-sub"))
    assert nb.cells[0].source == "x = 2" and meta["enable_internet"] is True
    assert sorted(p.name for p in Path("kaggle").iterdir()) == ["cmi-sub"], "no staging folder left behind"


def test_gpu_flag_and_public_and_title(shell) -> None:
    shell.run('%%kaggle_sub --id me/cmi-sub --gpu --public --title "CMI Sub" --dir out --dry-run\nx = 1\n')
    meta, _ = _folder(Path("out"))
    assert meta["machine_shape"] == "NvidiaTeslaT4" and meta["is_private"] is False and meta["title"] == "CMI Sub"


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("me/cmi-sub --wait      # live; then the log's tail", ["me/cmi-sub", "--wait"]),
        ("# all of it", []),
        ('--message "fix #3" --pattern a#b  # why', ["--message", "fix #3", "--pattern", "a#b"]),
        ("--pattern \\#x '# not a comment'", ["--pattern", "#x", "# not a comment"]),
    ],
)
def test_a_trailing_comment_is_left_out_as_a_shell_would(line: str, argv: list[str]) -> None:
    import shlex

    from kaggle_magics.magics import without_comment

    assert shlex.split(without_comment(line)) == argv


def test_a_magic_line_may_end_in_a_comment(shell) -> None:
    shell.run("%%kaggle_sub --id me/cmi-sub --dry-run   # it's only written\nx = 1\n")
    meta, nb = _folder(Path("kaggle/cmi-sub"))
    assert meta["id"] == "me/cmi-sub" and nb.cells[0].source == "x = 1"


def test_bad_arguments_are_usage_errors(shell) -> None:
    with pytest.raises(UsageError, match=r"^unrecognized option '--bogus'$"):
        shell.run("%%kaggle_sub --bogus\nx = 1\n")
    with pytest.raises(UsageError, match="cell magic"):
        shell.run("%kaggle_sub --id me/cmi-sub")


@pytest.mark.parametrize(
    ("line", "culprit"),
    [
        ("--id me/cmi-sub --accelerator A100", "unknown accelerator 'A100'"),
        ("--id me/abc", "shorter than 5"),
        ("--id me/cmi-sub --title abc", "title 'abc' is shorter than 5"),
        ("--id me/cmi-sub --model me/m/pytorch/v", "4 part"),
        ("--id cmi-sub", "names no owner"),
    ],
)
def test_domain_errors_show_one_line_and_a_hint_and_write_nothing(shell, line: str, culprit: str) -> None:
    cell = f"%%kaggle_sub {line} --dry-run\nx = 1\n"
    with pytest.raises(KaggleMagicsError, match=culprit):
        shell.run(cell)
    shown = shell.render_error(cell)
    assert "Traceback" not in shown and culprit in shown
    assert not Path("kaggle").exists() or not any(Path("kaggle").iterdir())


def test_config_traits_and_pyproject_defaults_flags_win(shell) -> None:
    Path("pyproject.toml").write_text(
        '[tool.kaggle_magics]\nowner = "proj"\ncompetition = "from-pyproject"\ndatasets = ["proj/codes"]\n'
    )
    shell.run("%%kaggle_sub --id cmi-sub --dry-run\nx = 1\n")
    meta, _ = _folder(Path("kaggle/cmi-sub"))
    assert meta["id"] == "proj/cmi-sub"
    assert meta["competition_sources"] == ["from-pyproject"] and meta["dataset_sources"] == ["proj/codes"]

    shell.run('%config KaggleMagics.owner = "me"')
    shell.run('%config KaggleMagics.accelerator = "NvidiaL4"')
    shell.run("%%kaggle_sub --id cmi-sub --competition from-flag --dry-run\nx = 1\n")
    meta, _ = _folder(Path("kaggle/cmi-sub"))
    assert meta["id"] == "me/cmi-sub", "%config wins over pyproject.toml"
    assert meta["competition_sources"] == ["from-flag"], "a flag wins over both"
    assert meta["machine_shape"] == "NvidiaL4"


def test_bad_pyproject_is_named(shell) -> None:
    Path("pyproject.toml").write_text('[tool.kaggle_magics]\nowner = "me"\ncompetiton = "x"\n')
    with pytest.raises(KaggleMagicsError, match="unknown key 'competiton'"):
        shell.run("%%kaggle_sub --id cmi-sub --dry-run\nx = 1\n")


def test_push_dry_run_of_a_notebook_never_touches_it(shell, tmp_path: Path) -> None:
    src = Path("my-sub.ipynb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')", execution_count=1)])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    nbformat.write(nb, src)
    before = src.read_bytes()
    result = shell.run("%kaggle_push my-sub.ipynb --id me/my-sub --competition comp --dry-run")
    assert src.read_bytes() == before, "the user's notebook is unchanged"
    assert any("kernelspec" in n for n in result.notes), "the missing kernelspec is fixed and said so"
    meta, pushed = _folder(Path("kaggle/my-sub"))
    assert pushed.metadata.kernelspec.name == "python3" and pushed.cells[0].outputs == []
    assert meta["enable_internet"] is False


def test_push_dry_run_of_a_percent_script(shell) -> None:
    Path("solve.py").write_text("# %%\nimport math\n\n# %%\nprint(math.pi)\n")
    shell.run("%kaggle_push solve.py --id me/solver --dry-run")
    _, nb = _folder(Path("kaggle/solver"))
    assert [c.source for c in nb.cells] == ["import math", "print(math.pi)"]


def test_push_of_a_folder_refuses_metadata_flags(shell) -> None:
    shell.run("%%kaggle_sub --id me/cmi-sub --dry-run\nx = 1\n")
    with pytest.raises(MetadataError, match="--competition cannot change an existing kernel folder"):
        shell.run("%kaggle_push kaggle/cmi-sub --competition comp")
