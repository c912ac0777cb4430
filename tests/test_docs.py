"""The README keeps up with the code: every magic and every command-line verb is in it, with help."""

from __future__ import annotations

import re
from pathlib import Path

from kaggle_magics.cli import LOCAL_COMPETITION_VERBS, LOCAL_IMAGE_VERBS, VERBS

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_magic_is_documented(shell) -> None:
    names = [n for n in shell.ip.magics_manager.magics["line"] if n.startswith("kaggle_")]
    assert len(names) >= 10
    for name in names:
        assert f"%{name}" in README, f"%{name} is missing from README.md"
    for name in shell.ip.magics_manager.magics["cell"]:
        if name.startswith("kaggle_"):
            assert f"%%{name}" in README


def test_every_verb_is_documented() -> None:
    for verb in VERBS:
        assert f"kaggle-magics {verb}" in README, f"kaggle-magics {verb} is missing from README.md"
    for verb in LOCAL_COMPETITION_VERBS:
        assert f"kaggle-magics local competition {verb}" in README
    for verb in LOCAL_IMAGE_VERBS:
        assert f"kaggle-magics local image {verb}" in README


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_command() -> None:
    assert "pip install . && kaggle-magics demo" in README
    test_command = 'pip install -e ".[test]" && python -m tests.wheelhouse && python -m pytest'
    assert test_command in README
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert f"\n{test_command}\n" in ci, ".ci/run must run exactly the README's test command"


def test_every_option_of_rehearse_is_documented() -> None:
    from kaggle_magics.options import REHEARSE

    for names, _ in REHEARSE:
        flag = names[-1]
        if flag.startswith("--"):
            assert f"`{flag}" in README, f"rehearse's {flag} is missing from README.md"


def test_the_reference_table_lists_every_verb_and_option_as_the_code_has_them() -> None:
    """README.md's reference is made from the option lists the parsers are built from: a verb or option added,
    renamed or dropped without `python -m tests.readme_reference` fails here."""
    from tests import readme_reference

    shown = readme_reference.current(README)
    assert shown is not None, "README.md has lost its reference block"
    assert shown == readme_reference.block(), "README.md's reference is stale: run `python -m tests.readme_reference`"
    from kaggle_magics import options as opts

    for names, _ in [*opts.PUSH, *opts.FREEZE, *opts.CHECK, *opts.REHEARSE, *opts.PANEL]:
        assert f"`{max(names, key=len)}" in shown or not names[0].startswith("-")


def test_every_magic_line_of_the_readme_parses_as_written(shell) -> None:
    """The README's examples are copied into notebooks as they are, trailing comments included."""
    from IPython.core.error import UsageError

    from kaggle_magics.magics import parse_argstring

    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith("%kaggle_")
             or line.startswith("%%kaggle_")]  # fmt: skip
    assert len(lines) >= 10 and any("#" in line for line in lines)
    registry = shell.ip.magics_manager.magics
    for line in lines:
        name, _, rest = line.lstrip("%").partition(" ")
        magic = registry["cell" if line.startswith("%%") else "line"][name]
        try:
            parse_argstring(magic, rest)
        except UsageError as exc:
            raise AssertionError(f"README.md: {line!r}: {exc}") from None
