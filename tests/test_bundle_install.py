"""install: offline for real (fresh venvs, the network cut), verified before anything is written, a no-op when
everything is there, and the generated first cell working on an interpreter without kaggle-magics."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kaggle_magics.bundle import MANIFEST_NAME, freeze, install, install_cell_source, read_manifest
from kaggle_magics.bundle.install_main import main as install_main
from kaggle_magics.bundle.installing import locate_bundles
from kaggle_magics.errors import BundleError

from .fixtures_bundle import PackageIndex, copy_bundle, installed_in, offline
from .requires import python312, require

pytestmark = pytest.mark.usefixtures("bundle_env")  # uv's cache: the session's, never the user's


def attach(bundle: Path, input_root: Path, slug: str = "cmi-deps") -> Path:
    """Lay a bundle out as Kaggle attaches a kernel's output: <input root>/<slug>/<folder>."""
    return copy_bundle(bundle, input_root / slug / bundle.name)


def run_cell(
    python: Path, input_root: Path, sources: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the generated first cell with ``python``, the network cut, as a stock image would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHONPATH"))}
    env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]  # the session's (bundle_env), not the user's
    env["KAGGLE_MAGICS_INPUT_ROOT"] = str(input_root)
    return subprocess.run(
        offline([str(python), "-c", install_cell_source(sources)]),
        capture_output=True, text=True, env=env, timeout=120, cwd=input_root.parent,
    )  # fmt: skip


def test_first_cell_installs_offline_into_an_interpreter_without_kaggle_magics(
    alpha_bundle: Path, tmp_path: Path, make_venv
) -> None:
    python = make_venv()
    assert installed_in(python, "kaggle-magics") is None and installed_in(python, "packaging") is None
    root = tmp_path / "input"
    attach(alpha_bundle, root)
    (root / "competition-data").mkdir()
    (root / "competition-data" / "train.csv").write_text("a,b\n")

    first = run_cell(python, root, ["me/cmi-deps"])
    assert first.returncode == 0, first.stderr
    assert "bundle installed: 2 packages" in first.stdout
    assert "kmt-alpha==1.0, kmt-beta==1.0" in first.stdout
    assert "uv 0.13" in first.stdout or "from the bundle" in first.stdout

    # imports and the console script work, with the network still cut
    check = subprocess.run(
        offline([str(python), "-I", "-c", "import kmt_alpha; print(kmt_alpha.VALUE)"]),
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "alpha+beta", check.stderr
    script = python.parent / "kmt-alpha"
    ran = subprocess.run(offline([str(script)]), capture_output=True, text=True)
    assert ran.stdout.strip() == "kmt-alpha says alpha+beta", ran.stderr
    # the installer's helpers were only borrowed: kaggle-magics and packaging are still not installed
    assert installed_in(python, "kaggle-magics") is None and installed_in(python, "packaging") is None

    started = time.monotonic()
    second = run_cell(python, root)  # no sources: every bundle under the input root
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "nothing to do, everything is already installed" in second.stdout
    # two interpreter starts and a probe, no installer (the in-process no-op is held to 1 s below); the margin
    # is for a loaded 2-core machine
    assert elapsed < 3.0, f"second run took {elapsed:.2f} s"
    assert re.search(r"time +0\.\d\d s", second.stdout), second.stdout  # the work itself: under a second


def test_second_install_is_a_fast_no_op(alpha_bundle: Path, make_venv) -> None:
    python = make_venv()
    result = install([alpha_bundle], python=python, progress=False)
    assert result.installed == ["kmt-alpha==1.0", "kmt-beta==1.0"] and not result.already_satisfied
    assert result.verified_files == len(read_manifest(alpha_bundle).files)
    started = time.monotonic()
    again = install([alpha_bundle], python=python, progress=False)
    assert time.monotonic() - started < 1.0
    assert again.already_satisfied and again.installed == [] and again.installer is None
    venv = str(python.parent.parent)
    assert not [p for p in sys.path if p.startswith(venv)], "another interpreter's site-packages leaked in"
    assert "nothing to do" in str(again) and "nothing to do" in again._repr_html_()


def test_kaggle_target_bundle_installs_into_python_312(alpha_bundle: Path, make_venv) -> None:
    require("python3.12")
    python = python312()
    assert python is not None
    venv = make_venv("venv312", python=python)
    result = install([alpha_bundle], python=venv, progress=False)
    assert result.python.startswith("Python 3.12")
    out = subprocess.run(
        [str(venv), "-I", "-c", "import kmt_alpha; print(kmt_alpha.VALUE)"], capture_output=True, text=True
    )
    assert out.stdout.strip() == "alpha+beta"


def test_hash_mismatch_stops_before_anything_is_installed(
    alpha_bundle: Path, tmp_path: Path, make_venv
) -> None:
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    wheel = bundle / "kmt_alpha-1.0-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    wheel.write_bytes(bytes(data))
    python = make_venv()
    with pytest.raises(
        BundleError, match=r"kmt_alpha-1.0-py3-none-any.whl in .* is corrupted: sha256"
    ) as info:
        install([bundle], python=python, progress=False)
    assert "nothing was installed" in (info.value.hint or "")
    assert installed_in(python, "kmt-alpha") is None
    assert installed_in(python, "kmt-beta") is None, "the intact wheel was not installed either"


def test_missing_or_truncated_file_is_named(alpha_bundle: Path, tmp_path: Path, make_venv) -> None:
    python = make_venv()
    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    (bundle / "kmt_beta-1.0-py3-none-any.whl").unlink()
    with pytest.raises(BundleError, match=r"kmt_beta-1.0-py3-none-any.whl is missing from the bundle"):
        install([bundle], python=python, progress=False)
    other = copy_bundle(alpha_bundle, tmp_path / "deps2")
    tool = next(other.glob("kaggle_magics-*.whl"))
    tool.write_bytes(tool.read_bytes()[:-10])
    with pytest.raises(BundleError, match=rf"{tool.name} in .* is corrupted: \d+ bytes, the manifest says"):
        install([other], python=python, progress=False)
    assert installed_in(python, "kmt-alpha") is None


def test_foreign_wheel_is_refused_naming_its_tags(
    bundle_env: PackageIndex, tmp_path: Path, make_venv
) -> None:
    bundle = freeze(["kmt-mac", "kmt-delta"], platform="macosx_14_0_arm64", dest=tmp_path / "mac-deps",
                    **bundle_env.freeze_kwargs()).dest  # fmt: skip
    python = make_venv()
    with pytest.raises(BundleError) as info:
        install([bundle], python=python, progress=False)
    message = info.value.message
    assert "kmt_mac-1.0-cp312-cp312-macosx_11_0_arm64.whl does not fit Python 3.11" in message
    assert "its tags are cp312-cp312-macosx_11_0_arm64" in message
    assert "the interpreter accepts cp311-cp311-" in message and "manylinux_2_" in message
    assert installed_in(python, "kmt-delta") is None, "refused before installing the wheels that fit"


def test_not_enough_disk_space_refuses_before_installing(bundle_env: PackageIndex, tmp_path: Path) -> None:
    """A real small disk: a venv on a 400 kB tmpfs (``unshare -rm``), a bundle that unpacks to 600 kB."""
    require("unshare")
    bundle = freeze(["kmt-big", "kmt-delta"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs()).dest
    small = tmp_path / "small"
    small.mkdir()
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    script = textwrap.dedent(
        f"""
        import json, os, subprocess, sys
        from kaggle_magics.bundle import install
        from kaggle_magics.errors import BundleError
        venv = {str(small / "venv")!r}
        subprocess.run([{uv!r}, "venv", "-q", "--python", sys.executable, venv], check=True)
        python = venv + "/bin/python"
        try:
            install([{str(bundle)!r}], python=python, progress=False)
        except BundleError as exc:
            error, hint = exc.message, exc.hint
        else:
            error = hint = None
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True).stdout.strip()
        print(json.dumps({{"error": error, "hint": hint, "site": sorted(os.listdir(site))}}))
        """
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f"mount -t tmpfs -o size=400k tmpfs {small} && exec {sys.executable} -c \"$0\"", script],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["error"] and outcome["error"].startswith("not enough space to install"), outcome
    assert "nothing was installed" in outcome["hint"]
    assert not [name for name in outcome["site"] if name.startswith("kmt")], outcome["site"]


def test_no_bundle_found_says_what_the_input_root_holds(tmp_path: Path) -> None:
    root = tmp_path / "input"
    (root / "titanic").mkdir(parents=True)
    (root / "my-weights").mkdir()
    (root / "titanic" / "train.csv").write_text("x\n")
    with pytest.raises(BundleError) as info:
        install(input_root=root, progress=False)
    assert (
        info.value.message == f"no bundle found under the input root {root} (it holds my-weights/, titanic/)"
    )
    assert "attach the notebook or dataset" in (info.value.hint or "")
    with pytest.raises(BundleError, match="it does not exist"):
        install(input_root=tmp_path / "nowhere", progress=False)
    with pytest.raises(
        BundleError, match=r"me/cmi-deps: no bundle attached under .* \(it holds my-weights/, titanic/\)"
    ):
        install(["me/cmi-deps"], input_root=root, progress=False)
    with pytest.raises(BundleError, match=r"titanic: no bundle in it .* it holds train.csv"):
        install([root / "titanic"], progress=False)


def test_wheels_copied_without_their_manifest(alpha_bundle: Path, tmp_path: Path) -> None:
    copied = tmp_path / "just-wheels"
    copied.mkdir()
    for wheel in alpha_bundle.glob("*.whl"):
        shutil.copy2(wheel, copied / wheel.name)
    with pytest.raises(BundleError, match=rf"just-wheels: \d+ wheels but no {MANIFEST_NAME}") as info:
        install([copied], progress=False)
    assert f"copy {MANIFEST_NAME} along with the wheels" in (info.value.hint or "")


def test_owner_slug_is_found_wherever_kaggle_put_it(alpha_bundle: Path, tmp_path: Path, make_venv) -> None:
    root = tmp_path / "input"
    copy_bundle(alpha_bundle, root / "notebooks" / "me" / "cmi-deps" / "output" / "kaggle_deps")
    python = make_venv()
    result = install(["me/cmi-deps"], python=python, input_root=root, progress=False)
    assert result.bundles == [str(root / "notebooks" / "me" / "cmi-deps" / "output" / "kaggle_deps")]
    assert installed_in(python, "kmt-alpha") == "1.0"


def test_first_cell_finds_bundles_in_todays_nested_layout(alpha_bundle: Path, tmp_path: Path, make_venv) -> None:
    """A bundle attached as a model version sits 7 folders deep; a dataset's under datasets/<owner>/<slug>."""
    root = tmp_path / "input"
    deep = root / "models" / "me" / "cmi-deps" / "other" / "v1" / "3" / "kaggle_deps"
    copy_bundle(alpha_bundle, deep)
    (root / "competitions" / "cmi").mkdir(parents=True)
    python = make_venv()
    result = run_cell(python, root)  # no sources: every bundle under the input root
    assert result.returncode == 0, result.stderr
    assert "bundle installed: 2 packages" in result.stdout and str(deep) in result.stdout
    assert installed_in(python, "kmt-alpha") == "1.0"
    dataset = copy_bundle(alpha_bundle, root / "datasets" / "me" / "cmi-codes" / "kaggle_deps")
    assert [m.folder for m in locate_bundles(["me/cmi-codes"], root)] == [dataset]


def test_only_the_named_requirements(alpha_bundle: Path, make_venv) -> None:
    python = make_venv()
    result = install([alpha_bundle], requirements=["kmt-beta"], python=python, progress=False)
    assert result.installed == ["kmt-beta==1.0"]
    assert installed_in(python, "kmt-alpha") is None


def test_python_given_relative_to_the_current_folder(
    alpha_bundle: Path, make_venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv()  # <tmp>/venv/bin/python, named as a user types it: venv/bin/python
    monkeypatch.chdir(python.parent.parent.parent)
    result = install([alpha_bundle], requirements=["kmt-beta"], python="venv/bin/python", progress=False)
    assert result.installed == ["kmt-beta==1.0"]
    assert installed_in(python, "kmt-beta") == "1.0"


def test_named_requirement_missing_from_the_bundle_is_said_up_front(alpha_bundle: Path, make_venv) -> None:
    python = make_venv()
    with pytest.raises(BundleError, match=r"pandas is not in the bundle \(.* holds kmt-alpha, kmt-beta") as info:
        install([alpha_bundle], requirements=["pandas"], python=python, progress=False)
    assert "freeze it too" in (info.value.hint or "")
    with pytest.raises(BundleError, match=r"kmt-beta==9\.9: the bundle has kmt-beta 1\.0 only"):
        install([alpha_bundle], requirements=["kmt-beta==9.9"], python=python, progress=False)
    assert installed_in(python, "kmt-beta") is None


def test_pip_fallback_when_there_is_no_uv(alpha_bundle: Path, make_venv) -> None:
    python = make_venv()  # made by uv: no pip inside, so this machine's pip drives it with --python
    result = install([alpha_bundle], python=python, installer="pip", progress=False)
    assert result.installer == "pip (no uv available)"
    assert result.installed == ["kmt-alpha==1.0", "kmt-beta==1.0"]
    assert (python.parent / "kmt-alpha").exists()


def test_what_is_already_satisfied_is_left_alone(bundle_env: PackageIndex, tmp_path: Path, make_venv) -> None:
    python = make_venv()
    old = freeze(["kmt-gamma==1.0"], dest=tmp_path / "old", **bundle_env.freeze_kwargs()).dest
    install([old], python=python, progress=False)
    assert installed_in(python, "kmt-gamma") == "1.0"
    # a bundle frozen without a base holds gamma 2.0, but "kmt-gamma" is met by the installed 1.0
    new = freeze(["kmt-gamma"], dest=tmp_path / "new", **bundle_env.freeze_kwargs()).dest
    result = install([new], python=python, progress=False)
    assert result.already_satisfied and installed_in(python, "kmt-gamma") == "1.0"
    # asking for more than what is installed upgrades it, and says so
    upgrade = install([new], requirements=["kmt-gamma>=2"], python=python, progress=False)
    assert upgrade.installed == ["kmt-gamma==2.0"]
    assert upgrade.replaced == ["kmt-gamma 1.0 -> 2.0"]


def test_left_out_package_missing_on_the_target_is_explained(
    bundle_env: PackageIndex, tmp_path: Path, make_venv
) -> None:
    base = tmp_path / "base.txt"
    base.write_text("kmt-beta==1.0\n")
    bundle = freeze(["kmt-alpha"], base=base, dest=tmp_path / "deps", **bundle_env.freeze_kwargs()).dest
    python = make_venv()
    with pytest.raises(BundleError) as info:
        install([bundle], python=python, progress=False)
    assert "kmt-beta" in info.value.message
    assert "left out as present in the base" in (info.value.hint or "")


def test_compiled_package_and_dirs_install_offline(
    bundle_env: PackageIndex, tmp_path: Path, make_venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside (a stand-in for) Kaggle: a C extension built for the running interpreter, plus a packed tool."""
    working = tmp_path / "working"
    working.mkdir()
    tool = tmp_path / "solver"
    (tool / "bin").mkdir(parents=True)
    (tool / "bin" / "solve").write_text("#!/bin/sh\necho solved\n")
    (tool / "bin" / "solve").chmod(0o755)
    (tool / "solve-link").symlink_to("bin/solve")
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    monkeypatch.setenv("KAGGLE_MAGICS_WORKING_DIR", str(working))
    bundle = freeze(["kmt-cext"], dirs=[tool], **bundle_env.freeze_kwargs()).dest
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")

    python = make_venv()
    dirs = tmp_path / "dirs"
    args = ["--from", str(bundle), "--python", str(python), "--dirs-dest", str(dirs)]
    code = f"import sys; from kaggle_magics.bundle.install_main import main; sys.exit(main({args!r}))"
    proc = subprocess.run(offline([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "kmt-cext==1.0" in proc.stdout and f"solver -> {dirs / 'solver'}" in proc.stdout
    assert "bundle installed: 1 package, 1 folder unpacked" in proc.stdout
    out = subprocess.run(
        offline([str(python), "-I", "-c", "import kmt_cext; print(kmt_cext.add(2, 3))"]),
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "5", out.stderr
    solved = subprocess.run([str(dirs / "solver" / "solve-link")], capture_output=True, text=True)
    assert solved.stdout.strip() == "solved"
    again = install([bundle], python=python, dirs_dest=dirs, progress=False)
    assert again.already_satisfied


def test_install_main_reports_errors_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "input").mkdir()
    code = install_main(["--input-root", str(tmp_path / "input")])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err.splitlines()[0]
        == f"error: no bundle found under the input root {tmp_path / 'input'} (it is empty)"
    )
    assert err.splitlines()[1].startswith("hint: attach")


def test_install_cell_is_plain_python_that_names_its_sources() -> None:
    source = install_cell_source(["me/cmi-deps", "me/solver"])
    compile(source, "<cell>", "exec")
    assert "%" not in source.replace("%s", ""), "no IPython magics: papermill and plain python run it too"
    assert "['me/cmi-deps', 'me/solver']" in source
    assert MANIFEST_NAME in source and "kaggle_magics.bundle.install_main" in source
    assert "pip install" not in source, "never an index"
    assert install_cell_source() != source and "_sources = []" in install_cell_source()


def test_bundle_without_uv_wheel_falls_back_to_pip_by_itself(
    alpha_bundle: Path, tmp_path: Path, make_venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle for a target uv has no wheel for still installs, through pip, when no uv is around."""
    import kaggle_magics.bundle.resolve as resolve

    bundle = copy_bundle(alpha_bundle, tmp_path / "deps")
    manifest = read_manifest(bundle)
    tool = manifest.tool("installer")
    assert tool is not None
    manifest.files = [f for f in manifest.files if f.role != "installer"]
    (bundle / tool.filename).unlink()
    manifest.write(bundle)
    monkeypatch.setattr(resolve, "find_uv", lambda: None)
    python = make_venv()
    result = install([bundle], python=python, progress=False)
    assert result.installer == "pip (no uv available)"
    assert installed_in(python, "kmt-alpha") == "1.0"
    shutil.rmtree(bundle)


def test_replaced_modules_already_imported_ask_for_a_restart() -> None:
    from kaggle_magics.bundle.installing import _imported_before

    assert _imported_before(["pytest 8.0 -> 9.2", "kmt-never-imported 1 -> 2"]) == ["pytest"]
    assert _imported_before([]) == []


def test_a_package_the_bundle_left_out_is_found_in_a_layered_venv(
    bundle_env: PackageIndex, tmp_path: Path, make_venv
) -> None:
    """The bundle leaves kmt-delta out (its base has it); the target venv sees kmt-delta only through a .pth
    that layers another venv in (as a local run's venv over the image twin): uv, which reads the target's
    own site-packages alone, would miss it, so pip installs, and nothing is looked for in the bundle."""
    image = make_venv("image")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(image), "install", "-q", "--isolated", "--no-index",
         "--find-links", str(bundle_env.links), "kmt-delta"], check=True, capture_output=True,
    )  # fmt: skip
    python = make_venv("run")
    code = "import site, sysconfig; print(sysconfig.get_paths()['purelib'])"
    image_site, run_site = (
        subprocess.run([str(p), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        for p in (image, python)
    )
    Path(run_site, "_image.pth").write_text(f"import site; site.addsitedir({image_site!r})\n")
    base = tmp_path / "base.txt"
    base.write_text("kmt-delta==1.0\n")
    bundle = freeze(["kmt-gamma==2.0"], dest=tmp_path / "deps", base=base, **bundle_env.freeze_kwargs()).dest
    assert [item["project"] for item in read_manifest(bundle).left_out] == ["kmt-delta"]

    result = install([bundle], python=python, progress=False)
    assert result.installed == ["kmt-gamma==2.0"], result
    assert result.installer.startswith("pip (the bundle relies on kmt-delta, installed outside"), result.installer
    assert installed_in(python, "kmt-delta") == "1.0" and not list(Path(run_site).glob("kmt_delta*"))
