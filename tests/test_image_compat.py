"""kaggle-magics installs into Kaggle's image as it is: its requirements are met by the image's own versions
(``pip install kaggle-magics`` in a Kaggle notebook upgrades nothing), and its magics work under them
(IPython 7.34, ipykernel 6.17.1, nbclient 0.5.13, jupyter_client 7.4.9, traitlets 5.15, kaggle 2.0.1,
kagglehub 1.0.0), as well as under current releases (the rest of the suite).

The image's versions come from the test wheelhouse (tests/wheelhouse), so nothing here uses an index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kaggle_magics.bundle import shipped_base
from kaggle_magics.bundle.resolve import find_uv, parse_lock
from kaggle_magics.bundle.wheels import own_wheel
from tests import wheelhouse
from tests.requires import python312

ROOT = Path(__file__).parent.parent
# What kaggle-magics adds to the image (it has none of these): nothing else may be missing.
ADDITIONS = {"uv"}
IMAGE_VERSIONS = {
    "ipython": "7.34.0",
    "ipykernel": "6.17.1",
    "nbclient": "0.5.13",
    "jupyter-client": "7.4.9",
    "traitlets": "5.15.0",
    "kaggle": "2.0.1",
    "kagglehub": "1.0.0",
}
# The magics' tests, run again in a venv that holds the image's versions.
MAGICS_TESTS = [
    "test_extension.py", "test_magics_bundle.py", "test_magics_local.py", "test_magics_sub.py", "test_push.py",
    "test_status.py", "test_submit.py", "test_outputs.py", "test_datasets.py", "test_models.py",
    "test_backend_kaggle.py", "test_qa_verbs.py", "test_qa_submission.py", "test_panel.py", "test_scan.py",
]  # fmt: skip


def _requirements() -> list[Requirement]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def _kaggle_environment() -> dict[str, str]:
    env = default_environment()
    env.update(
        python_version="3.12", python_full_version="3.12.12", sys_platform="linux", platform_system="Linux",
        platform_machine="x86_64", os_name="posix", implementation_name="cpython",
        platform_python_implementation="CPython",
    )  # fmt: skip
    return env


def test_every_requirement_is_met_by_the_image_as_it_is() -> None:
    image = shipped_base()
    assert image.python == "3.12"
    environment = _kaggle_environment()
    upgrades, added = [], []
    for req in _requirements():
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        have = image.version_of(req.name)
        if have is None:
            added.append(str(canonicalize_name(req.name)))
        elif not req.specifier.contains(have, prereleases=True):
            upgrades.append(f"{req} (the image has {have})")
    assert upgrades == [], "installing kaggle-magics in Kaggle's image would upgrade: " + ", ".join(upgrades)
    assert set(added) == ADDITIONS


@pytest.mark.requires("image-wheelhouse")
def test_the_whole_closure_resolves_to_the_images_versions(tmp_path: Path) -> None:
    """Not only the direct requirements: their own (kaggle's, nbclient's, ...) too, from the wheels of the
    image's exact versions and no index; only the additions may be new."""
    uv = find_uv()
    assert uv is not None
    (tmp_path / "requirements.in").write_text("\n".join(str(r) for r in _requirements()) + "\n")
    image = shipped_base()
    (tmp_path / "image.txt").write_text("".join(f"{n}=={v}\n" for n, v in image.preferences().items()))
    done = subprocess.run(
        [uv, "pip", "compile", "--quiet", "--no-config", "--format", "pylock.toml", "--no-index", "--find-links",
         str(wheelhouse.folder()), "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28",
         "-c", str(tmp_path / "image.txt"), str(tmp_path / "requirements.in"), "-o", str(tmp_path / "pylock.toml")],
        capture_output=True, text=True, env={**os.environ, "UV_NO_CONFIG": "1"},
    )  # fmt: skip
    assert done.returncode == 0, (
        "kaggle-magics's requirements do not resolve to Kaggle's image versions (or the wheelhouse lacks a new "
        f"requirement: python -m tests.wheelhouse --lock):\n{done.stderr}"
    )
    pins = {pin.project: pin.version for pin in parse_lock(tmp_path / "pylock.toml")}
    new = {name for name in pins if image.version_of(name) is None}
    assert new == ADDITIONS
    assert all(image.provides(name, version or "") for name, version in pins.items() if name not in ADDITIONS)
    for name, version in IMAGE_VERSIONS.items():
        assert pins[name] == version


@pytest.mark.slow
@pytest.mark.requires("python3.12", "image-wheelhouse")
def test_the_magics_tests_pass_under_the_images_versions(tmp_path: Path) -> None:
    """A venv of Python 3.12 with kaggle-magics installed from its wheel and its requirements at the image's
    versions (the image list as constraints, no index); then the magics' tests run inside it."""
    uv = find_uv()
    assert uv is not None
    python = python312()
    assert python is not None
    started = time.monotonic()
    venv = tmp_path / "image-venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", PIP_CONFIG_FILE=os.devnull)
    subprocess.run([uv, "venv", "-q", "--python", python, str(venv)], check=True, env=env)
    (tmp_path / "image.txt").write_text(
        "".join(f"{n}=={v}\n" for n, v in shipped_base().preferences().items() if n != "kaggle-magics")
    )
    wheel = own_wheel(tmp_path)
    install = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-index", "--find-links",
         str(wheelhouse.folder()), "-c", str(tmp_path / "image.txt"), str(wheel), "pytest", "ipywidgets"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [uv, "pip", "freeze", "--python", str(venv / "bin" / "python")],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    versions = {
        str(canonicalize_name(name)): version
        for name, _, version in (line.partition("==") for line in listed.splitlines())
    }
    for name, version in IMAGE_VERSIONS.items():
        assert versions[name] == version, (name, versions.get(name))
    built = time.monotonic() - started

    run_env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         *(f"tests/{name}" for name in MAGICS_TESTS)],
        cwd=ROOT, capture_output=True, text=True, env=run_env, timeout=900,
    )  # fmt: skip
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, f"the magics' tests failed under Kaggle's image versions:\n{tail}\n{run.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail and "error" not in tail.lower()
    print(f"image venv built in {built:.1f} s; the magics' tests ran in {time.monotonic() - started - built:.1f} s")


def test_the_wheel_kaggle_magics_makes_of_itself_carries_its_requirements(tmp_path: Path) -> None:
    """Bundles and the demo install kaggle-magics from the wheel it makes of itself: it must require what the
    installed distribution requires, also from a source checkout (whose egg-info comes first on sys.path)."""
    code = (
        "import sys, zipfile; from kaggle_magics.bundle.wheels import own_wheel; "
        "w = zipfile.ZipFile(own_wheel(sys.argv[1])); "
        "print([n for n in w.namelist() if n.endswith('METADATA')] and "
        "w.read([n for n in w.namelist() if n.endswith('METADATA')][0]).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    lines = [line.split(":", 1)[1] for line in out.splitlines() if line.startswith("Requires-Dist:")]
    assert {r.name for r in _requirements()} <= {Requirement(line).name for line in lines}
