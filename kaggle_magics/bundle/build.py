"""Turning what is not a wheel (sdists, local folders, VCS checkouts, archives) into wheels at freeze time.

An offline install cannot build anything (the build backend would have to come from an index), so every
source is built here, with this interpreter, in an isolated build environment fed from the same index
options as the resolution. A pure package gives a ``py3-none-any`` wheel that fits any target; a compiled one
gives a wheel for *this* machine, which is refused when the target is another: it has to be frozen on the
target itself (a Kaggle notebook with internet on).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..errors import BundleError
from ._util import ToolFailed, isolated_env, run
from .resolve import IndexOptions, Pin
from .target import Target
from .wheels import WheelName

FREEZE_ON_KAGGLE = (
    "freeze inside a Kaggle notebook instead (a deps notebook with internet on: "
    "`kaggle-magics freeze ...` there builds for Kaggle's own Python), and attach its output"
)


def build_wheel(
    uv: str, pin: Pin, source: Path | None, out_dir: Path, index: IndexOptions, work: Path
) -> Path:
    """Build one wheel for ``pin`` into ``out_dir`` with uv; ``source`` is its sdist or archive when fetched.

    Every kind of source goes through ``uv build``: a git requirement is checked out first (at the locked
    commit), so nothing depends on the pip of the user's environment (pip 23.2, the stock pip of Python
    3.11's venvs, cannot even parse ``name @ git+file:///...@commit``)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"build-{pin.project}-", dir=work))
    built = scratch / "wheel"
    built.mkdir()
    what = f"cannot build {pin.project} {pin.version or ''} ({pin.describe_source()}) into a wheel".replace(
        "  ", " "
    )
    try:
        if pin.vcs is not None:
            source = checkout(pin.vcs, scratch / "src", what)
        elif pin.directory is not None:
            # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
            tree = scratch / "src"
            shutil.copytree(pin.directory, tree, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            source = tree
        if source is None:
            raise BundleError(f"{pin.project}: nothing to build from")
        cmd = [uv, "build", "--wheel", "--quiet", "--no-config", "--no-python-downloads",
               "--python", sys.executable, "--out-dir", str(built), *index.uv_args(),
               str(source)]  # fmt: skip
        try:
            run(cmd, what=what, env=isolated_env(), cwd=scratch)
        except ToolFailed as exc:
            raise BundleError(
                exc.message,
                hint="the package's build needs something this machine lacks (a compiler, a library, a "
                f"build dependency on the index); or {FREEZE_ON_KAGGLE}",
            ) from None
        wheels = sorted(built.glob("*.whl"))
        if len(wheels) != 1:
            raise BundleError(f"{what}: the build produced {len(wheels)} wheels")
        out = Path(out_dir) / wheels[0].name
        shutil.move(str(wheels[0]), out)
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def checkout(vcs: dict[str, str], tree: Path, what: str) -> Path:
    """Check out a locked git requirement (``vcs``: the lock's ``url`` or ``path``, ``commit-id``,
    ``subdirectory``) into ``tree`` with the machine's git, as pip would; return the folder to build."""
    kind = vcs.get("type", "git")
    if kind != "git":
        raise BundleError(f"{what}: {kind} checkouts are not supported", hint="use a git URL, or an sdist")
    git = shutil.which("git")
    if git is None:
        raise BundleError(f"{what}: git is not installed", hint="install git (Debian: apt-get install git)")
    url = vcs.get("url") or vcs.get("path") or ""
    commit = vcs.get("commit-id") or vcs.get("requested-revision")
    # Credentials come from the user's git setup (ssh agent, credential helper); never a prompt.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    run([git, "clone", "--quiet", "--no-checkout", url, str(tree)], what=what, env=env)
    if commit:
        run([git, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit], what=what, env=env, cwd=tree)
    else:
        run([git, "checkout", "--quiet"], what=what, env=env, cwd=tree)
    if (tree / ".gitmodules").is_file():
        run([git, "submodule", "update", "--init", "--recursive", "--quiet"], what=what, env=env, cwd=tree)
    sub = vcs.get("subdirectory")
    return tree / sub if sub else tree


def check_built_fits(path: Path, pin: Pin, target: Target) -> WheelName:
    """A built wheel must fit the target; a compiled one built for another machine does not."""
    wheel = WheelName.parse(path.name)
    if not target.fits(wheel):
        raise BundleError(
            f"{wheel.project} {wheel.version} has no wheel for {target.label}, and building its source here "
            f"gives a compiled wheel for this machine ({', '.join(wheel.tag_strings)})",
            hint=FREEZE_ON_KAGGLE,
        )
    return wheel
