"""Local runs execute in Kaggle's image, not the user's environment: the image twin holds the kernel machinery
at the image's versions and the base packages the notebook (and the code it attaches) imports, nothing else;
what the cells install comes from attached bundles, as on Kaggle. Built once per package set, before the run,
from the test wheelhouse (no PyPI); bad bases, missing packages, no network and a damaged cache are clear
errors that leave nothing half-built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kaggle_magics.bundle import install_cell_source
from kaggle_magics.errors import BundleError, ImageError
from kaggle_magics.handles import DatasetRef
from kaggle_magics.local import image, interpreters
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.environment import USER_NOTE
from kaggle_magics.local.rehearse import rehearse
from tests import wheelhouse
from tests.fixtures_bundle import PackageIndex
from tests.fixtures_local import make_notebook, make_wheel

pytestmark = [pytest.mark.requires("bwrap", "image-wheelhouse"), pytest.mark.slow]


def _notebook(tmp_path: Path, *cells: str, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    path.write_text(make_notebook(list(cells)), encoding="utf-8")
    return path


def _log(result) -> str:
    return "".join(entry["data"] for entry in json.loads(result.log.read_text()))


@pytest.fixture
def test_base(bundle_env: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A base snapshot that holds the test packages (which this venv lacks), served from the test index."""
    monkeypatch.setenv("UV_FIND_LINKS", f"{bundle_env.links},{wheelhouse.folder()}")
    base = tmp_path / "kaggle-base.txt"
    base.write_text("# python 3.12\nkmt-alpha==1.0\nkmt-beta==1.0\nkmt-gamma==3.0\nkmt-delta==1.0\n")
    return base


def test_a_package_only_in_the_users_environment_fails_as_on_kaggle(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "import json, sys\nprint(sys.version)", "import kaggle_magics")
    result = rehearse(nb)
    assert result.status == "ERROR"
    assert result.failure_message and "ModuleNotFoundError: No module named 'kaggle_magics'" in result.failure_message
    assert result.cells[0].status == "ok" and result.cells[1].status == "error"
    assert any("no package of the base" in n and "kaggle_magics (cell 2, line 1)" in n for n in result.notes)
    assert any("kaggle_magics is installed in your environment, not in Kaggle's image" in n for n in result.notes)
    assert "\n3.12." in _log(result)  # the image's Python

    # --env user keeps the old way: the user's packages are there, and the run says it is not Kaggle's
    user = rehearse(nb, env="user")
    assert user.ok, user.failure_message
    assert USER_NOTE in user.notes


def test_the_run_sees_nothing_of_the_users_environment(tmp_path: Path) -> None:
    import site

    host = sorted({sys.prefix, *site.getsitepackages(), site.getusersitepackages()})
    nb = _notebook(
        tmp_path,
        f"import sys, importlib.util\nhost = {host!r}\n"
        "leaks = [p for p in sys.path if any(p.startswith(h) for h in host)]\n"
        "assert not leaks, leaks\n"
        "assert importlib.util.find_spec('pytest') is None  # in the user's venv and in the base, not imported\n"
        "import IPython, ipykernel, jupyter_client, traitlets, tornado, zmq\n"
        "print(IPython.__version__, ipykernel.__version__, jupyter_client.__version__, traitlets.__version__)",
    )
    result = rehearse(nb)
    assert result.ok, (result.failure_message, _log(result)[-2000:])
    assert "7.34.0 6.17.1 7.4.9 5.15.0" in _log(result)  # the image's kernel machinery


def test_a_package_of_the_base_that_the_user_lacks_is_there(
    test_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    assert importlib.util.find_spec("kmt_alpha") is None
    nb = _notebook(tmp_path, "import kmt_alpha, kmt_beta\nprint('alpha from', kmt_alpha.__file__)")
    result = rehearse(nb, base=str(test_base))
    assert "building Kaggle's image twin once (Python 3.12" in capsys.readouterr().err
    assert result.ok, (result.failure_message, _log(result)[-2000:])
    assert "alpha from" in _log(result)
    # kmt-gamma, kmt-delta: in the base, not imported: not in the twin
    plan = image.plan(nb.read_text(), {}, image.choose_base(str(test_base)))
    assert {"kmt-alpha", "kmt-beta"} <= set(plan.requirements) and "kmt-gamma" not in plan.requirements
    twin = image.cached(plan)
    assert twin is not None and twin.installed["kmt-alpha"] == "1.0" and "kmt-gamma" not in twin.installed
    assert twin.site_packages.stat().st_mode & 0o222 == 0, "the cached twin's folders are read-only"

    # the second run of the same notebook reuses the twin: nothing is built
    started = time.monotonic()
    again = rehearse(nb, base=str(test_base))
    assert again.ok
    assert "building" not in capsys.readouterr().err
    assert again.total_seconds is not None and (time.monotonic() - started) - again.total_seconds < 1.5


def test_the_code_of_an_attached_dataset_brings_its_imports(test_base: Path, tmp_path: Path) -> None:
    code = tmp_path / "codes"
    code.mkdir()
    (code / "helpers.py").write_text("import kmt_alpha\n\ndef answer():\n    return kmt_alpha.__name__\n")
    LocalBackend().dataset_upload(code, DatasetRef.parse("me/my-codes"))
    nb = _notebook(
        tmp_path,
        "import os, sys\nroot = os.environ.get('KAGGLE_MAGICS_INPUT_ROOT', '/kaggle/input')\n"
        "sys.path.append(f'{root}/datasets/me/my-codes')\nimport helpers\nprint('helpers say', helpers.answer())",
    )
    result = rehearse(nb, base=str(test_base), dataset_sources=["me/my-codes"])
    assert result.ok, (result.failure_message, _log(result)[-2000:])
    assert "helpers say kmt_alpha" in _log(result)
    assert not any("no package of the base" in note for note in result.notes), "helpers is the dataset's own"


def test_a_bundle_attached_and_installed_by_the_first_cell_works(alpha_bundle: Path, tmp_path: Path) -> None:
    """kmt-alpha is in no base: it comes from the attached bundle, installed offline by the first cell; and a
    `!pip install --no-index --find-links` cell installs with the image's pip."""
    backend = LocalBackend()
    backend.dataset_upload(alpha_bundle, DatasetRef.parse("me/alpha-deps"))
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypkg", "0.3")
    backend.dataset_upload(wheels, DatasetRef.parse("me/tiny-wheels"))
    nb = _notebook(
        tmp_path,
        install_cell_source(),
        "import kmt_alpha, sys\nassert kmt_alpha.__file__.startswith(sys.prefix), kmt_alpha.__file__",
        "import os\nroot = os.environ.get('KAGGLE_MAGICS_INPUT_ROOT', '/kaggle/input')\n"
        "!pip install -q --no-index --find-links {root}/datasets/me/tiny-wheels tinypkg",
        "import tinypkg\nassert tinypkg.VALUE == 42\nimport pip\nprint('pip', pip.__version__)",
    )
    result = rehearse(nb, dataset_sources=["me/alpha-deps", "me/tiny-wheels"])
    assert result.ok, (result.failure_message, _log(result)[-3000:])
    assert "pip 24.1.2" in _log(result)
    assert not any("kmt_alpha" in note for note in result.notes), "an attached bundle brings it: no warning"


def test_what_an_attached_bundle_left_out_for_the_image_is_in_the_twin(
    bundle_env: PackageIndex, test_base: Path, tmp_path: Path
) -> None:
    """kmt-gamma's bundle leaves kmt-delta out (the image has it) and the notebook imports kmt_gamma alone:
    the twin still holds kmt-delta, as the image does, so the offline install works as it would on Kaggle."""
    from kaggle_magics.bundle import freeze, read_manifest

    image_list = tmp_path / "image.txt"
    image_list.write_text("# python 3.12\nkmt-delta==1.0\n")
    bundle = freeze(["kmt-gamma==2.0"], dest=tmp_path / "deps", base=image_list, **bundle_env.freeze_kwargs()).dest
    assert [item["project"] for item in read_manifest(bundle).left_out] == ["kmt-delta"]
    LocalBackend().dataset_upload(bundle, DatasetRef.parse("me/gamma-deps"))
    nb = _notebook(tmp_path, install_cell_source(), "import kmt_gamma\nprint('gamma', kmt_gamma.VERSION)")
    result = rehearse(nb, base=str(image_list), dataset_sources=["me/gamma-deps"])  # (test_base: its index)
    assert result.ok, (result.failure_message, _log(result)[-3000:])
    assert "gamma 2.0" in _log(result)
    inputs = {"datasets/me/gamma-deps": tmp_path / "deps"}
    planned = image.plan(nb.read_text(), inputs, image.choose_base(str(image_list)))
    assert planned.requirements["kmt-delta"] == "1.0" and "kmt-gamma" not in planned.requirements
    assert planned.imported["kmt-delta"] == "a requirement of the bundle attached at datasets/me/gamma-deps"


def test_a_freeze_in_a_run_leaves_out_all_the_image_has_not_only_what_the_twin_holds(
    alpha_bundle: Path, tmp_path: Path
) -> None:
    """The twin holds the image's packages that the notebook imports; what a freeze in a deps kernel takes as
    the running image (its base, left out of the bundle) is the whole image, as on Kaggle."""
    from kaggle_magics.bundle import shipped_base

    LocalBackend().dataset_upload(alpha_bundle, DatasetRef.parse("me/alpha-deps"))
    nb = _notebook(
        tmp_path,
        "import glob, importlib.util, os, sys\nroot = os.environ.get('KAGGLE_MAGICS_INPUT_ROOT', '/kaggle/input')\n"
        "sys.path[:0] = sorted(glob.glob(f'{root}/datasets/me/alpha-deps/*.whl'))  # the bundle's kaggle-magics\n"
        "from kaggle_magics.bundle.base import running_environment\n"
        "image = running_environment()\n"
        "print('numpy', image.version_of('numpy'), 'importable:', importlib.util.find_spec('numpy') is not None)\n"
        "print('ipykernel', image.version_of('ipykernel'))",
    )
    result = rehearse(nb, dataset_sources=["me/alpha-deps"])
    assert result.ok, (result.failure_message, _log(result)[-3000:])
    log = _log(result)
    assert f"numpy {shipped_base().version_of('numpy')} importable: False" in log, "listed, not in the twin"
    assert "ipykernel 6.17.1" in log


def test_a_release_the_index_lacks_falls_back_to_the_nearest_and_says_so(test_base: Path, tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "import kmt_gamma\nprint('gamma', kmt_gamma.VERSION)")
    result = rehearse(nb, base=str(test_base))  # the base has kmt-gamma 3.0; the index 1.0 and 2.0
    assert result.ok, (result.failure_message, _log(result)[-2000:])
    assert "gamma 2.0" in _log(result)
    fallback = [
        note
        for note in result.notes
        if "kmt-gamma: the base has 3.0, which the index does not offer for Python 3.12: the twin has 2.0, the "
        "nearest release" in note
    ]
    assert len(fallback) == 1, result.notes  # said once, not again by the run's own environment


def test_a_package_of_the_base_that_no_index_has_is_a_clear_error(test_base: Path, tmp_path: Path) -> None:
    base = tmp_path / "base-zeta.txt"
    base.write_text(test_base.read_text() + "kmt-zeta==1.0\n")
    nb = _notebook(tmp_path, "import kmt_zeta")
    links = [arg for link in os.environ["UV_FIND_LINKS"].split(",") for arg in ("--find-links", link)]
    env = {k: v for k, v in os.environ.items() if k not in ("UV_FIND_LINKS", "UV_OFFLINE")}  # "online"
    before = set(image.cache_root().iterdir()) if image.cache_root().is_dir() else set()
    done = subprocess.run(
        [sys.executable, "-m", "kaggle_magics", "local", "image", "build", str(nb), "--base", str(base),
         "--no-index", *links],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    error, hint = done.stderr.strip().splitlines()[-2:]
    assert error.startswith("error: cannot build Kaggle's image twin for this run: kmt-zeta 1.0 (in the base")
    assert "imported as kmt_zeta) is on no index configured here" in error
    assert hint.startswith("hint: ") and "--env user" in hint
    assert "Traceback" not in done.stderr
    after = set(image.cache_root().iterdir())
    assert all(p.name.startswith(".") for p in after - before), "no twin was left half-built"
    assert not list(image.cache_root().glob(".tmp-*"))

    # offline (as the tests run uv) the same is a missing network, and a rehearsal leaves nothing behind
    with pytest.raises(ImageError, match="the index is unreachable") as info:
        rehearse(nb, base=str(base))
    assert "kaggle-magics local image build" in (info.value.hint or "")
    assert not list(LocalBackend().store.rehearsals_dir().glob("nb/*")), "no rehearsal folder left behind"


def test_a_base_that_is_not_pip_freeze_names_the_line(tmp_path: Path) -> None:
    base = tmp_path / "bad-base.txt"
    base.write_text("numpy==2.0\npandas>=2\n")
    with pytest.raises(BundleError, match=r"bad-base.txt, line 2: 'pandas>=2' is not name==version"):
        rehearse(_notebook(tmp_path, "import numpy"), base=str(base))


def test_a_damaged_twin_is_built_again_or_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _notebook(tmp_path, "import traitlets")
    assert rehearse(nb).ok
    plan = image.plan(nb.read_text(), {}, image.choose_base(None))
    twin = image.cached(plan)
    assert twin is not None
    image.set_writable(twin.path, True)
    victim = next(twin.site_packages.glob("traitlets-*.dist-info"))
    for path in sorted(victim.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    victim.rmdir()
    image.set_writable(twin.path, False)

    again = rehearse(nb)
    assert again.ok, again.failure_message
    assert any(f"was damaged ({victim.name} is missing) and was built again" in note for note in again.notes)

    # damaged again, and nowhere to build it from: said, with the way out
    image.set_writable(twin.path, True)
    (twin.path / image.MARKER).write_text("{not json")
    monkeypatch.setenv("UV_FIND_LINKS", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    with pytest.raises(ImageError, match=r"was damaged .*image.json is unreadable.* cannot be built again") as info:
        rehearse(nb)
    assert "kaggle-magics local image build" in (info.value.hint or "") or "index" in (info.value.hint or "")


@pytest.mark.requires("unshare")
def test_no_network_says_what_is_missing_and_how_to_build_it(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "import six")
    env = {k: v for k, v in os.environ.items() if k not in ("UV_OFFLINE", "UV_FIND_LINKS")}
    env.update(UV_CACHE_DIR=str(tmp_path / "cold-uv-cache"), KAGGLE_MAGICS_IMAGE_CACHE=str(tmp_path / "images"))
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "kaggle_magics", "rehearse", str(nb)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert any(line.startswith("error: cannot build Kaggle's image twin for this run") for line in lines)
    assert any("the index is unreachable" in line for line in lines), done.stderr
    assert any(line.startswith("hint: build it while online: kaggle-magics local image build") for line in lines)
    assert "Traceback" not in done.stderr


def test_image_build_while_online_then_runs_offline(
    test_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _notebook(tmp_path, "import kmt_delta\nprint('delta', kmt_delta.__name__)")
    env = {k: v for k, v in os.environ.items() if k != "UV_FIND_LINKS"}
    links = str(os.environ["UV_FIND_LINKS"]).split(",")
    cmd = [sys.executable, "-m", "kaggle_magics", "local", "image", "build", str(nb), "--base", str(test_base),
           "--no-index", *(arg for link in links for arg in ("--find-links", link))]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "kmt-delta==1.0" in done.stdout and "built in" in done.stdout
    assert "building Kaggle's image twin once" in done.stderr
    cached = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert cached.returncode == 0 and "in the cache" in cached.stdout
    # it checks every file of the cached twin: one gone, it is built again
    plan = image.plan(nb.read_text(), {}, image.choose_base(str(test_base)))
    twin = image.cached(plan)
    assert twin is not None
    image.set_writable(twin.path, True)
    (twin.site_packages / "kmt_delta" / "__init__.py").unlink()
    image.set_writable(twin.path, False)
    assert image.cached(plan) is not None, "a run's quick check looks at the metadata only"
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "built in" in again.stdout
    assert "(kmt_delta/__init__.py (of kmt_delta-1.0.dist-info) is missing) and was built again" in again.stdout

    # no index at all now: the run needs none
    monkeypatch.delenv("UV_FIND_LINKS")
    result = rehearse(nb, base=str(test_base))
    assert result.ok, result.failure_message

    # with no path: the twin of a notebook that imports nothing (the kernel machinery)
    alone = subprocess.run(
        [*cmd[:6], "--no-index", *(arg for link in links for arg in ("--find-links", link))],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    assert "the kernel alone: Python 3.12" in alone.stdout and "the kernel machinery only" in alone.stdout


def test_without_python_312_the_local_python_is_used_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreters, "find_python", lambda version="3.12": None)
    local = "{}.{}".format(*sys.version_info[:2])
    nb = _notebook(tmp_path, "import sys\nprint('python', sys.version_info[:2])")
    if local not in wheelhouse.PYTHONS:  # the test wheelhouse has no wheels for it: said as such
        with pytest.raises(ImageError, match="cannot build Kaggle's image twin"):
            rehearse(nb)
        return
    result = rehearse(nb)
    assert result.ok, (result.failure_message, _log(result)[-2000:])
    assert f"python ({sys.version_info[0]}, {sys.version_info[1]})" in _log(result)
    assert any(f"no Python 3.12 on this machine: the run uses Python {local}" in note for note in result.notes)


def test_env_and_base_from_the_project_the_flags_and_the_magics(
    test_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shell
) -> None:
    from kaggle_magics.cli import main

    nb = _notebook(tmp_path, "import kmt_alpha")
    project = tmp_path / "work"  # the shell fixture's working folder
    (project / "pyproject.toml").write_text(f'[tool.kaggle_magics]\nenv = "user"\nbase = "{test_base}"\n')
    assert main(["rehearse", str(nb)]) == 1  # your environment lacks kmt-alpha: no twin, no base packages
    out = capsys.readouterr().out
    assert "your own environment (--env user)" in out and "No module named 'kmt_alpha'" in out
    assert main(["rehearse", str(nb), "--env", "twin"]) == 0  # the flag wins; the base comes from the project
    capsys.readouterr()

    (project / "pyproject.toml").write_text('[tool.kaggle_magics]\nenv = "mine"\n')
    assert main(["rehearse", str(nb)]) == 2
    assert "env: unknown environment 'mine'" in capsys.readouterr().err

    (project / "pyproject.toml").unlink()
    shell.run(f'%config KaggleMagics.base = "{test_base}"')
    assert shell.run(f"%kaggle_rehearse {nb}").ok
    shell.run('%config KaggleMagics.env = "user"')
    assert USER_NOTE in shell.run(f"%kaggle_rehearse {nb} --base {test_base}").notes
    shell.run('%config KaggleMagics.env = "mine"')  # refused by the trait, with the choices in the log
    assert shell.ip.magics_manager.registry["KaggleMagics"].env == "user"


def test_a_push_gets_its_twin_before_the_run(test_base: Path, tmp_path: Path) -> None:
    from kaggle_magics.cli import main
    from kaggle_magics.handles import KernelRef
    from tests.fixtures_local import make_kernel

    folder = make_kernel(tmp_path / "kernel", "me/twin-push", ["import kmt_alpha\nprint('alpha', kmt_alpha.__name__)"])
    assert main(["push", str(folder), "--backend", "local", "--base", str(test_base)]) == 0
    backend = LocalBackend()
    status = backend.wait(KernelRef.parse("me/twin-push"), timeout=120)
    assert status.status == "COMPLETE", status.failure_message
    assert "alpha kmt_alpha" in "".join(e.data for e in backend.kernel_log(KernelRef.parse("me/twin-push")))

    bad = tmp_path / "bad.txt"
    bad.write_text("kmt-alpha\n")
    assert main(["push", str(folder), "--backend", "local", "--base", str(bad)]) != 0
    assert backend.kernel_versions(KernelRef.parse("me/twin-push")) == [1], "a failed push stores no version"
