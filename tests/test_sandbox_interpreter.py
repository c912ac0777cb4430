"""The bubblewrap box runs the interpreter of a venv made from a python that is itself a link in a folder of
its own (``~/bin/python3 -> /usr/bin/python3``; a venv records that path): the exec follows every link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import kaggle_magics

PROBE = """
import subprocess, sys
from pathlib import Path
from kaggle_magics.local import sandbox
root = Path(sys.argv[1])
layout = sandbox.Layout(inputs={}, working=root / "out", scratch=root / "scratch", rw_paths=[root], internet=False)
box = sandbox.build(layout, "bwrap")
done = subprocess.run([*box.argv, sys.executable, "-c", "import sys; print('inside', sys.prefix)"],
                      capture_output=True, text=True)
print(done.stdout.strip() or done.stderr.strip())
"""


@pytest.mark.requires("bwrap")
def test_a_venv_whose_python_is_a_link_elsewhere_runs_in_the_box(tmp_path: Path) -> None:
    links = tmp_path / "my-bin"
    links.mkdir()
    (links / "python3").symlink_to(Path(sys.executable).resolve())
    venv = tmp_path / "venv"
    subprocess.run([str(links / "python3"), "-m", "venv", "--without-pip", str(venv)], check=True)
    assert os.readlink(venv / "bin" / "python3") == str(links / "python3"), "the venv points at the link"
    (tmp_path / "run" / "out").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_magics.__file__).parent.parent)}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE, str(tmp_path / "run")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == f"inside {venv}", done.stdout + done.stderr
