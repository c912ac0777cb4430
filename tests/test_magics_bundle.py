"""%kaggle_freeze and %kaggle_install (and their CLI verbs) wired to the bundle workflows: a bundle frozen from
locally built packages, installed offline into a fresh venv, a second install a no-op."""

from __future__ import annotations

from pathlib import Path

from kaggle_magics.cli import main
from tests.fixtures_bundle import installed_in


def test_freeze_then_install_through_the_magics(shell, bundle_env, make_venv) -> None:
    python = make_venv("target")
    frozen = shell.run(
        f"%kaggle_freeze kmt-alpha --find-links {bundle_env.links} --no-index --python-version 3.11 "
        "--platform manylinux_2_17_x86_64 --dest deps"
    )
    assert frozen.dest.resolve() == Path("deps").resolve()
    assert any(w.startswith("kmt-alpha==") for w in frozen.wheels)
    assert "nothing is left out" in str(frozen) or frozen.left_out == []

    installed = shell.run(f"%kaggle_install --from deps --python {python}")
    assert any(i.startswith("kmt-alpha==") for i in installed.installed), installed
    assert installed_in(python, "kmt-alpha")

    again = shell.run(f"%kaggle_install --from deps --python {python}")
    assert again.already_satisfied and again.installed == []


def test_capture_base_on_the_command_line(tmp_path: Path, capsys) -> None:
    base = tmp_path / "kaggle-base.txt"
    assert main(["freeze", "--capture-base", str(base)]) == 0
    lines = base.read_text().splitlines()
    assert any(line.lower().startswith(("ipython==", "pytest==")) for line in lines)


def test_install_with_no_bundle_says_what_the_input_root_holds(tmp_path: Path, capsys) -> None:
    root = tmp_path / "input"
    (root / "some-dataset").mkdir(parents=True)
    assert main(["install", "--input-root", str(root)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and "some-dataset" in err and "Traceback" not in err


def test_capture_base_refuses_requirements(tmp_path: Path, capsys) -> None:
    base = tmp_path / "kaggle-base.txt"
    assert main(["freeze", "--capture-base", str(base), "six"]) == 1
    assert "--capture-base writes a snapshot and freezes nothing, but 'six'" in capsys.readouterr().err
    assert not base.exists()
