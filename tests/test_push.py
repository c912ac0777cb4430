"""Submission notebooks pushed for real: the magics and the CLI, through the official client, over HTTP, to
the loopback Kaggle server; and the folder a dry run writes, pushed by the official ``kaggle`` CLI itself."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from kaggle_magics.cli import main
from kaggle_magics.errors import BackendError, CredentialsError
from tests.kaggle_server import FAKE_KEY, FAKE_USER

SUB = (
    f"%%kaggle_sub --id {FAKE_USER}/cmi-sub --competition child-mind-institute-detect-sleep-states "
    f"--attach {FAKE_USER}/cmi-deps --dataset {FAKE_USER}/cmi-codes "
    f"--model {FAKE_USER}/cmi-models/pytorch/exp-001/1 --accelerator NvidiaTeslaT4 --timeout 3600{{extra}}\n"
    "import pandas as pd\n"
    "sub = pd.DataFrame({'id': [1]})\n"
    "sub.to_csv('submission.csv', index=False)\n"
)


def _arrived(server) -> dict:
    (body,) = server.bodies("SaveKernel")
    return body


def test_kaggle_sub_pushes_through_the_official_client(shell, kaggle_server) -> None:
    result = shell.run(SUB.replace("{extra}", ""))
    assert result.backend == "kaggle" and not result.dry_run
    assert result.version == 1 and result.ref.startswith(f"{FAKE_USER}/cmi-sub")
    body = _arrived(kaggle_server)
    nb = json.loads(body["text"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "the pushed notebook carries a kernelspec"
    assert "submission.csv" in nb["cells"][0]["source"]
    assert not body.get("enableInternet", False), "internet is off (a missing field is false on the wire)"
    assert body["competitionDataSources"] == ["child-mind-institute-detect-sleep-states"]
    assert body["kernelDataSources"] == [f"{FAKE_USER}/cmi-deps"]
    assert body["datasetDataSources"] == [f"{FAKE_USER}/cmi-codes"]
    assert body["modelDataSources"] == [f"{FAKE_USER}/cmi-models/pytorch/exp-001/1"]
    assert body["machineShape"] == "NvidiaTeslaT4"
    assert body["sessionTimeoutSeconds"] == 3600
    assert body.get("isPrivate", False) is True


def test_no_run_is_a_quick_save(shell, kaggle_server) -> None:
    shell.run(SUB.replace("{extra}", " --no-run"))
    assert kaggle_server.kernel(f"{FAKE_USER}/cmi-sub").latest.quick_save


def test_dry_run_folder_is_accepted_by_the_official_cli(shell, kaggle_server, kaggle_cli) -> None:
    result = shell.run(SUB.replace("{extra}", " --dry-run"))
    assert kaggle_server.calls("SaveKernel") == [], "a dry run pushes nothing"
    done = kaggle_cli("kernels", "push", "-p", str(result.folder.resolve()))
    assert done.returncode == 0, done.stdout + done.stderr
    body = _arrived(kaggle_server)
    assert json.loads(body["text"])["metadata"]["kernelspec"]["name"] == "python3"
    assert not body.get("enableInternet", False), "enable_internet is written, so the client's true default is moot"
    assert body["machineShape"] == "NvidiaTeslaT4"


def test_push_of_a_folder_without_kernelspec_or_internet_key(tmp_path: Path, kaggle_server, capsys) -> None:
    folder = tmp_path / "legacy"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, folder / "legacy.ipynb")
    meta = {"id": f"{FAKE_USER}/legacy-sub", "code_file": "legacy.ipynb", "language": "python",
            "kernel_type": "notebook", "competition_sources": ["comp"]}
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["push", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "kernelspec" in out and "enable_internet was missing" in out
    body = _arrived(kaggle_server)
    assert json.loads(body["text"])["metadata"]["kernelspec"]["name"] == "python3"
    assert not body.get("enableInternet", False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "the user's folder is untouched"


def test_server_rejection_lists_the_invalid_sources(shell, kaggle_server) -> None:
    kaggle_server.mark_invalid(f"{FAKE_USER}/cmi-codes")
    with pytest.raises(BackendError, match=f"{FAKE_USER}/cmi-codes"):
        shell.run(SUB.replace("{extra}", ""))
    shown = shell.render_error(SUB.replace("{extra}", ""))
    assert "Traceback" not in shown


def test_no_credentials_is_one_clear_line(shell, kaggle_server_anonymous) -> None:
    cell = SUB.replace("{extra}", " --backend kaggle")
    with pytest.raises(CredentialsError) as info:
        shell.run(cell)
    assert "kaggle.json" in (info.value.hint or "") and "KAGGLE_API_TOKEN" in (info.value.hint or "")
    shown = shell.render_error(cell)
    assert "Traceback" not in shown and "SystemExit" not in shown and FAKE_KEY not in shown
    assert kaggle_server_anonymous.calls("SaveKernel") == []


def test_without_credentials_the_local_backend_is_chosen_and_said(capsys) -> None:
    from kaggle_magics import backends
    from kaggle_magics.backends import choose_backend_name

    backends._told.clear()
    assert choose_backend_name(None, notify=print) == "local"
    assert "no Kaggle credentials found" in capsys.readouterr().out


def test_with_credentials_kaggle_is_chosen(kaggle_server) -> None:
    from kaggle_magics.backends import choose_backend_name

    assert choose_backend_name(None) == "kaggle"
    assert choose_backend_name("local") == "local"


def test_deps_puts_the_offline_install_cell_first(shell, kaggle_server) -> None:
    shell.run(
        f"%%kaggle_sub --id {FAKE_USER}/cmi-sub --deps {FAKE_USER}/cmi-deps --competition comp\nimport tabulate\n"
    )
    body = _arrived(kaggle_server)
    cells = json.loads(body["text"])["cells"]
    assert len(cells) == 2 and cells[1]["source"] == "import tabulate"
    first = cells[0]["source"]
    assert "kaggle-magics-bundle.json" in first and f"{FAKE_USER}/cmi-deps" in first
    assert "pip install" not in first or "--no-index" in first, "the install never reaches an index"
    assert body["kernelDataSources"] == [f"{FAKE_USER}/cmi-deps"]
    compile(first, "install-cell", "exec")  # plain Python: it runs under papermill with no magics


def test_deps_dataset_attaches_a_dataset_that_holds_a_bundle(shell, kaggle_server) -> None:
    """A bundle frozen locally and uploaded as a dataset: attached as a dataset, installed by the first cell."""
    shell.run(f"%%kaggle_sub --id {FAKE_USER}/cmi-sub --deps-dataset {FAKE_USER}/solver --competition comp\nx = 1\n")
    body = _arrived(kaggle_server)
    assert body["datasetDataSources"] == [f"{FAKE_USER}/solver"] and not body.get("kernelDataSources")
    first = json.loads(body["text"])["cells"][0]["source"]
    assert f"_sources = ['{FAKE_USER}/solver']" in first, "the installer looks the handle up among the datasets"
