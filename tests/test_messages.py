"""Each message a user hit is one line naming the culprit, a hint with the fix, and the right exit code (2 for
bad input); through the CLI as a user runs it, and through the magics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kaggle_magics.cli import main
from kaggle_magics.errors import KaggleMagicsError
from tests.kernel_shapes import notebook_json

LONG = "n" * 300


def _error(capsys) -> list[str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.splitlines()


def _notebook(path: Path, **changes: object) -> Path:
    data = notebook_json([{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
                           "execution_count": None}])  # fmt: skip
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


# -- a name too long for the file system ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["push", "sub.ipynb", "--id", f"me/{LONG}", "--dry-run"],
        ["push", "sub.ipynb", "--id", "me/long-dir", "--dir", f"out/{LONG}", "--dry-run"],
        ["output", "me/never-pushed", "--dest", LONG, "--backend", "local"],
    ],
)
def test_a_300_character_name_is_one_line_and_exit_2(work: Path, capsys, argv: list[str]) -> None:
    _notebook(work / "sub.ipynb")
    code = main(argv)
    err = _error(capsys)
    assert code == 2, err
    shown = "'" + "n" * 24 + "..." + "n" * 16 + "'"
    assert err[0] == f"error: the name {shown} has 300 characters: file systems allow 255"
    assert err[1].startswith("hint: shorten it")


def test_a_300_character_output_name_in_a_batch_fails_that_file_only(work: Path, capsys) -> None:
    Path("pulled").mkdir()
    _notebook(work / "pulled" / "long.ipynb")
    meta = {"id": f"me/{LONG}", "code_file": "long.ipynb", "language": "python", "kernel_type": "notebook"}
    (work / "pulled" / "kernel-metadata.json").write_text(json.dumps(meta))
    _notebook(work / "short.ipynb")
    assert main(["convert", "pulled/long.ipynb", "short.ipynb", "--owner", "me", "--out", "out"]) == 1
    out = capsys.readouterr().out
    assert "ok     short.ipynb -> out/short" in out
    assert "FAILED pulled/long.ipynb: the name 'nnnnnnnnnnnnnnnnnnnnnnnn...nnnnnnnnnnnnnnnn' has 300 characters" in out


def test_the_magics_say_it_in_one_line_too(shell) -> None:
    _notebook(Path("sub.ipynb"))
    with pytest.raises(KaggleMagicsError) as info:
        shell.run(f"%kaggle_push sub.ipynb --id me/{LONG} --dry-run")
    assert info.value.exit_code == 2 and "has 300 characters" in info.value.message
    shown = shell.render_error(f"%kaggle_push sub.ipynb --id me/{LONG} --dry-run")
    assert "Traceback" not in shown and "PathError: the name" in shown


# -- a notebook that is not one --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "culprit"),
    [
        ({"cells": "x"}, 'not a valid notebook: "cells" must be a list of cells, not a str ("x")'),
        ({"cells": [5]}, "not a valid notebook: cell 1 is a int (5), not a cell object"),
        ({"cells": [{"cell_type": "code", "source": "x", "metadata": {}}]},
         "invalid notebook: cell 1: 'outputs' is a required property"),
        ({"nbformat": "4"}, 'not a valid notebook: "nbformat" (the format version, 4) is missing'),
    ],
)  # fmt: skip
def test_a_malformed_notebook_is_one_line_and_exit_2(work: Path, capsys, changes: dict, culprit: str) -> None:
    _notebook(work / "bad.ipynb", **changes)
    assert main(["push", "bad.ipynb", "--id", "me/bad-notebook", "--dry-run"]) == 2
    err = _error(capsys)
    assert err[0] == f"error: bad.ipynb: {culprit}", err
    assert err[1] == "hint: open it in Jupyter and save it again, or fix the JSON by hand"
    assert not Path("kaggle").exists()


def test_a_malformed_notebook_in_a_folder_on_the_local_kaggle(work: Path, capsys) -> None:
    folder = work / "k"
    folder.mkdir()
    _notebook(folder / "nb.ipynb", cells="x")
    meta = {"id": "me/bad-folder", "code_file": "nb.ipynb", "kernel_type": "notebook", "language": "python",
            "enable_internet": False}  # fmt: skip
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    assert main(["rehearse", "k"]) == 2
    err = _error(capsys)
    assert err[0] == 'error: k/nb.ipynb: not a valid notebook: "cells" must be a list of cells, not a str ("x")'



# -- things missing on the local Kaggle: said once, with a local fix ------------------------------------------
def _store() -> str:
    return os.environ["KAGGLE_MAGICS_STORE"]


@pytest.mark.parametrize("verb", ["status", "output"])
def test_a_kernel_missing_on_the_local_kaggle_is_said_once(work: Path, capsys, verb: str) -> None:
    assert main([verb, "me/never-pushed", "--backend", "local"]) == 1
    err = _error(capsys)
    assert err == [
        f"error: kernel me/never-pushed not found in the local store ({_store()})",
        "hint: push it to the local Kaggle first (kaggle-magics push PATH --backend local), or check the owner, "
        "slug and version",
    ]


def test_a_missing_version_on_the_local_kaggle_names_the_versions_there(work: Path, capsys) -> None:
    from tests.fixtures_local import make_kernel

    folder = make_kernel(work / "k", "me/one-version", ["x = 1"])
    assert main(["push", str(folder), "--no-run", "--backend", "local"]) == 0
    capsys.readouterr()
    for verb in ("status", "output"):
        assert main([verb, "me/one-version/7", "--backend", "local"]) == 1
        err = _error(capsys)
        assert err[0] == "error: version 7 of kernel me/one-version not found in the local store (it has version 1)"
        assert "kaggle.com" not in "".join(err)


def test_a_missing_competition_on_the_local_kaggle(work: Path, capsys) -> None:
    Path("submission.csv").write_text("id,target\n1,2\n")
    assert main(["submit", "--competition", "no-such-comp", "--file", "submission.csv", "--backend", "local"]) == 1
    assert _error(capsys) == [
        "error: competition 'no-such-comp' not found in the local store (it is not registered)",
        "hint: register its data first: kaggle-magics local competition add no-such-comp DIR",
    ]


def test_missing_sources_on_the_local_kaggle_each_get_their_command(work: Path, capsys) -> None:
    _notebook(work / "sub.ipynb")
    argv = ["push", "sub.ipynb", "--id", "me/needs-things", "--attach", "me/deps-kernel", "--dataset", "me/codes",
            "--competition", "no-comp", "--model", "me/weights/pyTorch/base/1", "--backend", "local"]  # fmt: skip
    assert main(argv) == 1
    error, hint = _error(capsys)
    assert error == (
        f"error: the local store ({_store()}) has no kernel me/deps-kernel, dataset me/codes, competition no-comp, "
        "model me/weights/pyTorch/base/1"
    )
    assert hint.split("; ") == [
        "hint: push me/deps-kernel first: kaggle-magics push PATH --id me/deps-kernel --backend local",
        "upload me/codes first: kaggle-magics dataset DIR --id me/codes --backend local",
        "register no-comp first: kaggle-magics local competition add no-comp DIR",
        "upload me/weights/pyTorch/base/1 first: kaggle-magics model DIR --handle me/weights/pyTorch/base --backend "
        "local",
    ]


# -- a typo gets the nearest flag or verb ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "first"),
    [
        (["push", "--dri-run"],
         "error: kaggle-magics push: unrecognized option '--dri-run': did you mean '--dry-run'?"),
        (["pus", "x"], "error: kaggle-magics: argument VERB: invalid choice 'pus': did you mean 'push'?"),
        (["status", "me/x-kernel", "--backend", "lcal"],
         "error: kaggle-magics status: argument --backend: invalid choice 'lcal': did you mean 'local'?"),
        (["local", "competition", "add", "comp", "data", "--lnk"],
         "error: kaggle-magics local competition add: unrecognized option '--lnk': did you mean '--link'?"),
        (["local", "competiton"], "error: kaggle-magics local: argument THING: invalid choice 'competiton': "
         "did you mean 'competition'?"),
        (["push", "--bogus"], "error: kaggle-magics push: unrecognized option '--bogus'"),
    ],
)  # fmt: skip
def test_a_typo_on_the_command_line_gets_the_nearest_flag_or_verb(capsys, argv: list[str], first: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = _error(capsys)
    assert err[0] == first
    assert err[1].startswith("hint: kaggle-magics") and err[1].endswith(" --help lists what it takes")


def test_a_typo_in_a_magic_gets_the_nearest_flag(shell) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=r"^unrecognized option '--internt': did you mean '--internet'\?$"):
        shell.run("%%kaggle_sub --id me/cmi-sub --internt\nx = 1\n")
    with pytest.raises(UsageError, match=r"invalid choice 'kagle': did you mean 'kaggle'\?"):
        shell.run("%kaggle_status me/cmi-sub --backend kagle")


def test_the_help_of_the_cell_magic_shows_it_as_a_cell_magic(shell) -> None:
    import contextlib
    import io

    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        shell.ip.run_cell("%%kaggle_sub?")
    assert "\n  %%kaggle_sub [--id OWNER/SLUG]" in shown.getvalue()
    assert "%kaggle_sub [" not in shown.getvalue().replace("%%kaggle_sub", "")


def test_every_result_reads_as_its_text_in_a_terminal() -> None:
    """IPython shows a magic's result by its repr() outside a notebook (and as the notebook's text/plain): every
    result object's repr is its text, never the dataclass' own list of fields."""
    import importlib
    import pkgutil

    import kaggle_magics
    from kaggle_magics.local.rehearse import Rehearsal
    from kaggle_magics.results import Result

    for module in pkgutil.walk_packages(kaggle_magics.__path__, "kaggle_magics."):
        if not module.name.startswith("kaggle_magics.panel"):  # ipywidgets: an extra
            importlib.import_module(module.name)

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    made_by_dataclass = [
        cls.__qualname__ for cls in subclasses(Result) if hasattr(cls.__dict__.get("__repr__"), "__wrapped__")
    ]
    assert made_by_dataclass == []
    rehearsal = Rehearsal(name="sub.ipynb", status="COMPLETE", total_seconds=1.5)
    assert repr(rehearsal) == str(rehearsal) and repr(rehearsal).startswith("run\n  name")


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["freeze", "-r", "nope.txt", "--dest", "deps"], "requirements file "),
        (["freeze", "tabulate>=", "--dest", "deps"], "error: 'tabulate>=' is not a requirement"),
        (["install", "tabulate>=", "--from", "BUNDLE"], "error: 'tabulate>=' is not a requirement: Expected"),
        (["install", "tabulate", "--from", "nope"], "error: --from nope: no such folder"),
        (["freeze", "tabulate", "--find-links", "nope", "--dest", "deps"], "error: --find-links nope: no such"),
        (["freeze", "--dest", "deps"], "error: nothing to freeze"),
    ],
)
def test_a_requirement_given_wrong_is_bad_input(
    work: Path, capsys, alpha_bundle: Path, argv: list[str], culprit: str
) -> None:
    argv = [str(alpha_bundle) if a == "BUNDLE" else a for a in argv]
    assert main(argv) == 2
    err = _error(capsys)
    assert len(err) == 2 and err[0].startswith("error: ") and culprit in err[0] and err[1].startswith("hint: ")
    assert not (work / "deps").exists()
