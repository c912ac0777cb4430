"""Base snapshots: what the target image already has, so a bundle need not ship it again.

A snapshot is a text file in ``pip freeze`` format (``name==version`` lines, ``#`` comments), written by
:func:`capture_base` inside a Kaggle notebook (``kaggle-magics freeze --capture-base FILE``) and read by
``freeze --base FILE`` elsewhere. Inside Kaggle, freeze takes the running image itself as its base.

:func:`shipped_base` is the list that ships inside the package: Kaggle's own ``pip list`` of its CPU image
(:data:`SHIPPED_BASE`), the stand-in for a snapshot when none was captured.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import BundleError
from ..results import Result

SHIPPED_BASE = "kaggle-image-cpu-2026-06.txt"  # in kaggle_magics/data/
SHIPPED_DESCRIPTION = "Kaggle's CPU image list shipped with kaggle-magics (2026-06, Python 3.12)"


@dataclass
class BaseSnapshot(Result):
    """The packages (canonical name -> version) of a target's base environment."""

    source: str
    packages: dict[str, str] = field(default_factory=dict, repr=False)
    python: str | None = None

    _title = "base snapshot"

    def rows(self) -> list[tuple[str, object]]:
        return [("source", self.source), ("python", self.python), ("packages", len(self.packages))]

    def __repr__(self) -> str:
        return str(self)

    def version_of(self, project: str) -> str | None:
        return self.packages.get(canonicalize_name(project))

    def provides(self, project: str, version: str) -> bool:
        """True if the base has ``project`` at ``version`` (local labels such as ``+cu124`` aside)."""
        have = self.version_of(project)
        if have is None:
            return False
        try:
            return Version(have).public == Version(version).public
        except InvalidVersion:
            return have == version

    def preferences(self) -> dict[str, str]:
        """Versions to prefer when resolving: public parts (an index has ``2.6.0``, not ``2.6.0+cu124``)."""
        out = {}
        for name, version in self.packages.items():
            try:
                out[name] = Version(version).public
            except InvalidVersion:
                continue
        return out


def running_environment() -> BaseSnapshot:
    """The running interpreter's installed distributions: inside Kaggle, its image. In a local run in the
    image twin, which installs only the image's packages that the notebook imports, the image's whole list
    (named by ``$KAGGLE_MAGICS_IMAGE_PACKAGES``) counts too; what is installed wins."""
    from ..config import ENV_IMAGE_PACKAGES

    packages: dict[str, str] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            packages.setdefault(str(canonicalize_name(name)), dist.version)
    source = f"the running interpreter ({sys.executable})"
    listed = os.environ.get(ENV_IMAGE_PACKAGES)
    if listed and os.path.isfile(listed):
        packages = {**read_base(listed).packages, **packages}
        source = f"the running image ({sys.executable}, and the packages of the image listed in {listed})"
    return BaseSnapshot(source=source, packages=packages, python=platform.python_version())


def capture_base(path: str | os.PathLike[str]) -> BaseSnapshot:
    """Write what the running interpreter has, as a base snapshot at ``path`` (atomically)."""
    snapshot = running_environment()
    path = Path(path)
    lines = [
        "# kaggle-magics base snapshot (pip freeze format)",
        f"# python {snapshot.python}",
        f"# executable {sys.executable}",
        f"# written {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        *(f"{name}=={version}" for name, version in sorted(snapshot.packages.items())),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    snapshot.source = str(path)
    return snapshot


def read_base(path: str | os.PathLike[str]) -> BaseSnapshot:
    """Read a base snapshot (``name==version`` lines; comments, options and URL lines are skipped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(
            f"base snapshot {path}: cannot read it ({exc.strerror})",
            hint="write one inside a Kaggle notebook with `kaggle-magics freeze --capture-base FILE`, "
            "or pass --no-base",
        ) from None
    packages: dict[str, str] = {}
    python = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if raw.startswith("# python "):
            python = raw.split()[-1]
        if not line or line.startswith(("#", "-")) or " @ " in line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise BundleError(
                f"base snapshot {path}, line {number}: {raw.strip()!r} is not name==version",
                hint="a base snapshot is `pip freeze` output",
            )
        packages[str(canonicalize_name(name.strip().split("[")[0]))] = version.strip().split(";")[0].strip()
    return BaseSnapshot(source=str(path), packages=packages, python=python)


def shipped_base() -> BaseSnapshot:
    """Kaggle's CPU image as Kaggle published it (``pip list --format=freeze``), shipped in the package."""
    path = Path(__file__).resolve().parent.parent / "data" / SHIPPED_BASE
    snapshot = read_base(path)
    snapshot.source = SHIPPED_DESCRIPTION
    return snapshot


@functools.lru_cache(maxsize=8)
def _read_base(path: str, mtime: int, size: int) -> BaseSnapshot:
    return read_base(path)


@functools.lru_cache(maxsize=1)
def _shipped() -> BaseSnapshot:
    return shipped_base()


def load_base(path: str | os.PathLike[str] | None) -> BaseSnapshot:
    """A base snapshot file, else the shipped image list, cached: a file is read again only when it changes
    (the check, the image twin and the build of twins all read it). Callers must not change what it returns."""
    if not path:
        return _shipped()
    where = Path(path).expanduser()
    try:
        stat = where.stat()
    except OSError:
        return read_base(where)  # raises the clear error
    return _read_base(str(where), stat.st_mtime_ns, stat.st_size)
