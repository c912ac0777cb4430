"""The magics and the command line, end to end on the embedded local Kaggle: real kernels, real sandbox.

The workflows are tested in depth in their own files; this proves each magic and verb reaches them with its
arguments intact and shows what a user sees."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kaggle_magics.cli import main

SUB = """%%kaggle_sub --id me/chain-sub --competition demo-comp --backend local
import csv, os
data = "/kaggle/input/competitions/demo-comp"  # today's layout; the older flat one as a fallback
if not os.path.exists(data):
    data = "/kaggle/input/demo-comp"
rows = list(csv.DictReader(open(f"{data}/test.csv")))
with open("submission.csv", "w") as f:
    f.write("id,target\\n" + "".join(f"{r['id']},{int(r['x']) * 2}\\n" for r in rows))
print("rows", len(rows), os.environ["KAGGLE_KERNEL_RUN_TYPE"])
"""


@pytest.fixture
def competition(tmp_path: Path) -> Path:
    data = tmp_path / "comp-data"
    data.mkdir()
    (data / "test.csv").write_text("id,x\n1,10\n2,20\n")
    assert main(["local", "competition", "add", "demo-comp", str(data)]) == 0
    return data


def test_chain_through_the_magics(shell, competition: Path) -> None:
    pushed = shell.run(SUB)
    assert pushed.backend == "local" and pushed.version == 1

    status = shell.run("%kaggle_status me/chain-sub --wait --timeout 120 --backend local")
    assert status.status == "COMPLETE", status
    assert status.runtime_seconds and status.runtime_seconds > 0
    assert any("rows 2 Batch" in line for line in status.log_tail)

    out = shell.run("%kaggle_output me/chain-sub --dest got --pattern '*.csv' --backend local")
    assert out is not None
    rows = list(csv.DictReader(Path("got/submission.csv").read_text().splitlines()))
    assert rows == [{"id": "1", "target": "20"}, {"id": "2", "target": "40"}]

    sub = shell.run("%kaggle_submit --competition demo-comp --kernel me/chain-sub --wait --timeout 60 --backend local")
    assert sub.status == "COMPLETE", sub
    assert sub.submissions_left is not None

    rehearsed = shell.run("%kaggle_rehearse kaggle/chain-sub")
    assert rehearsed.ok and rehearsed.cells and rehearsed.total_seconds > 0
    assert "submission.csv" in rehearsed.output_files


def test_dataset_and_model_magics(shell) -> None:
    Path("codes").mkdir()
    Path("codes/features.py").write_text("def f(x):\n    return x\n")
    first = shell.run('%kaggle_dataset codes --id me/cmi-codes -m "first" --backend local')
    assert first.changed and first.version == 1
    again = shell.run("%kaggle_dataset codes --id me/cmi-codes --backend local")
    assert not again.changed, "unchanged content makes no new version"

    Path("weights").mkdir()
    Path("weights/model.bin").write_bytes(b"\0" * 64)
    model = shell.run("%kaggle_model weights --handle me/cmi-models/pyTorch/exp-001 --notes v1 --backend local")
    assert model.model_source == "me/cmi-models/pyTorch/exp-001/1"
    assert model.input_path == "/kaggle/input/cmi-models/pytorch/exp-001/1"


def test_rehearse_on_the_command_line_fails_with_the_cell(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.py").write_text("# %%\nx = 1\n\n# %%\nraise ValueError('boom')\n")
    assert main(["rehearse", "bad.py"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "boom" in out
    # Percent-format cells are run and timed one by one, as `push` makes them cells of the notebook.
    assert 'Exception encountered at "In [2]" (notebook cell 2): ValueError: boom' in out
    assert "In [1]" in out and "x = 1" in out
    assert out.count("In [2]") == 2, "each cell's line once, as it ends (the failure message names In [2] too)"


def test_missing_things_on_the_local_backend_get_local_hints(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["status", "me/never-pushed", "--backend", "local"]) != 0
    err = capsys.readouterr().err
    assert "kernel me/never-pushed not found" in err and "push it to the local Kaggle first" in err
    assert "kaggle.com" not in err
    Path("submission.csv").write_text("id,target\n1,2\n")
    assert main(["submit", "--competition", "no-such-comp", "--file", "submission.csv", "--backend", "local"]) != 0
    err = capsys.readouterr().err
    assert "kaggle-magics local competition add no-such-comp DIR" in err


def test_local_competitions_are_listed(competition: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["local", "competition", "list"]) == 0
    out = capsys.readouterr().out
    assert "demo-comp" in out and "1 files" in out and "/kaggle/input/demo-comp" in out
