"""``kaggle-magics check``: the corpus gets the right verdict, finding by finding; the findings say what Kaggle
would do and the fix, exactly; exit codes, JSON, folders walked, kernel folders, percent-format scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat.v4 as v4
import pytest

from kaggle_magics.cli import main
from tests.check_corpus import CASES, Case


def write_notebook(path: Path, cells: list[str], **metadata: object) -> Path:
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell("# a notebook"), *(v4.new_code_cell(c) for c in cells)]
    nb.metadata.update({"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.metadata.update(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def verdict(report: dict) -> set[tuple]:
    return {(f["kind"], f["severity"], f.get("cell"), f.get("line")) for f in report["findings"]}


def _expected(case: Case) -> set[tuple]:
    if case.name == "syntax-newer-than-here" and sys.version_info >= (3, 12):
        return set()  # this Python reads it: nothing to say
    return case.expect


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_corpus_gets_the_right_verdict(case: Case, tmp_path: Path, capsys, request) -> None:
    folder = tmp_path / case.name
    notebook = write_notebook(folder / "notebook.ipynb", case.cells)
    for name, text in case.files.items():
        (folder / name).write_text(text)
    args = list(case.args)
    if "{bundle}" in args:
        args[args.index("{bundle}")] = str(request.getfixturevalue("alpha_bundle"))
    code, result = run_check(capsys, str(notebook), "--backend", "kaggle", *args)
    [report] = result["files"]
    assert verdict(report) == _expected(case), json.dumps(report["findings"], indent=1)
    assert code == (1 if any(f["severity"] == "error" for f in report["findings"]) else 0)


def test_findings_say_what_kaggle_does_and_the_exact_fix(tmp_path: Path, capsys) -> None:
    nb = write_notebook(
        tmp_path / "sub.ipynb",
        [
            "!pip install -q polars==1.2 'lightgbm>=4' polarsx\n",
            "import pandas as pd\ntrain = pd.read_csv('/kaggle/input/comp-x/train.csv')\n"
            "extra = pd.read_csv('/kaggle/input/datasets/bob/extra/x.csv')\n",
            "import polarsx\n",
        ],
    )
    code, result = run_check(capsys, str(nb), "--competition", "comp-x", "--backend", "kaggle")
    assert code == 1
    findings = {(f["cell"], f["line"]): f for f in result["files"][0]["findings"] if f.get("cell")}
    pip = findings[(2, 1)]
    assert pip["what"].startswith("`!pip install -q polars==1.2 'lightgbm>=4' polarsx` cannot reach PyPI")
    # lightgbm 4.x is in Kaggle's image: only what the image lacks is frozen
    assert pip["fix"] == (
        "ship them: `%kaggle_freeze polars==1.2 polarsx` in a deps notebook (internet on), then push with "
        "--deps OWNER/DEPS-SLUG"
    )
    flat = findings[(3, 2)]
    assert "flat layout" in flat["what"] and "/kaggle/input/competitions/comp-x" in flat["what"]
    assert flat["fix"].startswith("use /kaggle/input/competitions/comp-x/train.csv")
    missing = findings[(3, 3)]
    assert missing["what"].startswith("FileNotFoundError") and missing["fix"] == "attach it: --dataset bob/extra"
    module = findings[(4, 1)]
    assert module["what"].startswith("ModuleNotFoundError: no module named 'polarsx'")
    assert "`%kaggle_freeze polarsx`" in module["fix"]
    submission = [f for f in result["files"][0]["findings"] if f["kind"] == "submission"]
    assert submission and submission[0]["what"].startswith("not seen:")  # "not seen", never "missing"


def test_a_model_fetched_by_kagglehub_is_attached_as_one_version(tmp_path: Path, capsys) -> None:
    cell = "import kagglehub\np = kagglehub.model_download('me/deb/Transformers/base')\n"
    nb = write_notebook(tmp_path / "sub.ipynb", [cell])
    _, result = run_check(capsys, str(nb), "--backend", "kaggle", "--model", "me/other/pytorch/v1/2")
    [finding] = [f for f in result["files"][0]["findings"] if f["kind"] == "internet"]
    assert finding["what"].startswith("not seen: `kagglehub.model_download('me/deb/Transformers/base')`")
    assert finding["fix"] == "attach it: --model me/deb/Transformers/base/VERSION"  # push refuses a model without one


def test_the_text_report_names_each_finding_and_what_it_was_checked_against(tmp_path: Path, capsys) -> None:
    nb = write_notebook(tmp_path / "sub.ipynb", ["import numpy\nimport polarsx\n"])
    assert main(["check", str(nb), "--backend", "kaggle", "--dataset", "me/codes"]) == 1
    out = capsys.readouterr().out
    assert f"{nb}: 1 error" in out
    assert "checked as notebook; internet off; 1 source (1 not seen: dataset me/codes); nested layout" in out
    assert "cell 2, line 2: error [import] ModuleNotFoundError: no module named 'polarsx'" in out
    assert "\n        fix: ship it: `%kaggle_freeze polarsx`" in out
    assert out.rstrip().endswith("1 error") and "1 file checked in" in out


def test_exit_codes_warn_only_and_bad_input(tmp_path: Path, capsys) -> None:
    clean = write_notebook(tmp_path / "clean" / "ok.ipynb", ["import numpy\n"])
    broken = write_notebook(tmp_path / "broken" / "bad.ipynb", ["import polarsx\n"])
    assert main(["check", str(clean)]) == 0
    assert main(["check", str(broken)]) == 1
    assert main(["check", str(broken), "--warn-only"]) == 0
    capsys.readouterr()
    assert main(["check", str(tmp_path / "nope.ipynb")]) == 2
    assert "error: " in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    assert main(["check", str(tmp_path / "notes.txt")]) == 2
    assert main(["check", str(clean), "--dataset", "not a ref"]) == 2
    assert "not a ref" in capsys.readouterr().err


def test_a_bad_base_snapshot_is_named(tmp_path: Path, capsys) -> None:
    clean = write_notebook(tmp_path / "ok.ipynb", ["import numpy\n"])
    assert main(["check", str(clean), "--base", str(tmp_path / "missing-base.txt")]) == 2
    assert "missing-base.txt: cannot read it" in capsys.readouterr().err
    base = tmp_path / "base.txt"
    base.write_text("# python 3.12\nnumpy==1.26.4\n")
    assert main(["check", str(clean), "--base", str(base)]) == 0
    capsys.readouterr()
    nb = write_notebook(tmp_path / "pd.ipynb", ["import pandas\n"])
    code, result = run_check(capsys, str(nb), "--base", str(base))
    assert code == 1 and "Kaggle's image" in result["files"][0]["findings"][0]["what"]
    assert result["files"][0]["base"] == str(base)


def test_folders_are_walked_and_kernel_folders_read_with_their_metadata(tmp_path: Path, capsys) -> None:
    from tests.fixtures_local import make_kernel

    make_kernel(tmp_path / "proj" / "sub", "me/sub-kernel", ["import numpy\nopen('/kaggle/input/comp-x/a.csv')\n"],
                competition_sources=["comp-x"])  # fmt: skip
    write_notebook(tmp_path / "proj" / "explore.ipynb", ["import numpy\n"])
    write_notebook(tmp_path / "proj" / ".ipynb_checkpoints" / "explore-checkpoint.ipynb", ["import polarsx\n"])
    (tmp_path / "proj" / "lib.py").write_text("import polarsx\n")  # a module, not a percent-format notebook
    (tmp_path / "proj" / "script.py").write_text("# %%\nimport numpy\n\n# %%\nimport polarsx\n")
    code, result = run_check(capsys, str(tmp_path / "proj"), "--backend", "kaggle")
    by_path = {Path(f["path"]).name: f for f in result["files"]}
    assert sorted(by_path) == ["explore.ipynb", "script.py", "sub"]
    assert by_path["explore.ipynb"]["verdict"] == "ok"
    kernel = by_path["sub"]
    assert kernel["kind"] == "kernel folder (notebook.ipynb)" and kernel["competition"] is True
    assert verdict(kernel) == {("path", "error", 1, 2), ("submission", "warning", None, None)}
    # a percent-format script's findings carry its own line numbers
    assert verdict(by_path["script.py"]) == {("import", "error", None, 5)}
    assert code == 1


def test_a_kernel_folders_metadata_is_checked_as_push_checks_it(tmp_path: Path, capsys) -> None:
    from tests.fixtures_local import make_kernel

    folder = make_kernel(tmp_path / "k", "me/some-kernel", ["import numpy\n"], title="abc")
    code, result = run_check(capsys, str(folder))
    [finding] = result["files"][0]["findings"]
    assert code == 1 and finding["kind"] == "metadata" and "shorter than 5 characters" in finding["what"]
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    meta.pop("enable_internet")
    meta["title"] = "Some Kernel"
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    code, result = run_check(capsys, str(folder))
    [finding] = result["files"][0]["findings"]
    assert code == 0 and finding["severity"] == "warning"
    assert "`kaggle kernels push` turns the internet ON" in finding["what"]
    meta["code_file"] = "gone.ipynb"
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    code, result = run_check(capsys, str(folder / "kernel-metadata.json"))
    assert code == 1 and "gone.ipynb" in result["files"][0]["findings"][0]["what"]


def test_a_notebook_kaggle_cannot_read_is_an_error_and_kaggles_own_format_is_not(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    code, result = run_check(capsys, str(bad))
    assert code == 1 and result["files"][0]["findings"][0]["what"].startswith("Kaggle cannot run it: not a notebook")
    # Kaggle's editor writes nbformat 4.4 notebooks whose cells have ids: push (and the check) take them
    nb = json.loads(write_notebook(tmp_path / "kaggle.ipynb", ["import numpy\n"]).read_text())
    nb["nbformat_minor"] = 4
    (tmp_path / "kaggle.ipynb").write_text(json.dumps(nb))
    code, result = run_check(capsys, str(tmp_path / "kaggle.ipynb"))
    assert code == 0 and result["files"][0]["findings"] == []


def test_kaggle_metadata_of_a_downloaded_notebook_turns_unknowns_into_warnings(tmp_path: Path, capsys) -> None:
    kaggle = {"isInternetEnabled": True, "accelerator": "nvidiaTeslaT4", "isGpuEnabled": True,
              "dataSources": [{"sourceType": "competition", "sourceId": 1}]}  # fmt: skip
    nb = write_notebook(tmp_path / "dl.ipynb", ["!pip install polarsx\nimport polarsx\nimport triton\n"], kaggle=kaggle)
    code, result = run_check(capsys, str(nb), "--backend", "kaggle")
    report = result["files"][0]
    assert code == 0 and verdict(report) == {("internet", "warning", 2, 1), ("import", "warning", 2, 3)}
    assert any("says internet on" in n for n in report["notes"])
    assert any("accelerator nvidiaTeslaT4" in n for n in report["notes"])
    code, result = run_check(capsys, str(nb), "--backend", "kaggle", "--internet")  # as it ran: internet on
    assert code == 0 and verdict(result["files"][0]) == {("import", "warning", 2, 3)}


def test_the_pre_commit_hook_runs_the_check_on_the_files_it_is_given(tmp_path: Path) -> None:
    import re
    import subprocess

    import yaml

    root = Path(__file__).parent.parent
    hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "kaggle-magics-check")
    assert hook["language"] == "python" and hook["entry"].split()[:2] == ["kaggle-magics", "check"]
    files = re.compile(hook["files"])
    assert files.search("notebooks/sub.ipynb") and files.search("kaggle/sub/kernel-metadata.json")
    assert not files.search("src/module.py") and not files.search("README.md")
    good = write_notebook(tmp_path / "good.ipynb", ["import numpy\n"])
    bad = write_notebook(tmp_path / "bad.ipynb", ["import polarsx\n"])
    exe = Path(sys.executable).parent / hook["entry"].split()[0]
    entry = [str(exe), *hook["entry"].split()[1:], *hook.get("args", [])]
    assert subprocess.run([*entry, str(good)], capture_output=True).returncode == 0
    done = subprocess.run([*entry, str(good), str(bad)], capture_output=True, text=True)
    assert done.returncode == 1 and "polarsx" in done.stdout


@pytest.mark.requires("python3.12")
def test_kaggles_python_decides_what_this_one_cannot_parse(tmp_path: Path, capsys, monkeypatch) -> None:
    import os

    from tests.requires import python312

    found = python312()
    assert found is not None
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3.12").symlink_to(found)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    nb = write_notebook(tmp_path / "nb.ipynb", ["type Vector = list[float]\n", "print('never closed\n)\n",
                                                "x = f'{'a' + 'b'}'\n"])  # fmt: skip (3.12 nests quotes)
    code, result = run_check(capsys, str(nb))
    report = result["files"][0]
    what = {f["cell"]: (f["severity"], f["what"]) for f in report["findings"]}
    assert what[3][0] == "error" and what[3][1].startswith("SyntaxError (line 1: unterminated string literal")
    if sys.version_info < (3, 12):  # 3.12 reads the other two cells: they are only "not read" here
        assert what[2] == ("warning", what[2][1]) and "is Python 3.12 syntax, which Kaggle runs" in what[2][1]
        assert what[4][0] == "warning"
    assert code == 1


def test_the_command_lines_check_does_not_compile_jsonschemas_iri_grammars(tmp_path: Path) -> None:
    """JupyterLab installs rfc3987-syntax (jsonschema's format extra), whose import compiles 38 grammars (~0.8 s)
    when nbformat's validation imports jsonschema: a pre-commit hook or a CI step would pay it on every call."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("rfc3987_syntax") is None:
        pytest.skip("rfc3987-syntax is not installed: nothing to avoid")  # a failure in CI (tests/requires.py)
    path = write_notebook(tmp_path / "sub.ipynb", ["import pandas"])
    probe = (
        "import sys\nfrom kaggle_magics.cli import main\ncode = main(['check', sys.argv[1]])\n"
        "print(code, sys.modules.get('rfc3987_syntax'), 'jsonschema' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 None True", done.stdout + done.stderr


def test_a_uv_pip_install_magic_provides_what_it_installs(tmp_path: Path, capsys) -> None:
    """%uv pip install X with the internet on installs X, as %pip install X does: its import is no error."""
    for magic in ("%pip install", "%uv pip install"):
        path = write_notebook(tmp_path / "nb.ipynb", [f"{magic} polarsx\nimport polarsx"])
        code, report = run_check(capsys, str(path), "--internet")
        assert code == 0 and report["files"][0]["findings"] == [], (magic, report["files"][0]["findings"])
