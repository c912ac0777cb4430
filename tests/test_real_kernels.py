"""Kernels as Kaggle users keep them (fixtures in tests/kernel_shapes.py): a folder from `kaggle kernels pull
-m`, a repository's kernel folder, a notebook beside its kernel-metadata.json, a notebook without cell ids.
Each is accepted, what is changed is said in a note, and near misses are named with the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kaggle_magics.cli import main
from kaggle_magics.metadata import KernelMetadata
from tests.kaggle_server import FAKE_USER
from tests.kernel_shapes import (
    PULLED_KEYS,
    notebook_beside_metadata,
    notebook_without_ids,
    pulled_folder,
    repository_folder,
)


def _meta(folder: Path) -> dict:
    return json.loads((folder / "kernel-metadata.json").read_text())


# -- the fixtures have the real shape ------------------------------------------------------------------------
def test_the_pulled_fixture_has_the_keys_the_official_client_writes(kaggle_server, kaggle_cli, work: Path) -> None:
    folder = pulled_folder(work / "mine", owner=FAKE_USER)
    # Round trip: our dry run of the fixture, pushed and pulled by the official client.
    assert main(["push", str(folder), "--dry-run", "--dir", "prepared"]) == 0
    pushed = kaggle_cli("kernels", "push", "-p", str(work / "prepared"))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    out = work / "pulled"
    done = kaggle_cli("kernels", "pull", f"{FAKE_USER}/titanic-baseline", "-p", str(out), "-m")
    assert done.returncode == 0, done.stdout + done.stderr
    real = json.loads((out / "kernel-metadata.json").read_text())
    ours = _meta(folder)
    assert tuple(real) == PULLED_KEYS == tuple(ours), "the same keys, in the client's order"
    assert {k: type(v) for k, v in real.items()} == {k: type(v) for k, v in ours.items()}
    assert real["code_file"] == ours["code_file"] == "titanic-baseline.ipynb"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in folder.iterdir())


# -- 2. metadata as Kaggle's tools write it --------------------------------------------------------------------
def test_a_pulled_folder_is_pushed_with_each_change_said(work: Path, kaggle_server, kaggle_cli, capsys) -> None:
    folder = pulled_folder(work / "pulled", owner=FAKE_USER)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["push", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "id_no 51234567 left out: id 'kmtester/titanic-baseline' names the kernel" in out
    assert "competition 'c/titanic' read as 'titanic'" in out
    written = Path("kaggle/titanic-baseline")
    assert f"folder  {written}" in out, "the dry run says where the folder is"
    meta = _meta(written)
    assert meta["competition_sources"] == ["titanic"] and "id_no" not in meta
    assert "docker_image" not in meta and "machine_shape" not in meta, "empty strings mean unset"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "the pulled folder is untouched"
    done = kaggle_cli("kernels", "push", "-p", str(written.resolve()))
    assert done.returncode == 0, done.stdout + done.stderr
    (body,) = kaggle_server.bodies("SaveKernel")
    assert body["competitionDataSources"] == ["titanic"] and "id" not in body


def test_a_pulled_cpu_kernel_with_none_machine_shape_and_empty_sources_is_read(work: Path, capsys) -> None:
    """Pulled folders in public repositories hold what kaggle.com answers: ``"machine_shape": "None"`` for a
    CPU kernel and ``""`` among the sources; they are what push, check and convert read, not errors."""
    folder = pulled_folder(
        work / "pulled", machine_shape="None", dataset_sources=["", "me/cmi-codes"], kernel_sources=["me/cmi-deps", ""]
    )
    before = (folder / "kernel-metadata.json").read_bytes()
    assert main(["push", str(folder), "--dry-run", "--backend", "local"]) == 0
    out = capsys.readouterr().out
    assert "machine_shape 'None' read as unset (the CPU machine)" in out
    assert "dataset_sources: 1 empty entry left out" in out and "kernel_sources: 1 empty entry left out" in out
    meta = _meta(Path("kaggle/titanic-baseline"))
    assert "machine_shape" not in meta and meta["enable_gpu"] is False
    assert meta["dataset_sources"] == ["me/cmi-codes"] and meta["kernel_sources"] == ["me/cmi-deps"]
    assert (folder / "kernel-metadata.json").read_bytes() == before
    assert main(["check", str(folder), "--backend", "local"]) in (0, 1)
    assert "push refuses it" not in capsys.readouterr().out


def test_a_repository_folder_with_mount_path_sources_and_string_booleans(work: Path, capsys) -> None:
    folder = repository_folder(work)
    assert main(["push", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "competition 'competitions/house-prices-advanced-regression-techniques' read as" in out
    assert "is_private 'true' (a string) read as true" in out and "enable_gpu 'false' (a string)" in out
    assert "enable_internet was missing" in out
    meta = _meta(Path("kaggle/house-prices-sub"))
    assert meta["competition_sources"] == ["house-prices-advanced-regression-techniques"]
    assert meta["is_private"] is True and meta["enable_gpu"] is False and meta["enable_internet"] is False


def test_null_booleans_and_capitalised_values_are_read_as_the_client_would(tmp_path: Path) -> None:
    folder = pulled_folder(tmp_path, enable_internet=None, is_private=None, language="Python")
    meta = KernelMetadata.read(folder)
    assert (meta.enable_internet, meta.is_private, meta.language) == (False, True, "python")
    notes = meta.validate()
    assert "enable_internet null read as false (internet stays off unless you turn it on)" in notes
    assert "is_private null read as true" in notes and "language 'Python' read as 'python'" in notes


@pytest.mark.parametrize(
    ("change", "message", "hint"),
    [
        ({"id": "me/me/titanic-baseline"}, "id: 'me/me/titanic-baseline' repeats the owner 'me'",
         "write 'me/titanic-baseline'"),
        ({"id": "https://www.kaggle.com/code/me/titanic-baseline"}, "is a URL, not a kernel reference",
         "write 'me/titanic-baseline'"),
        ({"dataset_sources": ["datasets/me/titanic-extra"]},
         "dataset_sources: 'datasets/me/titanic-extra' is a URL's path (it starts with 'datasets/')",
         "write 'me/titanic-extra'"),
        ({"dataset_sources": ["https://www.kaggle.com/datasets/me/titanic-extra/versions/3"]},
         "is a URL, not a dataset reference", "write 'me/titanic-extra/3'"),
        ({"competition_sources": ["/kaggle/input/titanic"]},
         "'/kaggle/input/titanic' is an input's mount path, not a competition reference", "write 'titanic'"),
        ({"competition_sources": ["https://www.kaggle.com/competitions/titanic"]}, "is a URL",
         "write 'titanic'"),
        ({"model_sources": ["me/titanic-models/pyTorch/base"]},
         "'me/titanic-models/pyTorch/base' has no version (4 parts)", "write 'me/titanic-models/pyTorch/base/VERSION'"),
        ({"kernel_sources": ["/kaggle/input/titanic-deps"]}, "is an input's mount path",
         "a mount path does not say the owner"),
        ({"enable_internet": "no"}, "enable_internet must be true or false, not 'no'",
         'write "enable_internet": true or "enable_internet": false'),
    ],
)  # fmt: skip
def test_near_misses_are_named_with_the_fix(
    work: Path, capsys, change: dict, message: str, hint: str
) -> None:
    folder = pulled_folder(work, **change)
    assert main(["push", str(folder), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"error: {folder / 'kernel-metadata.json'}: "), err
    assert message in err[0] and hint in err[1], err
    assert not Path("kaggle").exists(), "nothing written"


def test_a_mistyped_key_gets_the_nearest_one(tmp_path: Path, capsys) -> None:
    folder = pulled_folder(tmp_path)
    data = _meta(folder)
    data["competition_source"] = data.pop("competition_sources")
    (folder / "kernel-metadata.json").write_text(json.dumps(data))
    assert main(["push", str(folder), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'competition_source'" in err and "hint: did you mean 'competition_sources'?" in err


# -- 3. a notebook beside its kernel-metadata.json -------------------------------------------------------------
def test_convert_keeps_the_metadata_beside_the_notebook(work: Path, capsys) -> None:
    nb = notebook_beside_metadata(work)
    other = work / "notebooks" / "eda.ipynb"
    assert main(["convert", str(nb), str(other), "--out", "out"]) == 1, "eda.ipynb has no metadata and no owner"
    out = capsys.readouterr().out
    assert "notebooks/kernel-metadata.json is for 'inference.ipynb', not 'eda.ipynb': not used" not in out
    assert f"FAILED {other}" in out and "names no owner" in out
    meta = _meta(Path("out/cmi-inference"))
    assert meta["id"] == "me/cmi-inference" and meta["title"] == "CMI Inference", "no owner was needed"
    assert meta["dataset_sources"] == ["me/cmi-weights", "other/cmi-features"], "no source dropped"
    assert meta["kernel_sources"] == ["me/cmi-deps"]
    assert meta["competition_sources"] == ["child-mind-institute-detect-sleep-states"]
    assert meta["enable_gpu"] is True and meta["code_file"] == "inference.ipynb"


def test_a_short_title_flag_is_named_as_the_flag(work: Path, capsys) -> None:
    nb = notebook_beside_metadata(work)
    assert main(["push", str(nb), "--title", "abc", "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith("error: --title 'abc' is shorter than 5 characters\n")


def test_flags_add_sources_and_override_settings_of_the_metadata_beside(work: Path, capsys) -> None:
    nb = notebook_beside_metadata(work)
    argv = ["push", str(nb), "--dataset", "me/cmi-extra", "--title", "CMI Inference v2", "--internet",
            "--id", "me/cmi-inference-v2", "--dry-run"]  # fmt: skip
    assert main(argv) == 0
    meta = _meta(Path("kaggle/cmi-inference-v2"))
    assert meta["id"] == "me/cmi-inference-v2" and meta["title"] == "CMI Inference v2"
    assert meta["dataset_sources"] == ["me/cmi-weights", "other/cmi-features", "me/cmi-extra"]
    assert meta["kernel_sources"] == ["me/cmi-deps"] and meta["enable_internet"] is True
    assert "internet is on: code competitions refuse" in capsys.readouterr().out


def test_metadata_beside_that_names_another_notebook_is_not_used(work: Path, capsys) -> None:
    notebook_beside_metadata(work)
    assert main(["push", "notebooks/eda.ipynb", "--id", "me/eda-notebook", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "notebooks/kernel-metadata.json is for 'inference.ipynb', not 'eda.ipynb': not used" in out
    assert _meta(Path("kaggle/eda-notebook"))["dataset_sources"] == []


def test_two_files_of_one_slug_in_a_batch_are_not_written_over(work: Path, capsys) -> None:
    notebook_without_ids(work / "solve.ipynb")
    Path("solve.py").write_text("# %%\nprint(1)\n")
    assert main(["convert", "solve.ipynb", "solve.py", "--owner", "me", "--out", "out"]) == 1
    out = capsys.readouterr().out
    assert "FAILED solve.py: its kernel folder out/solve was already written from solve.ipynb in this batch" in out
    assert _meta(Path("out/solve"))["code_file"] == "solve.ipynb"


# -- 4. push FOLDER --dry-run leaves the folder at the default place -------------------------------------------
def test_a_dry_run_of_a_folder_leaves_it_at_the_default_place(work: Path, capsys) -> None:
    folder = pulled_folder(work / "pulled")
    assert main(["push", str(folder), "--dry-run"]) == 0
    first = capsys.readouterr().out
    assert "kernel folder written (dry run: nothing pushed)" in first and "kaggle/titanic-baseline" in first
    assert sorted(p.name for p in Path("kaggle/titanic-baseline").iterdir()) == [
        "kernel-metadata.json",
        "titanic-baseline.ipynb",
    ]
    assert main(["push", str(folder), "--dry-run", "--accelerator", "NvidiaL4"]) == 0, "its own folder is replaced"
    assert _meta(Path("kaggle/titanic-baseline"))["machine_shape"] == "NvidiaL4"
    capsys.readouterr()
    # Pushing that folder again from its default place: it already is what would be pushed.
    assert main(["push", "kaggle/titanic-baseline", "--dry-run", "--accelerator", "NvidiaL4"]) == 0
    assert "is already what would be pushed: left as it is" in capsys.readouterr().out


def test_a_dry_run_never_replaces_a_folder_with_the_users_files(work: Path, capsys) -> None:
    folder = pulled_folder(work / "pulled")
    mine = Path("kaggle/titanic-baseline")
    mine.mkdir(parents=True)
    (mine / "notes.md").write_text("mine")
    assert main(["push", str(folder), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: kaggle/titanic-baseline (the default place of the kernel folder) holds files of its own (notes.md):"
        " it would be replaced whole",
        "hint: pass --dir OTHER-FOLDER, or move that out of the way",
    ]
    assert [p.name for p in mine.iterdir()] == ["notes.md"]


def test_a_dry_run_from_the_default_place_does_not_rewrite_the_users_folder(work: Path, capsys) -> None:
    folder = pulled_folder(work / "kaggle")  # the user keeps it at ./kaggle/<slug>/, as pulled (outputs kept)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["push", str(folder), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "the dry run would rewrite kaggle/titanic-baseline, the folder being pushed" in err
    assert "--dir" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# -- a notebook without cell ids -------------------------------------------------------------------------------
def test_a_notebook_without_cell_ids_is_pushed_without_nbformat_warnings(work: Path) -> None:
    notebook_without_ids(work / "no-ids.ipynb")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-m", "kaggle_magics", "push", "no-ids.ipynb", "--id", "me/no-ids-kernel", "--dry-run"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "warn" not in done.stderr.lower(), done.stderr
    pushed = json.loads(Path("kaggle/no-ids-kernel/no-ids-kernel.ipynb").read_text())
    ids = [cell.get("id") for cell in pushed["cells"]]
    assert all(ids) and len(set(ids)) == 2, "the pushed copy has an id per cell"
    assert "id" not in json.loads(Path("no-ids.ipynb").read_text())["cells"][0], "the source is untouched"
