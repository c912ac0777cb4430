"""example_notebooks/ executed end to end, so that the examples cannot rot.

Each notebook runs in a real Jupyter kernel of this environment (nbclient), in a temp copy of
example_notebooks/ as its working folder, against the embedded local Kaggle with a fresh store of its own
(``sub`` shares the one ``deps`` ran in: it attaches the deps kernel that ``deps`` pushed, so asking for
``sub`` runs ``deps`` first). The outputs, their folders named and their volatile parts normalised
(:mod:`tests.notebook_outputs`), are compared with the committed ones; a difference fails with a diff.
``KAGGLE_MAGICS_UPDATE_EXAMPLES=1`` writes the run's outputs into the committed notebooks instead (only those
whose normalised outputs changed, so the committed timings do not churn).

Nothing reaches an index: what the deps kernel installs and freezes comes from a wheelhouse this module lays
out beside the notebooks (the test wheelhouse, kaggle-magics's own wheel, your-feature-lib of tests/packages).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests import notebook_outputs, wheelhouse
from tests.fixtures_bundle import PACKAGES, PackageIndex, _build, _uv
from tests.fixtures_local import isolated_environ

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_notebooks"
UPDATE = "KAGGLE_MAGICS_UPDATE_EXAMPLES"
UPDATING = os.environ.get(UPDATE, "") not in ("", "0")  # read at import: each test's environment drops KAGGLE_*
ORDER = ("deps", "sub", "rehearse", "toolchain", "panel")  # the README's order
AFTER = {"sub": "deps"}  # runs in the store (and folder) of that one, after it
CELL_TIMEOUT = 600  # seconds; a cell that waits for a local run ends well before


def _left_by_runs() -> list[str]:
    """What running the examples writes beside them (example_notebooks/.gitignore): never copied into a run."""
    lines = (EXAMPLES / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


@dataclass
class Workspace:
    """A temp copy of example_notebooks/ with its own local store: where one notebook (and what follows it)
    runs."""

    folder: Path
    env: dict[str, str]
    places: dict[str, str]  # the run's folders -> how the committed outputs name them


@dataclass
class Examples:
    """The example runs of this module: each notebook executed once, in its workspace."""

    root: Path
    caches: Path
    index: PackageIndex
    kernels: Path  # the kernelspec folder: this interpreter
    spaces: dict[str, Workspace] = field(default_factory=dict)
    ran: dict[str, Any] = field(default_factory=dict)

    def run(self, name: str) -> Any:
        """``name``.ipynb executed (after what it follows), its outputs naming the run's folders."""
        if name in self.ran:
            return self.ran[name]
        first = AFTER.get(name)
        if first is not None:
            self.run(first)
        space = self.spaces.get(first or name) or self._workspace(first or name)
        executed = notebook_outputs.execute(
            space.folder / f"{name}.ipynb", env=space.env, kernels=self.kernels, timeout=CELL_TIMEOUT
        )
        self.ran[name] = notebook_outputs.name_places(executed, space.places)
        return self.ran[name]

    def _workspace(self, name: str) -> Workspace:
        root = self.root / name
        folder = root / "examples"
        shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(*_left_by_runs()))
        if name == "deps":
            _wheelhouse(folder / "wheelhouse", self.index)
        with isolated_environ(root / "store", root / "tmp", self.caches):
            env = dict(os.environ)
        env.pop("KAGGLE_KEY", None)  # no credentials at all: nothing may reach kaggle.com
        env.update(
            KAGGLE_MAGICS_BACKEND="local",
            IPYTHONDIR=str(root / "ipython"),
            XDG_CACHE_HOME=str(root / "cache"),
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),  # kaggle-magics
        )
        places = {
            str(folder) + "/": "./",
            str(folder): ".",
            env["KAGGLE_MAGICS_STORE"]: "$KAGGLE_MAGICS_STORE",
            env["KAGGLE_MAGICS_IMAGE_CACHE"]: "$KAGGLE_MAGICS_IMAGE_CACHE",
            env["TMPDIR"]: "$TMPDIR",
            env["XDG_CACHE_HOME"]: "$XDG_CACHE_HOME",
            sys.prefix: "$VIRTUAL_ENV",
        }
        self.spaces[name] = Workspace(folder, env, places)
        return self.spaces[name]


def _wheelhouse(folder: Path, index: PackageIndex) -> None:
    """What the deps kernel installs and freezes with no index: kaggle-magics (its own wheel) and its
    requirements at the image's versions (the test wheelhouse's, for Kaggle's Python, joblib among them), and
    your-feature-lib (tests/packages)."""
    from kaggle_magics.bundle.wheels import own_wheel

    folder.mkdir()
    for entry in wheelhouse.for_python("3.12"):
        shutil.copyfile(wheelhouse.folder() / entry.filename, folder / entry.filename)
    _build(_uv(), PACKAGES / "your_feature_lib", folder, index.uv_cache, sdist=False, wheel=True)
    (folder / ".gitignore").unlink(missing_ok=True)  # uv build's
    own_wheel(folder)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, image_caches: Path, bundle_index: PackageIndex) -> Examples:
    root = tmp_path_factory.mktemp("examples")
    return Examples(root, image_caches, bundle_index, notebook_outputs.kernelspec(root / "kernels"))


def test_every_example_notebook_is_run() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.ipynb")) == sorted(ORDER)


@pytest.mark.slow
@pytest.mark.requires("bwrap", "image-wheelhouse", "python3.12")  # the outputs are those of Kaggle's Python
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.requires("gcc")) if n == "toolchain" else n for n in ORDER]
)
def test_example(name: str, examples: Examples) -> None:
    committed_path = EXAMPLES / f"{name}.ipynb"
    committed = nbformat.read(committed_path, as_version=4)
    executed = examples.run(name)
    diff = notebook_outputs.diff(committed, executed)
    if UPDATING:
        if diff:  # only then: the committed timings do not churn
            notebook_outputs.write_atomically(committed_path, executed)
        return
    assert not diff, (
        f"{committed_path.relative_to(ROOT)}: the outputs differ from the committed ones (after normalising; "
        f"{UPDATE}=1 writes them):\n{diff}"
    )


def test_the_readme_links_every_example_in_order() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    places = [readme.find(f"](example_notebooks/{name}.ipynb)") for name in ORDER]
    assert -1 not in places, dict(zip(ORDER, places, strict=True))
    assert places == sorted(places), "the README lists them in the order a newcomer needs them"


def test_the_comparison_sees_what_an_example_shows_and_not_what_a_run_varies() -> None:
    """Against the committed sub.ipynb itself: another runtime, size or cell time is no difference; another
    status, verdict or file name is one."""
    committed = nbformat.read(EXAMPLES / "sub.ipynb", as_version=4)

    def changed(old: str, new: str) -> str:
        nb = copy.deepcopy(committed)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                notebook_outputs._map_texts(output, lambda text: re.sub(old, new, text))
        return notebook_outputs.diff(committed, nb)

    assert not changed(r"runtime seconds( +)[\d.]+", r"runtime seconds\g<1>98.7")
    assert not changed(r"peak memory( +)[\d.]+ MB", r"peak memory\g<1>1.2 GB")
    assert not changed(r"In \[1\]( +)[\d.]+ s", r"In [1]\g<1>12.34 s")
    assert "status             ERROR" in changed("status             COMPLETE", "status             ERROR")
    assert "5 rows" in changed("10 rows", "5 rows")
    assert "submission.txt" in changed(r"submission\.csv", "submission.txt")
