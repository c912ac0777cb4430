"""Issue 5's verbs as a user meets them: the commands a result tells the user to run do what they say, and
errors name the culprit once."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from kaggle_magics.cli import main
from kaggle_magics.datasets import stage
from kaggle_magics.handles import DatasetRef


def test_the_unpack_command_for_a_lone_executable_restores_it_in_place(tmp_path: Path) -> None:
    src, staging, work = tmp_path / "src", tmp_path / "input" / "cmi-codes", tmp_path / "working"
    for folder in (src, staging, work):
        folder.mkdir(parents=True)
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    os.chmod(src / "run.sh", 0o755)
    (note,) = stage(src, staging, DatasetRef.parse("me/cmi-codes"))
    command = note.split("in the notebook: ", 1)[1]
    command = command.replace("/kaggle/input/", f"{tmp_path}/input/").replace("/kaggle/working", str(work))
    subprocess.run(["sh", "-c", command], check=True)
    restored = work / "run.sh"
    assert restored.is_file() and restored.stat().st_mode & stat.S_IXUSR, sorted(work.rglob("*"))
    assert subprocess.run([str(restored)], capture_output=True, text=True).stdout == "ran\n"


def test_a_missing_kernel_or_competition_is_named_once_with_its_url(kaggle_server, capsys) -> None:
    assert main(["status", "kmtester/nope-kern"]) == 1
    err = capsys.readouterr().err
    assert err.count("not found") == 1 and "https://www.kaggle.com/code/kmtester/nope-kern" in err, err
    kaggle_server.add_kernel("kmtester/run-kern")
    assert main(["submit", "--competition", "nocomp", "--kernel", "kmtester/run-kern"]) == 1
    err = capsys.readouterr().err
    assert err.count("not found") == 1 and "https://www.kaggle.com/competitions/nocomp" in err, err
