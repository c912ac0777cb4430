"""The magics and the command line, end to end on the embedded local Kaggle: real kernels, real sandbox.

The workflows are tested in depth in their own files; this proves each magic and verb reaches them with its
arguments intact and shows what a user sees."""

from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path

import pytest

from kaggle_magics import verbs
from kaggle_magics.cli import build_parser, main

SUB = """%%kaggle_sub --id me/chain-sub --competition demo-comp --backend local
import csv, os
rows = list(csv.DictReader(open("/kaggle/input/competitions/demo-comp/test.csv")))
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


@pytest.mark.requires("bwrap")  # the submission reads /kaggle/input/..., as on Kaggle
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
    assert sub.url and sub.url.startswith("file://") and sub.url.endswith("/competitions/demo-comp/submissions/1.json")
    assert Path(sub.url.removeprefix("file://")).is_file(), "the local submission's own record, not kaggle.com"

    rehearsed = shell.run("%kaggle_rehearse kaggle/chain-sub")
    assert rehearsed.ok and rehearsed.cells and rehearsed.total_seconds > 0
    assert "submission.csv" in rehearsed.output_files


def test_a_push_says_each_note_once(shell) -> None:
    """Push validates the metadata it writes, and the backend the folder it gets: one note, said once."""
    pushed = shell.run("%%kaggle_sub --id me/short-sub --title 'A longer title' --backend local --no-run\nprint(1)")
    slug_notes = [note for note in pushed.notes if "gives the slug 'a-longer-title', not 'short-sub'" in note]
    assert len(slug_notes) == 1, pushed.notes


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
    assert model.input_path == "/kaggle/input/models/me/cmi-models/pytorch/exp-001/1"


def test_rehearse_on_the_command_line_fails_with_the_cell(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.py").write_text("# %%\nx = 1\n\n# %%\nraise ValueError('boom')\n")
    assert main(["rehearse", "bad.py", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "boom" in out
    # Percent-format cells are run and timed one by one, as `push` makes them cells of the notebook.
    assert 'Exception encountered at "In [2]" (notebook cell 2): ValueError: boom' in out
    assert "In [1]" in out and "x = 1" in out
    assert out.count("In [2]") == 2, "each cell's line once, as it ends (the failure message names In [2] too)"
    assert " | " not in out, "--quiet: the table only, no log lines"
    traceback = out.split("\n  traceback\n", 1)[1]
    assert "----> 1 raise ValueError('boom')" in traceback and traceback.rstrip().endswith("ValueError: boom")


STREAMED = """# %%
import sys, time
print("loading", flush=True)
print("a warning", file=sys.stderr, flush=True)

# %%
for i in range(3):
    print("step", i, flush=True)
    time.sleep(0.3)

# %%
def score(rows):
    raise ValueError(f"no rows: {rows}")

score([])
"""


def test_rehearse_streams_what_the_cells_print_and_the_failing_traceback(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("sub.py").write_text(STREAMED)
    shown: list[tuple[float, str]] = []

    def echo(line: str) -> None:
        shown.append((time.monotonic(), line))

    from kaggle_magics.verbs import Context

    ns = build_parser().parse_args(["rehearse", "sub.py"])
    result = verbs.rehearse(ns, Context(echo=echo))
    assert result.status == "ERROR"
    lines = [line for _, line in shown]
    logged = [line for line in lines if " | " in line]
    # Each log line as Kaggle's log shows it: the seconds since the start, then the text.
    assert all(re.match(r"^ +\d+\.\ds \| ", line) for line in logged), logged
    texts = [line.split(" | ", 1)[1] for line in logged]
    assert texts[texts.index("loading") : texts.index("loading") + 5] == [
        "loading", "a warning", "step 0", "step 1", "step 2"
    ]
    # In order: a cell's output comes before its timing line, and the next cell's after it.
    order = [("cell " + line.split("]")[0] + "]") if line.startswith("In [") else line for line in lines]
    assert order.index("cell In [1]") < next(i for i, line in enumerate(lines) if line.endswith("| step 0"))
    assert next(i for i, line in enumerate(lines) if line.endswith("| step 2")) < order.index("cell In [2]")
    # Live, not at the end: the steps arrive as the cell sleeps between them.
    steps = [t for t, line in shown if "| step " in line]
    assert steps[-1] - steps[0] > 0.4, "printed while the cell ran"
    # The failing cell's traceback is in the stream, the frame that raised included.
    assert "----> 4 score([])" in texts and "ValueError: no rows: []" in texts
    assert not any(text.startswith("[kaggle-magics] In [") for text in texts), "the table shows cell times"
    assert "traceback" not in str(result), "shown live: the result does not repeat it"
    assert "ValueError: no rows: []" in (result.traceback or "")


def test_the_rehearse_magic_streams_too(shell, capsys) -> None:
    Path("ok.py").write_text("# %%\nprint('from the cell')\n")
    result = shell.run("%kaggle_rehearse ok.py")
    assert result.ok
    out = capsys.readouterr().out
    assert re.search(r"\d\.\ds \| from the cell\n", out) and "In [1]" in out
    shown = repr(result)  # what a terminal IPython (and a notebook's text/plain) shows of the result
    assert shown == str(result) and shown.startswith("run\n") and "status" in shown and "Rehearsal(" not in shown


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
    assert "demo-comp" in out and "1 files" in out and "/kaggle/input/competitions/demo-comp" in out


def test_the_input_layout_comes_from_pyproject_config_and_flag(shell, competition: Path) -> None:
    """pyproject.toml < %config < the flag, for the paths shown and for the run's mounts."""
    from kaggle_magics.errors import ConfigError

    Path("weights").mkdir()
    Path("weights/model.bin").write_bytes(b"\0" * 8)
    Path("pyproject.toml").write_text('[tool.kaggle_magics]\ninput_layout = "flat"\n')
    flat = shell.run("%kaggle_model weights --handle me/lay-model/pyTorch/v1 --backend local")
    assert flat.input_path == "/kaggle/input/lay-model/pytorch/v1/1"
    shell.run('%config KaggleMagics.input_layout = "nested"')
    nested = shell.run("%kaggle_model weights --handle me/lay-model/pyTorch/v1 --backend local")
    assert nested.input_path == "/kaggle/input/models/me/lay-model/pytorch/v1/2"

    old = SUB.replace("--id me/chain-sub", "--id me/flat-sub --input-layout flat").replace(
        "/kaggle/input/competitions/demo-comp/", "/kaggle/input/demo-comp/"
    )
    assert shell.run(old).version == 1
    status = shell.run("%kaggle_status me/flat-sub --wait --timeout 120 --backend local")
    assert status.status == "COMPLETE", (status.failure_message, status.log_tail)

    shell.run('%config KaggleMagics.input_layout = "deep"')
    with pytest.raises(ConfigError, match=r"KaggleMagics\.input_layout: unknown input layout 'deep'"):
        shell.run("%kaggle_model weights --handle me/lay-model/pyTorch/v1 --backend local")


@pytest.mark.requires("bwrap")
def test_frozen_here_uploaded_as_a_dataset_and_installed_offline_by_the_submission(
    shell, competition: Path, bundle_env
) -> None:
    """The second workflow: freeze on this machine for Kaggle's Python, upload the bundle as a dataset, and push
    a submission that attaches it with --deps-dataset: its first cell installs the bundle offline."""
    links = bundle_env.links
    frozen = shell.run(f"%kaggle_freeze kmt-alpha --dest cmi-deps --find-links {links} --no-index --no-base")
    assert (Path("cmi-deps") / "kaggle-magics-bundle.json").is_file(), frozen
    uploaded = shell.run("%kaggle_dataset cmi-deps --id me/cmi-deps --backend local")
    assert uploaded.version == 1

    pushed = shell.run(
        "%%kaggle_sub --id me/local-deps-sub --competition demo-comp --deps-dataset me/cmi-deps --backend local\n"
        "import kmt_alpha, sys\n"
        "print('alpha from', 'the bundle' if kmt_alpha.__file__.startswith(sys.prefix) else kmt_alpha.__file__)\n"
        "open('submission.csv', 'w').write('id,target\\n1,0\\n2,0\\n')\n"
    )
    data = json.loads((pushed.folder / "kernel-metadata.json").read_text())
    assert data["dataset_sources"] == ["me/cmi-deps"] and data["kernel_sources"] == []
    cells = json.loads((pushed.folder / "local-deps-sub.ipynb").read_text())["cells"]
    assert "Install the attached dependency bundles offline" in "".join(cells[0]["source"])

    status = shell.run("%kaggle_status me/local-deps-sub --wait --timeout 120 --backend local")
    assert status.status == "COMPLETE", (status.failure_message, status.log_tail)
    assert any("alpha from the bundle" in line for line in status.log_tail), status.log_tail
