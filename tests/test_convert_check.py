"""``kaggle-magics convert --check``: nothing written, what converting would change listed per file, exit 1 when
anything would; converting a converted folder changes nothing; and the pre-commit hook that runs it."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from kaggle_magics.cli import main

ROOT = Path(__file__).resolve().parent.parent


def raw_notebook(path: Path, *codes: str) -> Path:
    """A notebook as people keep them: outputs, execution counts, no kernelspec, no cell ids (nbformat 4.4)."""
    nb = v4.new_notebook()
    nb.nbformat_minor = 4
    nb.cells.append(v4.new_markdown_cell("# My solution"))
    for n, code in enumerate(codes, 1):
        cell = v4.new_code_cell(code, execution_count=n)
        cell.outputs = [v4.new_output("stream", name="stdout", text=f"{n}\n")]
        nb.cells.append(cell)
    for cell in nb.cells:
        cell.pop("id", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_check_lists_what_converting_would_change_and_writes_nothing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = raw_notebook(work / "notebooks" / "cmi-solution.ipynb", "import pandas as pd", "print(1)")
    before = tree_digest(work)
    code, text = run(capsys, "convert", "--check", str(nb), "--owner", "me", "--competition", "cmi-detect")
    assert code == 1, text
    assert tree_digest(work) == before, "--check writes nothing"
    assert "CHANGE" in text and "would change  1" in text
    for expected in (
        "kernel-metadata.json: would be written (id me/cmi-solution, internet off, 1 source)",
        "kernelspec: would be added (python3); without it Kaggle's papermill run fails",
        "outputs: 2 code cells with outputs would be cleared",
    ):
        assert expected in text, text
    assert not (work / "kaggle").exists()
    # --warn-only reports the same and exits 0
    code, text = run(capsys, "convert", "--check", "--warn-only", str(nb), "--owner", "me")
    assert code == 0 and "outputs: 2 code cells with outputs would be cleared" in text


def test_a_converted_folder_passes_and_converting_it_again_changes_nothing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = raw_notebook(work / "cmi-solution.ipynb", "print(1)")
    assert run(capsys, "convert", str(nb), "--owner", "me", "--competition", "cmi-detect")[0] == 0
    folder = work / "kaggle" / "cmi-solution"
    converted = tree_digest(folder)

    code, text = run(capsys, "convert", "--check", str(nb), "--owner", "me", "--competition", "cmi-detect")
    assert code == 0 and "Kaggle-ready, nothing would change in kaggle/cmi-solution" in text, text
    for given in (str(folder), str(folder / "cmi-solution.ipynb")):  # the folder, or its notebook
        code, text = run(capsys, "convert", "--check", given)
        assert code == 0 and "ready         1" in text, text

    # Converting the converted folder: in place nothing is written; elsewhere the same files come out.
    code, text = run(capsys, "convert", str(folder))
    assert code == 0 and "already Kaggle-ready: nothing to write" in text, text
    assert tree_digest(folder) == converted
    assert run(capsys, "convert", str(folder), "--out", "again")[0] == 0
    assert tree_digest(work / "again" / "cmi-solution") == converted


def test_check_sees_a_stale_folder_a_missing_enable_internet_and_the_install_cell(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = raw_notebook(work / "cmi-solution.ipynb", "print(1)")
    assert run(capsys, "convert", str(nb), "--owner", "me")[0] == 0
    folder = work / "kaggle" / "cmi-solution"

    # the source notebook changed since the folder was written
    raw_notebook(nb, "print(2)")
    code, text = run(capsys, "convert", "--check", str(nb), "--owner", "me")
    assert code == 1 and "cells: 1 cell would change (the source notebook changed)" in text, text

    # a folder edited by hand: enable_internet removed (the client would turn internet on)
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    del meta["enable_internet"]
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    code, text = run(capsys, "convert", "--check", str(folder))
    assert code == 1, text
    assert "enable_internet would be written (false); missing, the official client turns internet ON" in text

    # --deps attaches a bundle: the first cell would install it offline
    code, text = run(capsys, "convert", "--check", str(nb), "--owner", "me", "--deps", "me/cmi-deps")
    assert code == 1 and "install cell: would be added first" in text, text
    assert 'kernel_sources [] would become ["me/cmi-deps"]' in text, text

    # converting in place what would change is refused, and changes nothing
    before = tree_digest(folder)
    code, text = run(capsys, "convert", str(folder), "--competition", "cmi-detect")
    assert code == 1 and "is the folder it would be written to, and converting would change it" in text, text
    assert tree_digest(folder) == before


def test_the_pre_commit_hook_runs_the_check(work: Path) -> None:
    """The manifest is valid for pre-commit, and its entry with the file names pre-commit passes gives the
    verdicts: a raw notebook fails the commit, a converted folder's notebook passes."""
    manifest = ROOT / ".pre-commit-hooks.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(manifest)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import yaml

    (hook,) = [h for h in yaml.safe_load(manifest.read_text()) if h["id"] == "kaggle-magics-convert-check"]
    assert hook["language"] == "python" and hook["types"] == ["jupyter"]
    entry = shlex.split(hook["entry"])
    cli = [sys.executable, "-m", "kaggle_magics", *entry[1:]]
    assert entry[0] == "kaggle-magics"

    (work / "pyproject.toml").write_text('[tool.kaggle_magics]\nowner = "me"\n')  # the repository's settings
    raw = raw_notebook(work / "notebooks" / "cmi-solution.ipynb", "print(1)")
    failed = subprocess.run([*cli, str(raw)], capture_output=True, text=True, cwd=work)
    assert failed.returncode == 1 and "kernelspec: would be added" in failed.stdout, failed.stdout + failed.stderr

    subprocess.run([sys.executable, "-m", "kaggle_magics", "convert", str(raw)], cwd=work, check=True,
                   capture_output=True)  # fmt: skip
    kept = work / "kaggle" / "cmi-solution" / "cmi-solution.ipynb"
    passed = subprocess.run([*cli, str(kept)], capture_output=True, text=True, cwd=work)
    assert passed.returncode == 0, passed.stdout + passed.stderr


_BATCH_SCRIPT = """
import json, multiprocessing, sys, threading
from pathlib import Path
from kaggle_magics import convert as conversion
from kaggle_magics.config import ProjectDefaults
from kaggle_magics.submission import KernelOptions

work, threshold, paths = Path(sys.argv[1]), int(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
forked = []
real_context = multiprocessing.get_context
conversion.multiprocessing.get_context = lambda m=None: forked.append(m) or real_context(m)
conversion._PARALLEL_FROM = threshold
result = conversion.convert(paths, KernelOptions(), out=work, defaults=ProjectDefaults(owner="me"))
print(json.dumps({"forked": forked, "threads": threading.active_count(), "lines": [str(f) for f in result.files]}))
"""


def test_a_large_batch_runs_on_every_cpu_with_the_results_of_a_serial_one(work: Path) -> None:
    """A batch from 64 files up is converted by forked workers: the same folders, the same lines, in order,
    failures and slug clashes included. Each batch runs in a process of its own, as the command line's does
    (the test process may hold threads of earlier tests, and fork is never used from a threaded process);
    the threshold is lowered there so a small batch takes the parallel path."""
    import os

    files = [raw_notebook(work / "src" / f"solution-{n}.ipynb", f"print({n})") for n in range(5)]
    (work / "src" / "broken-one.ipynb").write_text("{not json")
    (work / "other").mkdir()
    clash = raw_notebook(work / "other" / "solution-0.ipynb", "print('again')")
    paths = [*files, work / "src" / "broken-one.ipynb", clash]
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: the batch would not be split")  # a failure in CI (tests/requires.py)
    runs = {}
    for name, threshold in (("serial", 10**9), ("parallel", 2)):
        done = subprocess.run(
            [sys.executable, "-c", _BATCH_SCRIPT, str(work / name), str(threshold), *map(str, paths)],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        lines = [line.replace(name, "OUT") for line in report["lines"]]
        runs[name] = (lines, tree_digest(work / name), report["forked"])
    assert runs["serial"][2] == [], "the serial run forked nothing"
    assert runs["parallel"][2] == ["fork"], "the parallel run forked its workers"
    assert runs["parallel"][:2] == runs["serial"][:2]
    lines = runs["serial"][0]
    assert len(lines) == 7 and sum(line.startswith("FAILED") for line in lines) == 2, lines
    assert "already written from" in lines[-1]
    assert len(runs["serial"][1]) == 10  # five kernel folders of two files
