"""Submission folders as users meet them: written by the official client's own ``kernels pull -m`` /
``kernels init``, pushed with flags as dry runs, then pushed by the official CLI."""

from __future__ import annotations

import json
from pathlib import Path

from kaggle_magics.cli import main
from tests.kaggle_server import FAKE_USER


def test_a_folder_from_kernels_pull_is_pushed(tmp_path: Path, kaggle_server, kaggle_cli, capsys) -> None:
    kaggle_server.add_kernel(f"{FAKE_USER}/pulled-kern", title="pulled-kern")
    done = kaggle_cli("kernels", "pull", f"{FAKE_USER}/pulled-kern", "-p", str(tmp_path / "k"), "-m")
    assert done.returncode == 0, done.stdout + done.stderr
    written = json.loads((tmp_path / "k" / "kernel-metadata.json").read_text())
    assert written["machine_shape"] == "" and written["docker_image"] == "", "what the official client writes"
    assert main(["push", str(tmp_path / "k")]) == 0, capsys.readouterr().err
    (body,) = kaggle_server.bodies("SaveKernel")
    assert body["slug"] == f"{FAKE_USER}/pulled-kern" and "machineShape" not in body


def test_dry_run_of_a_folder_keeps_the_accelerator_for_the_official_cli(
    tmp_path: Path, kaggle_server, kaggle_cli, capsys
) -> None:
    src = tmp_path / "scr"
    src.mkdir()
    (src / "main.py").write_text("print(1)\n")
    meta = {"id": f"{FAKE_USER}/scr-kern", "title": "scr-kern", "code_file": "main.py", "kernel_type": "script"}
    (src / "kernel-metadata.json").write_text(json.dumps(meta))
    out = tmp_path / "out"
    argv = ["push", str(src), "--accelerator", "nvidial4", "--timeout", "600", "--dir", str(out), "--dry-run"]
    assert main(argv) == 0
    shown = capsys.readouterr().out
    assert f"kaggle kernels push -p {out} -t 600" in " ".join(shown.split()), shown
    assert json.loads((src / "kernel-metadata.json").read_text()) == meta, "the user's folder is untouched"
    done = kaggle_cli("kernels", "push", "-p", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    (body,) = kaggle_server.bodies("SaveKernel")
    assert body["machineShape"] == "NvidiaL4" and body["enableGpu"] is True


def test_a_bad_default_names_where_it_comes_from(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "a.py").write_text("# %%\nprint(1)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.kaggle_magics]\nowner = "me"\naccelerator = "T4"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["push", "a.py", "--id", "cfg-kern", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml" in err and "'T4'" in err and "NvidiaTeslaT4" in err, err
    (tmp_path / "pyproject.toml").write_text('[tool.kaggle_magics]\naccelerator = "nvidiateslat4"\n')
    assert main(["push", "a.py", "--id", "me/cfg-kern", "--dry-run"]) == 0
    meta = json.loads((tmp_path / "kaggle" / "cfg-kern" / "kernel-metadata.json").read_text())
    assert meta["machine_shape"] == "NvidiaTeslaT4"
    monkeypatch.setenv("KAGGLE_MAGICS_BACKEND", "kagle")
    assert main(["status", "me/cfg-kern"]) == 2
    assert "$KAGGLE_MAGICS_BACKEND" in capsys.readouterr().err


def test_a_local_environments_kernelspec_becomes_kaggles_python3(tmp_path: Path, kaggle_server, capsys) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    nb.metadata["kernelspec"] = {"name": "myenv", "display_name": "Python (myenv)", "language": "python"}
    (tmp_path / "sub.ipynb").write_text(nbformat.writes(nb))
    before = (tmp_path / "sub.ipynb").read_bytes()
    assert main(["push", str(tmp_path / "sub.ipynb"), "--id", f"{FAKE_USER}/env-kern"]) == 0
    assert "'myenv'" in capsys.readouterr().out
    (body,) = kaggle_server.bodies("SaveKernel")
    assert json.loads(body["text"])["metadata"]["kernelspec"]["name"] == "python3"
    assert (tmp_path / "sub.ipynb").read_bytes() == before


def test_notes_read_one_per_line_in_a_notebook(shell, kaggle_server) -> None:
    result = shell.run(f"%%kaggle_sub --id {FAKE_USER}/two-notes --title 'Other title' --dry-run\nprint(1)\n")
    assert len(result.notes) >= 2
    assert "<br>".join(result.notes).replace("'", "&#x27;") in result._repr_html_()


def test_convert_says_how_to_fix_each_failed_file(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("my-notebook.py", "nb.py"):
        (tmp_path / name).write_text("# %%\nprint(1)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "my-notebook.py", "nb.py"]) == 1
    out = capsys.readouterr().out
    assert out.count("hint: pass --owner") == 2, out
    assert main(["convert", "my-notebook.py", "nb.py", "--owner", "me"]) == 1
    out = capsys.readouterr().out
    assert "hint: each kernel is named after its file: rename the file" in out, out
    assert (tmp_path / "kaggle" / "my-notebook" / "kernel-metadata.json").is_file()


def test_bad_title_and_id_no_alone_name_their_culprit(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.py").write_text("print(1)\n")
    assert main(["push", "plain.py", "--id", "me/plain-kern", "--title", "abc", "--dry-run"]) == 2
    assert "--title 'abc' is shorter than 5 characters" in capsys.readouterr().err
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "a.py").write_text("print(1)\n")
    meta = {"id_no": 1000, "title": "idno-kern", "code_file": "a.py", "kernel_type": "script"}
    (tmp_path / "k" / "kernel-metadata.json").write_text(json.dumps(meta))
    assert main(["push", "k", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "id_no alone" in err and '"id": "owner/kernel-slug"' in err, err
    assert not (tmp_path / "kaggle").exists()


def test_a_ref_without_owner_says_where_to_set_one(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.py").write_text("print(1)\n")
    assert main(["push", "plain.py", "--id", "plain-kern", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "[tool.kaggle_magics]" in err and "%config KaggleMagics.owner" in err, err


def test_dir_never_replaces_a_folder_holding_the_users_files(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("# %%\nprint(1)\n")
    for name in ("proj", "proj2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "precious.txt").write_text("my work")
    assert main(["push", "a.py", "--id", "me/dir-kern", "--dir", "proj", "--dry-run"]) == 2
    assert "precious.txt" in capsys.readouterr().err
    assert main(["push", "a.py", "--id", "me/dir-kern", "--dir", "new", "--dry-run"]) == 0
    assert main(["push", "a.py", "--id", "me/dir-kern", "--dir", "new", "--dry-run"]) == 0, "ours: replaced"
    assert main(["push", "new", "--dir", "proj2", "--dry-run"]) == 2
    for name in ("proj", "proj2"):
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["precious.txt"]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["dir-kern.ipynb", "kernel-metadata.json"]


def test_a_code_file_in_a_subfolder_is_pushed_and_one_outside_refused(
    tmp_path: Path, kaggle_server, capsys
) -> None:
    (tmp_path / "k" / "src").mkdir(parents=True)
    (tmp_path / "k" / "src" / "main.py").write_text("print(1)\n")
    meta = {"id": f"{FAKE_USER}/sub-dir-kern", "title": "sub-dir-kern", "code_file": "src/main.py",
            "language": "python", "kernel_type": "script"}
    (tmp_path / "k" / "kernel-metadata.json").write_text(json.dumps(meta))
    assert main(["push", str(tmp_path / "k")]) == 0, capsys.readouterr().err
    (body,) = kaggle_server.bodies("SaveKernel")
    assert body["text"] == "print(1)\n"
    (tmp_path / "outside.py").write_text("print(2)\n")
    meta["code_file"] = "../outside.py"
    (tmp_path / "k" / "kernel-metadata.json").write_text(json.dumps(meta))
    assert main(["push", str(tmp_path / "k")]) == 2
    assert "outside the kernel folder" in capsys.readouterr().err
